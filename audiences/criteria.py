"""Segment criteria of send requests (CONTRACT section 4): ##N## terms with AND, OR, NOT and
parentheses, brackets first and then strictly left to right. The tree is plain tuples:
("segment", 4), ("not", node), ("and", left, right), ("or", left, right).
"""

import re

_TOKEN = re.compile(r"\s*(?:(##\s*(\d{1,18})\s*##)|(\()|(\))|(AND|OR|NOT)\b)", re.IGNORECASE)


class CriteriaError(ValueError):
    pass


def tokenize(text: str) -> list[tuple[str, object]]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise CriteriaError(f"unexpected text at {position}")
        if match.group(1):
            tokens.append(("segment", int(match.group(2))))
        elif match.group(3):
            tokens.append(("(", None))
        elif match.group(4):
            tokens.append((")", None))
        else:
            tokens.append((match.group(5).lower(), None))
        position = match.end()
    return tokens


def parse_criteria(text: str, *, max_terms: int = 200):
    if not isinstance(text, str) or not text.strip():
        raise CriteriaError("empty criteria")
    tokens = tokenize(text)
    if sum(1 for kind, _ in tokens if kind == "segment") > max_terms:
        raise CriteriaError("too many terms")
    position = 0

    def peek():
        return tokens[position][0] if position < len(tokens) else None

    def term(depth):
        nonlocal position
        if depth > 50:
            raise CriteriaError("nested too deeply")
        kind = peek()
        if kind == "not":
            position += 1
            return ("not", term(depth + 1))
        if kind == "segment":
            node = tokens[position]
            position += 1
            return node
        if kind == "(":
            position += 1
            node = sequence(depth + 1)
            if peek() != ")":
                raise CriteriaError("unbalanced parenthesis")
            position += 1
            return node
        raise CriteriaError("expected a ##N## term")

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
        raise CriteriaError("unexpected token")
    return tree


def criteria_segment_ids(tree) -> set[int]:
    kind = tree[0]
    if kind == "segment":
        return {tree[1]}
    if kind == "not":
        return criteria_segment_ids(tree[1])
    return criteria_segment_ids(tree[1]) | criteria_segment_ids(tree[2])


def criteria_text(tree) -> str:
    """The tree written back fully bracketed, as it will be evaluated."""
    kind = tree[0]
    if kind == "segment":
        return f"##{tree[1]}##"
    if kind == "not":
        return f"NOT {criteria_text(tree[1])}"
    return f"({criteria_text(tree[1])} {kind.upper()} {criteria_text(tree[2])})"
