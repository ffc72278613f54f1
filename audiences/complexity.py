"""What a criteria costs once compiled into one query, and the failures retrying cannot fix.

A criteria names segments; each segment is its conditions joined by its definition. The query of
a criteria holds every condition of every segment each time a term names it, so its size is the
sum of the named segments' conditions, term by term (`##4## OR ##4##` costs segment 4 twice).
Its nesting grows by one level wherever AND gives way to OR (or back) and at each NOT, as
Django's Q objects nest: a chain of one operator stays flat. Both are counted from the parsed
trees and the segments' plans, before any query over members runs, and bounded by
SMS_MAX_CRITERIA_CONDITIONS and SMS_MAX_CRITERIA_DEPTH: compiling takes about a third of a
millisecond per condition, and Python's recursion ran out in a request at about 300 levels.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, DataError


@dataclass(frozen=True)
class CompiledSize:
    """How many conditions a query holds and how deeply they nest."""

    conditions: int
    depth: int


def _tree_depth(node, parent, leaf_depth) -> int:
    """Levels of nesting of an expression tree, a run of one operator counting once. Recursion
    stays within the parsers' own bounds (200 criteria terms, 100 definition terms)."""
    kind = node[0]
    if kind in ("and", "or"):
        own = 0 if kind == parent else 1
        return own + max(_tree_depth(node[1], kind, leaf_depth), _tree_depth(node[2], kind, leaf_depth))
    if kind == "not":
        return 1 + _tree_depth(node[1], "not", leaf_depth)
    return leaf_depth(node)


def _tree_leaves(node) -> list:
    leaves, stack = [], [node]
    while stack:
        node = stack.pop()
        if node[0] in ("and", "or"):
            stack.extend((node[1], node[2]))
        elif node[0] == "not":
            stack.append(node[1])
        else:
            leaves.append(node)
    return leaves


# A condition compiles to at most two levels: present AND (one or two comparisons), maybe negated.
CONDITION_DEPTH = 2


def plan_size(plan) -> CompiledSize:
    """The compiled size of one segment's plan (audiences.segments.SegmentPlan)."""
    if plan.tree is None:  # every member: one condition
        return CompiledSize(conditions=1, depth=1)
    return CompiledSize(
        conditions=len(_tree_leaves(plan.tree)),
        depth=_tree_depth(plan.tree, None, lambda _: CONDITION_DEPTH),
    )


def criteria_size(tree, sizes: dict[int, CompiledSize]) -> CompiledSize:
    """The compiled size of one criteria tree, given the size of each segment it names."""
    conditions = sum(sizes[leaf[1]].conditions for leaf in _tree_leaves(tree))
    depth = _tree_depth(tree, None, lambda leaf: 1 + sizes[leaf[1]].depth)
    return CompiledSize(conditions=conditions, depth=depth)


def criteria_size_problem(size: CompiledSize, *, conditions_before: int = 0) -> str | None:
    """What is too large in a criteria, given the conditions of the request's criteria before it;
    None when it is within the bounds."""
    max_conditions = settings.SMS_MAX_CRITERIA_CONDITIONS
    if conditions_before + size.conditions > max_conditions:
        return f"segment criteria too complex: more than {max_conditions} segment conditions"
    if size.depth > settings.SMS_MAX_CRITERIA_DEPTH:
        return f"segment criteria too complex: nested more than {settings.SMS_MAX_CRITERIA_DEPTH} levels"
    return None


# The database's refusals --------------------------------------------------------------------

# SQLSTATE class 54, program_limit_exceeded: 54001 statement_too_complex (and "stack depth limit
# exceeded"), 54011 too_many_columns, 54023 too_many_arguments.
PROGRAM_LIMIT_EXCEEDED = "54"


def sqlstate(error: BaseException) -> str:
    """The SQLSTATE of a database error (psycopg's, under Django's wrapper), or ""."""
    for candidate in (error, error.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return ""


def query_too_complex(error: BaseException) -> bool:
    """The database refused a statement as beyond its limits: the same statement fails again."""
    return isinstance(error, DatabaseError) and sqlstate(error).startswith(PROGRAM_LIMIT_EXCEEDED)


# What compiling a segment's query can raise when its conditions cannot be written as SQL (a date
# past the calendar's end, nesting past Python's recursion limit).
COMPILE_ERRORS = (OverflowError, RecursionError, ValueError)


def evaluation_failure_text(error: BaseException) -> str:
    """Why a segment or criteria could not be evaluated, in words that quote no member's data."""
    if isinstance(error, DataError):
        return "the database cannot compare a member's value with a condition (a value of another type)"
    if query_too_complex(error):
        return "the query is too complex for the database"
    if isinstance(error, DatabaseError):  # its text may name hosts and ports
        return f"the database failed ({type(error).__name__})"
    if isinstance(error, RecursionError):
        return "its conditions are nested too deeply to compile"
    if isinstance(error, OverflowError):
        return f"a value is out of range ({error})"
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]


def evaluation_fails_for_good(error: BaseException) -> bool:
    """A segment or criteria that cannot be evaluated however often it is tried: it cannot be
    compiled, or the database refuses its values (DataError) or its size (class 54)."""
    if isinstance(error, DatabaseError):
        return isinstance(error, DataError) or query_too_complex(error)
    return isinstance(error, COMPILE_ERRORS)
