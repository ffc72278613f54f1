"""Segment criteria of send requests (CONTRACT section 4): ##N## terms with AND, OR, NOT and
parentheses, brackets first and then strictly left to right. The tree is plain tuples:
("segment", 4), ("not", node), ("and", left, right), ("or", left, right).
"""

from audiences.boolean_expr import Grammar, expression_parse, expression_tokenize


class CriteriaError(ValueError):
    pass


CRITERIA = Grammar(
    term=r"##\s*(?P<number>\d{1,18})\s*##",
    node="segment",
    allow_not=True,
    max_depth=50,
    error=CriteriaError,
    empty="empty criteria",
    unexpected_text="unexpected text at {position}",
    too_many="too many terms",
    too_deep="nested too deeply",
    unclosed="unbalanced parenthesis",
    missing_term="expected a ##N## term",
    misplaced="expected a ##N## term",
    trailing="unexpected token",
    trailing_close="unexpected token",
)


def tokenize(text: str) -> list[tuple[str, int | None]]:
    return expression_tokenize(text, grammar=CRITERIA)


def parse_criteria(text: str, *, max_terms: int = 200):
    return expression_parse(text, grammar=CRITERIA, max_terms=max_terms)


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
