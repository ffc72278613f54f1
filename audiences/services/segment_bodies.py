"""A segment body read and checked, before anything is written.

A segment body is the Volt MX one (`name`, `owner`, `conditionType`, `createdDateStr`,
`segmentDefinition`, `segmentAudienceList` of `attributeName` / `attributeValue` /
`attributeOperator` / `conditionNo`) or the gateway's older shape (`name`, `definition`,
`conditions` of `number` / `attribute` / `operator` / `value`), which goes through the same checks.
A key that neither shape knows is refused, never dropped; a segment needs at least one condition.
"""

import re
from dataclasses import dataclass

from audiences.models import ConditionType
from audiences.segments import MEMBER_FIELDS, SegmentError, segment_plan_build
from audiences.values import attributes_declared

MAX_CONDITIONS = 100
MAX_DEFINITION = 1000
MAX_VALUE = 500
MAX_LABEL = 150

SEGMENT_KEYS = frozenset(
    {"name", "owner", "conditionType", "createdDateStr", "segmentDefinition", "segmentAudienceList"}
)
ALIAS_KEYS = frozenset({"definition", "conditions"})
CONDITION_KEYS = frozenset(
    {"attributeName", "attributeValue", "attributeOperator", "conditionNo", "audienceBeacon", "audienceLocation"}
)
ALIAS_CONDITION_KEYS = frozenset({"number", "attribute", "operator", "value"})

NAME_REQUIRED = "Segment name is required"
CONDITION_TYPE_REQUIRED = "Segment condition type is required"
ATTRIBUTE_NAME_REQUIRED = "Audience attributeName is required"
ATTRIBUTE_OPERATOR_REQUIRED = "Audience attributeOperator is required"
CONDITION_NUMBER_REQUIRED = "Condition number is required"
ATTRIBUTE_VALUE_REQUIRED = "Audience attributeValue is required"
NO_CONDITION = 'A segment needs at least one condition: only "All Users" holds every member'
LOCATION_REFUSED = (
    "Beacon and location conditions are not supported: this gateway holds no device location data "
    "(audienceBeacon, audienceLocation)"
)


class SegmentInvalidKeys(ValueError):
    """Keys a segment body does not know, named as `key` or `segmentAudienceList.key`."""

    def __init__(self, keys: list[str]):
        super().__init__(", ".join(keys))
        self.keys = keys


@dataclass
class SegmentInput:
    """A segment body, read but not yet checked against the declared attributes. None: not given."""

    name: str | None = None
    condition_type: str | None = None
    definition: str | None = None
    conditions: list[dict] | None = None
    owner_label: str | None = None


# Reading a body ---------------------------------------------------------------------------------


def _compact(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).lower()


def attribute_canonical(name: str, declared: dict) -> str:
    """A condition's attribute as the gateway names it: member fields by their API name or their
    display name in any case ("Email", "First Name", "mobileNumber"), custom attributes by their
    declared name (exactly, else in any case and spacing when that names one). Unknown names are
    returned as given, for the plan to refuse."""
    name = name.strip()
    if name in MEMBER_FIELDS or name in declared:
        return name
    compact = _compact(name)
    fields = {_compact(field): field for field in MEMBER_FIELDS}
    fields.setdefault("mobile", "mobileNumber")
    if compact in fields:
        return fields[compact]
    matches = [declared_name for declared_name in declared if _compact(declared_name) == compact]
    return matches[0] if len(matches) == 1 else name


def _value_text(value, place, problems) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        problems.append(f"condition {place}: attributeValue must be a single value")
        return None
    if len(value) > MAX_VALUE:
        problems.append(f"condition {place}: attributeValue is longer than {MAX_VALUE} characters")
        return None
    return value


def _condition_number(number, problems, place):
    if isinstance(number, str) and number.strip().isascii() and number.strip().isdecimal():
        number = int(number.strip())
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 10**9:
        problems.append(f"condition {place}: conditionNo must be a positive whole number")
        return None
    return number


def _voltmx_conditions(given, problems: list[str], unknown: list[str]) -> list[dict]:
    if isinstance(given, dict):
        given = [given]
    if not isinstance(given, list):
        problems.append("segmentAudienceList must be a list of conditions")
        return []
    if len(given) > MAX_CONDITIONS:
        problems.append(f"a segment has at most {MAX_CONDITIONS} conditions")
        return []
    conditions, required, location = [], [], False
    for place, item in enumerate(given, start=1):
        missing = []
        if not isinstance(item, dict):
            problems.append(f"condition {place} must be an object of attributeName, attributeValue, ...")
            continue
        unknown.extend(f"segmentAudienceList.{key}" for key in item if key not in CONDITION_KEYS)
        name = item.get("attributeName")
        if "audienceBeacon" in item or "audienceLocation" in item:
            location = True
            continue
        if isinstance(name, str) and name.strip().lower() in ("beacon", "location"):
            location = True
            continue
        if name in (None, "") or not isinstance(name, str):
            missing.append(ATTRIBUTE_NAME_REQUIRED)
        if item.get("attributeOperator") in (None, "") or not isinstance(item.get("attributeOperator"), str):
            missing.append(ATTRIBUTE_OPERATOR_REQUIRED)
        if item.get("conditionNo") in (None, ""):
            missing.append(CONDITION_NUMBER_REQUIRED)
        if "attributeValue" not in item or item["attributeValue"] is None:
            missing.append(ATTRIBUTE_VALUE_REQUIRED)
        if missing:
            required.extend(missing)
            continue
        number = _condition_number(item["conditionNo"], problems, place)
        value = _value_text(item["attributeValue"], place, problems)
        if number is None or value is None:
            continue
        conditions.append(
            {
                "number": number,
                "attribute": str(name).strip(),
                "operator": str(item["attributeOperator"]).strip(),
                "value": value,
            }
        )
    if location:
        problems.insert(0, LOCATION_REFUSED)
    problems[0:0] = list(dict.fromkeys(required))
    return conditions


