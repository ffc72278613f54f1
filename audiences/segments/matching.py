"""The filters' Python twin: whether one member is in a segment or criteria, without a query
over members (for previews). It must agree with filters.py; tests/test_segment_agreement.py
checks that it does on generated populations."""

import datetime
import json

from django.utils import timezone

from audiences.models import Member, Segment
from audiences.segments.plans import (
    CONTAINS,
    DATE,
    DATETIME,
    EQUAL,
    GREATER,
    NOT_EQUAL,
    NUMBER,
    PICK_LIST,
    STRING,
    Rule,
    SegmentPlan,
    segment_plan,
)


def _member_value(rule: Rule, member: Member):
    if rule.column is not None:
        return getattr(member, rule.column)
    return (member.attributes or {}).get(rule.key)


def rule_matches(rule: Rule, member: Member) -> bool:
    if rule.operator == NOT_EQUAL:
        return not rule_matches(Rule(**{**rule.__dict__, "operator": EQUAL}), member)
    value = _member_value(rule, member)
    if value is None:
        return False
    if rule.operator == CONTAINS:
        return rule.operand in (value if isinstance(value, str) else json.dumps(value))
    if rule.kind == DATETIME:
        value = timezone.localtime(value).date()
    elif rule.kind == DATE:
        value = datetime.date.fromisoformat(str(value))
    elif rule.kind == NUMBER:
        value = float(value)
    elif rule.kind in (STRING, PICK_LIST):
        value = str(value)
    if rule.operator == EQUAL:
        return value == rule.operand
    if rule.operator == CONTAINS:
        return rule.operand in value
    if rule.operator == GREATER:
        return value > rule.operand
    return value < rule.operand


def plan_matches(plan: SegmentPlan, member: Member) -> bool:
    if plan.tree is None:
        return True

    def evaluate(node):
        if node[0] == "condition":
            return rule_matches(plan.rules[node[1]], member)
        if node[0] == "not":
            return not evaluate(node[1])
        left = evaluate(node[1])
        right = evaluate(node[2])
        return (left and right) if node[0] == "and" else (left or right)

    return evaluate(plan.tree)


def segment_matches(segment: Segment, member: Member, *, today=None) -> bool:
    """Whether one member is in a segment, without a query over members (for previews)."""
    return plan_matches(segment_plan(segment, today=today), member)


def criteria_matches(tree, plans: dict[int, SegmentPlan], member: Member) -> bool:
    kind = tree[0]
    if kind == "segment":
        return plan_matches(plans[tree[1]], member)
    if kind == "not":
        return not criteria_matches(tree[1], plans, member)
    left = criteria_matches(tree[1], plans, member)
    right = criteria_matches(tree[2], plans, member)
    return (left and right) if kind == "and" else (left or right)
