"""Segment definitions: condition numbers joined by AND, OR and parentheses (`1 OR (2 AND 3)`),
evaluated brackets first and then strictly left to right, as the Volt MX console does.

The tree is plain tuples, like the criteria's: ("condition", 2), ("and", left, right),
("or", left, right).
"""

import re

_TOKEN = re.compile(r"\s*(?:(\d{1,9})|(\()|(\))|(AND|OR)\b)", re.IGNORECASE)
MAX_DEPTH = 30
MAX_TERMS = 100


class DefinitionError(ValueError):
    pass


def _tokenize(text: str) -> list[tuple[str, int | None]]:
    tokens: list[tuple[str, int | None]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise DefinitionError(f"unexpected text at character {position + 1}: {text[position:][:20]!r}")
        if match.group(1):
            tokens.append(("condition", int(match.group(1))))
        elif match.group(2):
            tokens.append(("(", None))
        elif match.group(3):
            tokens.append((")", None))
        else:
            tokens.append((match.group(4).lower(), None))
        position = match.end()
    return tokens


def definition_parse(text: str):
    """The tree of a definition; raises DefinitionError with a reason a person can act on."""
    if not isinstance(text, str) or not text.strip():
        raise DefinitionError("the definition is empty")
    tokens = _tokenize(text)
    if sum(1 for kind, _ in tokens if kind == "condition") > MAX_TERMS:
        raise DefinitionError(f"more than {MAX_TERMS} condition numbers")
    position = 0

    def peek():
        return tokens[position][0] if position < len(tokens) else None

    def term(depth):
        nonlocal position
        if depth > MAX_DEPTH:
            raise DefinitionError("parentheses nested too deeply")
        kind = peek()
        if kind == "condition":
            node = tokens[position]
            position += 1
            return node
        if kind == "(":
            position += 1
            node = sequence(depth + 1)
            if peek() != ")":
                raise DefinitionError("a parenthesis is not closed")
            position += 1
            return node
        if kind is None:
            raise DefinitionError("the definition ends where a condition number is expected")
        raise DefinitionError(f"a condition number is expected where {kind.upper()} stands")

    def sequence(depth):
        nonlocal position
        node = term(depth)
        while peek() in ("and", "or"):
            operator = peek()
            position += 1
            node = (operator, node, term(depth))
        return node

    tree = sequence(0)
    if position != len(tokens):
        raise DefinitionError("unexpected text after the end of the definition" if peek() != ")" else "unbalanced )")
    return tree


def definition_numbers(tree) -> set[int]:
    if tree[0] == "condition":
        return {tree[1]}
    return definition_numbers(tree[1]) | definition_numbers(tree[2])


def definition_text(tree) -> str:
    """The tree written back fully bracketed, as it will be evaluated."""
    if tree[0] == "condition":
        return str(tree[1])
    return f"({definition_text(tree[1])} {tree[0].upper()} {definition_text(tree[2])})"


def definition_default(numbers: list[int]) -> str:
    """The definition of a segment whose definition was left empty: all its conditions AND-ed."""
    return " AND ".join(str(number) for number in sorted(numbers))
