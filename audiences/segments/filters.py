"""Segments and criteria as database filters: one query, never a loop over members. Every
condition is two-valued (never NULL), so that NOT of it is its complement."""

import datetime

from django.db.models import F, FloatField, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, StrIndex
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, IsNull, LessThan
from django.utils import timezone

from audiences.models import AudienceAttribute, Segment
from audiences.segments.plans import (
    CONTAINS,
    DATE,
    DATETIME,
    EQUAL,
    GREATER,
    NOT_EQUAL,
    NUMBER,
    Rule,
    SegmentPlan,
    segment_plan,
    today_local,
)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), timezone.get_current_timezone())


def _target(rule: Rule):
    if rule.column is not None:
        return F(rule.column)
    text = KeyTextTransform(rule.key, "attributes")
    if rule.kind == NUMBER:
        return Cast(text, FloatField())
    return text  # strings, pick lists, and dates stored as YYYY-MM-DD (which sort as text)


def _equal_q(rule: Rule) -> Q:
    target = _target(rule)
    if rule.kind == DATETIME:
        start, end = _day_start(rule.operand), _day_start(rule.operand + datetime.timedelta(days=1))
        comparison = Q(GreaterThanOrEqual(target, Value(start))) & Q(LessThan(target, Value(end)))
    elif rule.kind == DATE:
        comparison = Q(Exact(target, Value(rule.operand.isoformat())))
    else:
        comparison = Q(Exact(target, Value(rule.operand)))
    return _present(rule) & comparison if rule.nullable else comparison


def _present(rule: Rule) -> Q:
    if rule.column is not None:
        return Q(IsNull(F(rule.column), False))
    return Q(IsNull(KeyTextTransform(rule.key, "attributes"), False))


def rule_q(rule: Rule) -> Q:
    """One condition as a two-valued filter: never NULL, so that NOT of it is its complement."""
    if rule.operator == EQUAL:
        return _equal_q(rule)
    if rule.operator == NOT_EQUAL:
        return ~_equal_q(rule)
    target = _target(rule)
    if rule.operator == CONTAINS:
        if rule.key is not None:  # a number's or a date's written value
            target = KeyTextTransform(rule.key, "attributes")
        comparison = Q(GreaterThan(StrIndex(target, Value(rule.operand)), 0))
    elif rule.kind == DATETIME:
        if rule.operator == GREATER:
            comparison = Q(GreaterThanOrEqual(target, Value(_day_start(rule.operand + datetime.timedelta(days=1)))))
        else:
            comparison = Q(LessThan(target, Value(_day_start(rule.operand))))
    else:
        operand = rule.operand.isoformat() if rule.kind == DATE else rule.operand
        lookup = GreaterThan if rule.operator == GREATER else LessThan
        comparison = Q(lookup(target, Value(operand)))
    return _present(rule) & comparison if rule.nullable else comparison


EVERY_MEMBER = Q(pk__isnull=False)  # unlike Q(), its negation is no member at all


def plan_q(plan: SegmentPlan) -> Q:
    if plan.tree is None:
        return EVERY_MEMBER

    def build(node):
        if node[0] == "condition":
            return rule_q(plan.rules[node[1]])
        if node[0] == "not":
            return ~build(node[1])
        left, right = build(node[1]), build(node[2])
        return (left & right) if node[0] == "and" else (left | right)

    return build(plan.tree)


def segment_q(segment: Segment, *, today=None) -> Q:
    """The members a segment holds. A segment with no conditions (such as "All Users") holds all."""
    return plan_q(segment_plan(segment, today=today))


def criteria_q(tree, segments: dict[int, Segment], *, today=None) -> Q:
    attributes = {a.name: a for a in AudienceAttribute.objects.all()}
    today = today or today_local()
    plans = {sid: segment_plan(segment, attributes=attributes, today=today) for sid, segment in segments.items()}
    return criteria_plan_q(tree, plans)


def criteria_plan_q(tree, plans: dict[int, SegmentPlan]) -> Q:
    kind = tree[0]
    if kind == "segment":
        return plan_q(plans[tree[1]])
    if kind == "not":
        return ~criteria_plan_q(tree[1], plans)
    left = criteria_plan_q(tree[1], plans)
    right = criteria_plan_q(tree[2], plans)
    return (left & right) if kind == "and" else (left | right)
