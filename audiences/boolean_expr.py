"""The one parser of the audiences' boolean expressions: terms joined by AND and OR (and NOT where
the grammar allows it) with parentheses, evaluated brackets first and then strictly left to right,
as the Volt MX console does. Send-request criteria (`##4## AND NOT ##7##`) and segment definitions
(`1 OR (2 AND 3)`) are two grammars of it, differing in the term's shape, the limits and the wording
of their errors.

The tree is plain tuples: (node, number) for a term, ("not", node), ("and", left, right),
("or", left, right).
"""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grammar:
    """How one kind of expression is written and how its mistakes are worded.

    `term` is a regular expression with a group named `number`; the messages are format strings
    (`unexpected_text` gets `position`, `character` and `snippet`; `too_many` gets `max_terms`;
    `misplaced` gets `token`, the upper-cased token that stands where a term is expected).
    """

    term: str
    node: str
    allow_not: bool
    max_depth: int
    error: type[ValueError]
    empty: str
    unexpected_text: str
    too_many: str
    too_deep: str
    unclosed: str
    missing_term: str
    misplaced: str
    trailing: str
    trailing_close: str
    pattern: re.Pattern = field(init=False, repr=False)

    def __post_init__(self):
        operators = "AND|OR|NOT" if self.allow_not else "AND|OR"
        source = rf"\s*(?:(?P<term>{self.term})|(?P<open>\()|(?P<close>\))|(?P<operator>{operators})\b)"
        object.__setattr__(self, "pattern", re.compile(source, re.IGNORECASE))


def expression_tokenize(text: str, *, grammar: Grammar) -> list[tuple[str, int | None]]:
    tokens: list[tuple[str, int | None]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = grammar.pattern.match(text, position)
        if match is None:
            raise grammar.error(
                grammar.unexpected_text.format(position=position, character=position + 1, snippet=text[position:][:20])
            )
        if match.group("term"):
            tokens.append((grammar.node, int(match.group("number"))))
        elif match.group("open"):
            tokens.append(("(", None))
        elif match.group("close"):
            tokens.append((")", None))
        else:
            tokens.append((match.group("operator").lower(), None))
        position = match.end()
    return tokens


def expression_parse(text: str, *, grammar: Grammar, max_terms: int):
    """The tree of `text`; raises `grammar.error` with the grammar's wording of what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise grammar.error(grammar.empty)
    tokens = expression_tokenize(text, grammar=grammar)
    if sum(1 for kind, _ in tokens if kind == grammar.node) > max_terms:
        raise grammar.error(grammar.too_many.format(max_terms=max_terms))
    position = 0

    def peek():
        return tokens[position][0] if position < len(tokens) else None

    def term(depth):
        nonlocal position
        if depth > grammar.max_depth:
            raise grammar.error(grammar.too_deep)
        kind = peek()
        if kind == "not":
            position += 1
            return ("not", term(depth + 1))
        if kind == grammar.node:
            node = tokens[position]
            position += 1
            return node
        if kind == "(":
            position += 1
            node = sequence(depth + 1)
            if peek() != ")":
                raise grammar.error(grammar.unclosed)
            position += 1
            return node
        if kind is None:
            raise grammar.error(grammar.missing_term)
        raise grammar.error(grammar.misplaced.format(token=kind.upper()))

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
        raise grammar.error(grammar.trailing_close if peek() == ")" else grammar.trailing)
    return tree
