"""Segment definitions: condition numbers joined by AND, OR, NOT and parentheses
(`1 OR (2 AND 3)`, `3 AND 4 OR (NOT 5)` as the Volt MX samples write), evaluated brackets first
and then strictly left to right, as the Volt MX console does.

The tree is plain tuples, like the criteria's: ("condition", 2), ("not", node),
("and", left, right), ("or", left, right).
"""

from audiences.boolean_expr import Grammar, expression_parse

MAX_DEPTH = 30
MAX_TERMS = 100


class DefinitionError(ValueError):
    pass


DEFINITION = Grammar(
    term=r"(?P<number>\d{1,9})",
    node="condition",
    allow_not=True,
    max_depth=MAX_DEPTH,
    error=DefinitionError,
    empty="the definition is empty",
    unexpected_text="unexpected text at character {character}: {snippet!r}",
    too_many="more than {max_terms} condition numbers",
    too_deep="parentheses nested too deeply",
    unclosed="a parenthesis is not closed",
    missing_term="the definition ends where a condition number is expected",
    misplaced="a condition number is expected where {token} stands",
    trailing="unexpected text after the end of the definition",
    trailing_close="unbalanced )",
)


def definition_parse(text: str):
    """The tree of a definition; raises DefinitionError with a reason a person can act on."""
    return expression_parse(text, grammar=DEFINITION, max_terms=MAX_TERMS)


def definition_numbers(tree) -> set[int]:
    if tree[0] == "condition":
        return {tree[1]}
    if tree[0] == "not":
        return definition_numbers(tree[1])
    return definition_numbers(tree[1]) | definition_numbers(tree[2])


def definition_text(tree) -> str:
    """The tree written back fully bracketed, as it will be evaluated."""
    if tree[0] == "condition":
        return str(tree[1])
    if tree[0] == "not":
        return f"NOT {definition_text(tree[1])}"
    return f"({definition_text(tree[1])} {tree[0].upper()} {definition_text(tree[2])})"


def definition_default(numbers: list[int]) -> str:
    """The definition of a segment whose definition was left empty: all its conditions AND-ed."""
    return " AND ".join(str(number) for number in sorted(numbers))
