"""A segment checked and compiled into a plan: the member fields and operators a condition may
use, each condition resolved into a Rule (its operand parsed, a relative date made absolute),
the definition parsed against the conditions, and the plan written out as it will be evaluated.
Every problem is gathered into one SegmentError."""

import datetime
import math
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from audiences.booleans import boolean_from_text
from audiences.definitions import (
    DefinitionError,
    definition_default,
    definition_numbers,
    definition_parse,
    definition_text,
)
from audiences.models import AttributeType, AudienceAttribute, Segment


class SegmentError(ValueError):
    """A segment that cannot be evaluated; `problems` says why, one reason each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# Kinds of value a condition compares.
STRING = AttributeType.STRING.value
PICK_LIST = AttributeType.PICK_LIST.value
NUMBER = AttributeType.NUMBER.value
DATE = AttributeType.DATE.value
DATETIME = "datetime"
BOOLEAN = "boolean"

# The member fields a condition may name: API name -> (column, kind, nullable).
MEMBER_FIELDS: dict[str, tuple[str, str, bool]] = {
    "firstName": ("first_name", STRING, False),
    "lastName": ("last_name", STRING, False),
    "email": ("email", STRING, True),
    "mobileNumber": ("mobile", STRING, True),
    "country": ("country", STRING, False),
    "state": ("state", STRING, False),
    "active": ("active", BOOLEAN, False),
    "smsSubscription": ("sms_subscription", BOOLEAN, False),
    "voiceSubscription": ("voice_subscription", BOOLEAN, False),
    "emailSubscription": ("email_subscription", BOOLEAN, False),
    "lastActiveDate": ("last_active_date", DATETIME, True),
    "createdDate": ("created_at", DATETIME, False),
}

EQUAL = "Equal"
NOT_EQUAL = "NotEqual"
CONTAINS = "Contains"
GREATER = "GreaterThan"
LESS = "LessThan"
GREATER_MINUS = "GreaterThanCurrentDateMinus"
GREATER_PLUS = "GreaterThanCurrentDatePlus"
LESS_MINUS = "LessThanCurrentDateMinus"
LESS_PLUS = "LessThanCurrentDatePlus"
RELATIVE = {GREATER_MINUS: (GREATER, -1), GREATER_PLUS: (GREATER, 1), LESS_MINUS: (LESS, -1), LESS_PLUS: (LESS, 1)}

# Volt MX lets Contains test the written value of a number or a date attribute too.
OPERATORS_BY_KIND: dict[str, tuple[str, ...]] = {
    STRING: (EQUAL, NOT_EQUAL, CONTAINS),
    PICK_LIST: (EQUAL, NOT_EQUAL, CONTAINS),
    NUMBER: (EQUAL, NOT_EQUAL, CONTAINS, GREATER, LESS),
    DATE: (EQUAL, NOT_EQUAL, CONTAINS, GREATER, LESS, *RELATIVE),
    DATETIME: (EQUAL, NOT_EQUAL, GREATER, LESS, *RELATIVE),
    BOOLEAN: (EQUAL, NOT_EQUAL),
}
OPERATORS = (EQUAL, NOT_EQUAL, CONTAINS, GREATER, LESS, *RELATIVE)
MAX_RELATIVE_DAYS = 100 * 366
# The days a date condition may name: its query needs the day before and after to exist.
FIRST_DAY = datetime.date(1, 1, 2)
LAST_DAY = datetime.date(9999, 12, 30)


@dataclass(frozen=True)
class Rule:
    """One condition, resolved: what it reads, how it compares, and the parsed operand.

    Relative date operators are resolved against a given day into plain GreaterThan/LessThan.
    """

    number: int
    attribute: str
    operator: str  # EQUAL, NOT_EQUAL, CONTAINS, GREATER or LESS
    kind: str
    column: str | None
    key: str | None
    nullable: bool
    operand: Any  # a str, a float or a date, by kind


@dataclass(frozen=True)
class SegmentPlan:
    """A segment ready to evaluate: None as tree means every member."""

    tree: object
    rules: dict[int, Rule]


def today_local() -> datetime.date:
    return timezone.localdate()


def _problem(number, attribute, text):
    return f"condition {number} ({attribute}): {text}"


def _parse_operand(kind: str, operator: str, raw: str, *, choices=None):
    """The operand of a condition; raises ValueError with a reason."""
    text = (raw if isinstance(raw, str) else str(raw)).strip() if kind != STRING else str(raw)
    if operator in RELATIVE:
        if not text.isdecimal() or int(text) > MAX_RELATIVE_DAYS:
            raise ValueError("the value must be a whole number of days")
        return int(text)
    if kind in (STRING, PICK_LIST) or operator == CONTAINS:
        if kind == PICK_LIST and operator in (EQUAL, NOT_EQUAL) and choices and text not in choices:
            raise ValueError(f"{text!r} is not one of the pick list's values {choices}")
        return text
    if kind == NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("the value must be a number") from None
        if not math.isfinite(number):
            raise ValueError("the value must be a finite number")
        return number
    if kind in (DATE, DATETIME):
        try:
            if "/" in text:  # Volt MX writes segment dates MM/dd/yyyy
                return datetime.datetime.strptime(text, "%m/%d/%Y").date()
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError("the value must be a date written MM/dd/yyyy or YYYY-MM-DD") from None
    if kind == BOOLEAN:
        flag = boolean_from_text(text)
        if flag is None:
            raise ValueError("the value must be true or false")
        return flag
    raise ValueError(f"unknown kind {kind}")


def rule_resolve(
    *, number: int, attribute: str, operator: str, value, attributes: dict[str, AudienceAttribute], today
) -> Rule:
    """One condition checked and resolved; raises SegmentError naming the condition."""
    attribute = (attribute or "").strip()
    if attribute in MEMBER_FIELDS:
        column, kind, nullable = MEMBER_FIELDS[attribute]
        key, choices = None, None
    elif attribute in attributes:
        declared = attributes[attribute]
        column, kind, nullable, key, choices = None, declared.type, True, attribute, declared.choices
    else:
        raise SegmentError([_problem(number, attribute, "unknown attribute")])
    if operator not in OPERATORS_BY_KIND[kind]:
        allowed = ", ".join(OPERATORS_BY_KIND[kind])
        raise SegmentError([_problem(number, attribute, f"operator {operator!r} does not apply; use one of {allowed}")])
    try:
        operand = _parse_operand(kind, operator, value, choices=choices)
    except ValueError as error:
        raise SegmentError([_problem(number, attribute, str(error))]) from None
    if operator in RELATIVE:
        operator, sign = RELATIVE[operator]
        operand = today + datetime.timedelta(days=sign * operand)
    if isinstance(operand, datetime.date) and not FIRST_DAY <= operand <= LAST_DAY:
        # Its query compares with the day after (or the start of the day in the local zone).
        problem = f"the date must lie between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
        raise SegmentError([_problem(number, attribute, problem)])
    return Rule(number, attribute, operator, kind, column, key, nullable, operand)


def segment_plan_build(
    *,
    definition: str,
    conditions: list[dict],
    attributes: dict[str, AudienceAttribute] | None = None,
    today: datetime.date | None = None,
) -> SegmentPlan:
    """Check a definition and its conditions ({number, attribute, operator, value}) together.

    Raises SegmentError listing every problem found.
    """
    if attributes is None:
        attributes = {a.name: a for a in AudienceAttribute.objects.all()}
    today = today or today_local()
    problems: list[str] = []
    rules: dict[int, Rule] = {}
    for condition in conditions:
        number = condition.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            problems.append(f"condition number {number!r} must be a positive whole number")
            continue
        if number in rules:
            problems.append(f"condition {number} is given twice")
            continue
        try:
            rules[number] = rule_resolve(
                number=number,
                attribute=condition.get("attribute") or "",
                operator=condition.get("operator") or "",
                value=condition.get("value", ""),
                attributes=attributes,
                today=today,
            )
        except SegmentError as error:
            problems.extend(error.problems)
    tree = None
    text = (definition or "").strip()
    if not text and conditions:
        text = definition_default([c["number"] for c in conditions if isinstance(c.get("number"), int)])
    if text:
        try:
            tree = definition_parse(text)
        except DefinitionError as error:
            problems.append(f"definition: {error}")
        else:
            numbers = {c.get("number") for c in conditions}
            missing = sorted(definition_numbers(tree) - numbers)
            if missing:
                problems.append(f"definition: no condition numbered {', '.join(map(str, missing))}")
    if problems:
        raise SegmentError(problems)
    return SegmentPlan(tree=tree, rules=rules)


def segment_plan(segment: Segment, *, attributes=None, today=None) -> SegmentPlan:
    conditions = [
        {"number": c.number, "attribute": c.attribute, "operator": c.operator, "value": c.value}
        for c in segment.conditions.all()
    ]
    if not conditions and segment.name != Segment.ALL_USERS:
        raise SegmentError(['the segment has no condition: only "All Users" holds every member'])
    return segment_plan_build(definition=segment.definition, conditions=conditions, attributes=attributes, today=today)


def segment_evaluated_text(segment: Segment) -> str:
    """The definition fully bracketed as it will be evaluated, conditions written out."""
    plan = segment_plan(segment)
    if plan.tree is None:
        return "every member"
    return plan_text(plan)


def plan_text(plan: SegmentPlan) -> str:
    if plan.tree is None:
        return "every member"

    def write(node):
        if node[0] == "condition":
            rule = plan.rules[node[1]]
            return f"[{node[1]}: {rule.attribute} {_operator_text(rule)} {_operand_text(rule.operand)}]"
        if node[0] == "not":
            return f"NOT {write(node[1])}"
        return f"({write(node[1])} {node[0].upper()} {write(node[2])})"

    return f"{definition_text(plan.tree)} = {write(plan.tree)}"


def _operator_text(rule: Rule) -> str:
    return {EQUAL: "=", NOT_EQUAL: "≠", CONTAINS: "contains", GREATER: ">", LESS: "<"}[rule.operator]


def _operand_text(operand) -> str:
    if isinstance(operand, bool):
        return "true" if operand else "false"
    if isinstance(operand, float) and operand.is_integer():
        return str(int(operand))
    return repr(operand) if isinstance(operand, str) else str(operand)
