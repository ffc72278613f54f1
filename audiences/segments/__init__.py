"""Segments and criteria as database filters (one query, never a loop over members), and their
Python twin for previews of one member. The two must agree; tests/test_segment_agreement.py
checks that they do on generated populations.

A condition names a whitelisted member field or a declared custom attribute, an operator and a
value. Every condition is two-valued: a member without the value (a missing attribute, a NULL
email) does not match Equal, Contains, GreaterThan or LessThan, and does match NotEqual, which
is exactly NOT Equal. Strings compare case-sensitively, as they are stored.

The modules, each owning one part; every name is importable from `audiences.segments`:
- plans.py: the fields and operators, a condition resolved into a Rule, a segment checked and
  compiled into a SegmentPlan (SegmentError lists every problem), and the plan written out;
- filters.py: a plan, a segment or criteria as a database filter (Q);
- matching.py: the same questions for one member in Python.
"""

from .filters import EVERY_MEMBER, criteria_plan_q, criteria_q, plan_q, rule_q, segment_q
from .matching import criteria_matches, plan_matches, rule_matches, segment_matches
from .plans import (
    BOOLEAN,
    CONTAINS,
    DATE,
    DATETIME,
    EQUAL,
    FIRST_DAY,
    GREATER,
    GREATER_MINUS,
    GREATER_PLUS,
    LAST_DAY,
    LESS,
    LESS_MINUS,
    LESS_PLUS,
    MAX_RELATIVE_DAYS,
    MEMBER_FIELDS,
    NOT_EQUAL,
    NUMBER,
    OPERATORS,
    OPERATORS_BY_KIND,
    PICK_LIST,
    RELATIVE,
    STRING,
    Rule,
    SegmentError,
    SegmentPlan,
    plan_text,
    rule_resolve,
    segment_evaluated_text,
    segment_plan,
    segment_plan_build,
    today_local,
)

__all__ = [
    "BOOLEAN",
    "CONTAINS",
    "DATE",
    "DATETIME",
    "EQUAL",
    "EVERY_MEMBER",
    "FIRST_DAY",
    "GREATER",
    "GREATER_MINUS",
    "GREATER_PLUS",
    "LAST_DAY",
    "LESS",
    "LESS_MINUS",
    "LESS_PLUS",
    "MAX_RELATIVE_DAYS",
    "MEMBER_FIELDS",
    "NOT_EQUAL",
    "NUMBER",
    "OPERATORS",
    "OPERATORS_BY_KIND",
    "PICK_LIST",
    "RELATIVE",
    "STRING",
    "Rule",
    "SegmentError",
    "SegmentPlan",
    "criteria_matches",
    "criteria_plan_q",
    "criteria_q",
    "plan_matches",
    "plan_q",
    "plan_text",
    "rule_matches",
    "rule_q",
    "rule_resolve",
    "segment_evaluated_text",
    "segment_matches",
    "segment_plan",
    "segment_plan_build",
    "segment_q",
    "today_local",
]