def _alias_conditions(given, problems: list[str], unknown: list[str]) -> list[dict]:
    """The older shape: {number, attribute, operator, value}; a condition without a number takes
    its place in the list (1-based)."""
    if isinstance(given, dict):
        given = [given]
    if not isinstance(given, list):
        problems.append("conditions must be a list of {number, attribute, operator, value}")
        return []
    if len(given) > MAX_CONDITIONS:
        problems.append(f"a segment has at most {MAX_CONDITIONS} conditions")
        return []
    conditions = []
    for place, item in enumerate(given, start=1):
        if not isinstance(item, dict):
            problems.append(f"condition {place} must be an object of number, attribute, operator, value")
            continue
        unknown.extend(f"conditions.{key}" for key in item if key not in ALIAS_CONDITION_KEYS)
        number = _condition_number(item.get("number", place), problems, place)
        value = _value_text("" if item.get("value") is None else item.get("value"), place, problems)
        if number is None or value is None:
            continue
        conditions.append(
            {
                "number": number,
                "attribute": str(item.get("attribute") or "").strip(),
                "operator": str(item.get("operator") or "").strip(),
                "value": value,
            }
        )
    return conditions


def _text(value, what: str, problems: list[str], *, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{what} must be a text")
        return None
    if len(value.strip()) > max_length:
        problems.append(f"{what} is longer than {max_length} characters")
        return None
    return value.strip()


def segment_input_read(given) -> SegmentInput:
    """A body in either shape, read; raises SegmentInvalidKeys for unknown keys (before anything
    else) and SegmentError for what is malformed."""
    if not isinstance(given, dict):
        raise SegmentError(["Invalid request format"])
    unknown = [str(key) for key in given if key not in SEGMENT_KEYS | ALIAS_KEYS]
    problems: list[str] = []
    conditions = None
    if "segmentAudienceList" in given and "conditions" in given:
        problems.append("give segmentAudienceList or conditions, not both")
    elif "segmentAudienceList" in given:
        conditions = _voltmx_conditions(given["segmentAudienceList"], problems, unknown)
    elif "conditions" in given:
        conditions = _alias_conditions(given["conditions"], problems, unknown)
    if unknown:
        raise SegmentInvalidKeys(list(dict.fromkeys(unknown)))
    if "segmentDefinition" in given and "definition" in given:
        problems.append("give segmentDefinition or definition, not both")
    written = given.get("segmentDefinition", given.get("definition"))
    definition = _text(written, "segmentDefinition", problems, max_length=MAX_DEFINITION)
    condition_type = given.get("conditionType")
    if condition_type is not None:
        if not isinstance(condition_type, str) or condition_type.strip().lower() not in ConditionType.values:
            problems.append("conditionType must be one of all, any, advanced")
            condition_type = None
        else:
            condition_type = condition_type.strip().lower()
    name = _text(given.get("name"), "name", problems, max_length=200)
    owner_label = _text(given.get("owner"), "owner", problems, max_length=MAX_LABEL)
    _text(given.get("createdDateStr"), "createdDateStr", problems, max_length=64)
    if problems:
        raise SegmentError(problems)
    if condition_type is None and "conditionType" not in given:
        if "conditions" in given or "definition" in given:  # the older shape has no condition type
            condition_type = ConditionType.ADVANCED if definition else ConditionType.ALL
        elif definition:  # the beacon sample sends a definition and no condition type
            condition_type = ConditionType.ADVANCED
    return SegmentInput(
        name=name, condition_type=condition_type, definition=definition, conditions=conditions, owner_label=owner_label
    )


def _definition_for(condition_type: str, definition: str, conditions: list[dict]) -> str:
    """The expression stored and evaluated: all AND-ed, any OR-ed, advanced as given."""
    numbers = sorted(condition["number"] for condition in conditions)
    if condition_type == ConditionType.ALL:
        return " AND ".join(map(str, numbers))
    if condition_type == ConditionType.ANY:
        return " OR ".join(map(str, numbers))
    return re.sub(r"\s+", " ", definition).strip()


def segment_input_check(
    *, name, condition_type, definition, conditions, definition_given: bool
) -> tuple[str, list[dict]]:
    """Every rule of a whole segment; returns the stored definition and the conditions."""
    problems = []
    if not name:
        problems.append(NAME_REQUIRED)
    if not condition_type:
        problems.append(CONDITION_TYPE_REQUIRED)
    if not conditions:
        problems.append(NO_CONDITION)
    if condition_type == ConditionType.ADVANCED and not (definition or "").strip():
        problems.append("segmentDefinition is required when conditionType is advanced")
    if condition_type in (ConditionType.ALL, ConditionType.ANY) and definition_given and (definition or "").strip():
        problems.append(f"segmentDefinition is used only when conditionType is advanced, not {condition_type}")
    if problems:
        raise SegmentError(problems)
    declared = attributes_declared()
    conditions = [{**c, "attribute": attribute_canonical(c["attribute"], declared)} for c in conditions]
    stored = _definition_for(condition_type, definition or "", conditions)
    segment_plan_build(definition=stored, conditions=conditions, attributes=declared)
    return stored, conditions
