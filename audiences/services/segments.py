"""Creating, changing, publishing and removing segments, in the Volt MX shape.

A segment body is the Volt MX one (`name`, `owner`, `conditionType`, `createdDateStr`,
`segmentDefinition`, `segmentAudienceList` of `attributeName` / `attributeValue` /
`attributeOperator` / `conditionNo`) or the gateway's older shape (`name`, `definition`,
`conditions` of `number` / `attribute` / `operator` / `value`), which goes through the same checks.
A key that neither shape knows is refused, never dropped; a segment needs at least one condition.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audiences.models import ConditionType, Segment, SegmentCondition
from audiences.segments import MEMBER_FIELDS, SegmentError, segment_plan, segment_plan_build
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
NAME_TAKEN = "Segment already exists with this name"


class SegmentInvalidKeys(ValueError):
    """Keys a segment body does not know, named as `key` or `segmentAudienceList.key`."""

    def __init__(self, keys: list[str]):
        super().__init__(", ".join(keys))
        self.keys = keys


class SegmentInUse(ValueError):
    def __init__(self, message: str, *, message_ids: list[int]):
        super().__init__(message)
        self.message_ids = message_ids


class SegmentShared(ValueError):
    """A partner asked to change a segment of the gateway's shared audience."""


@dataclass(frozen=True)
class SegmentActor:
    """Who acts on segments: `owner` is "key:<id>" for a partner system and None for a gateway
    user (staff), who sees every segment and makes shared ones; `name` is recorded as
    createdBy / lastModifiedBy."""

    owner: str | None
    name: str

    @property
    def owner_tag(self) -> str:
        return self.owner or ""


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
                "operator": item["attributeOperator"].strip(),
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


def _checked(*, name, condition_type, definition, conditions, definition_given: bool) -> tuple[str, list[dict]]:
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


# Writing ----------------------------------------------------------------------------------------


def _store_conditions(segment: Segment, conditions: list[dict]) -> None:
    segment.conditions.all().delete()
    SegmentCondition.objects.bulk_create(
        SegmentCondition(
            segment=segment, number=c["number"], attribute=c["attribute"], operator=c["operator"], value=c["value"]
        )
        for c in conditions
    )


def segment_create(*, given, actor: SegmentActor) -> Segment:
    """A new segment, owned by the partner that makes it (shared when staff make it), unpublished:
    it is sent to once published, as in Volt MX."""
    read = segment_input_read(given)
    definition, conditions = _checked(
        name=read.name,
        condition_type=read.condition_type,
        definition=read.definition,
        conditions=read.conditions or [],
        definition_given=read.definition is not None,
    )
    if Segment.objects.filter(name=read.name).exists():
        raise SegmentError([NAME_TAKEN])
    try:
        with transaction.atomic():
            segment = Segment.objects.create(  # type: ignore[misc]  # _checked refused no name or type
                name=read.name,
                definition=definition,
                condition_type=read.condition_type,
                owner=actor.owner_tag,
                owner_label=read.owner_label or "",
                created_by=actor.name,
                last_modified_by=actor.name,
                published=False,
            )
            _store_conditions(segment, conditions)
    except IntegrityError:
        raise SegmentError([NAME_TAKEN]) from None
    return segment


def _may_change(segment: Segment, actor: SegmentActor) -> None:
    if segment.name == Segment.ALL_USERS:
        raise SegmentError([f'"{Segment.ALL_USERS}" cannot be changed'])
    if actor.owner is not None and segment.owner != actor.owner:
        raise SegmentShared("only the gateway's staff change a shared segment")


def segment_update(*, segment_id: int, given, actor: SegmentActor) -> Segment:
    """Change what is given (Volt MX modify, or PUT): the segment must still hold together.
    Conditions, when given, replace the segment's conditions. The published state stays."""
    read = segment_input_read(given)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        _may_change(segment, actor)
        current = [
            {"number": c.number, "attribute": c.attribute, "operator": c.operator, "value": c.value}
            for c in segment.conditions.all()
        ]
        condition_type = read.condition_type or segment.condition_type
        conditions = read.conditions if read.conditions is not None else current
        definition: str | None
        if read.definition is not None:
            definition = read.definition
        elif condition_type == ConditionType.ADVANCED:
            definition = segment.definition if segment.condition_type == ConditionType.ADVANCED else None
        else:
            definition = ""
        definition, conditions = _checked(
            name=read.name if read.name is not None else segment.name,
            condition_type=condition_type,
            definition=definition,
            conditions=conditions,
            definition_given=read.definition is not None,
        )
        name = read.name if read.name is not None else segment.name
        if name != segment.name and Segment.objects.filter(name=name).exists():
            raise SegmentError([NAME_TAKEN])
        segment.name = name
        segment.definition = definition
        segment.condition_type = condition_type
        if read.owner_label is not None:
            segment.owner_label = read.owner_label
        segment.last_modified_by = actor.name
        segment.save()
        _store_conditions(segment, conditions)
    return segment


def segment_publish(*, segment_id: int, published: bool, actor: SegmentActor) -> Segment:
    """Publish (only a segment that evaluates can be) or unpublish; "All Users" stays published."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        if segment.name == Segment.ALL_USERS and published:
            return segment
        _may_change(segment, actor)
        if published:
            if not segment.conditions.exists():
                raise SegmentError([NO_CONDITION])
            segment_plan(segment)
        segment.published = published
        segment.last_modified_by = actor.name
        segment.save(update_fields=["published", "last_modified_by", "updated_at"])
    return segment


# Which messages not yet sent name a segment is messaging's to say: it registers its finder here
# (MessagingConfig.ready), so that audiences imports nothing of messaging.
_pending_finders: list[Callable[..., list[int]]] = []


def segment_pending_finder_register(finder: Callable[..., list[int]]) -> None:
    """Add `finder(segment_id=...)`, the ids of the messages not yet sent that name a segment."""
    if finder not in _pending_finders:
        _pending_finders.append(finder)


def segment_messages_pending(*, segment_id: int) -> list[int]:
    """Messages not yet sent whose criteria name the segment, as the registered finders say."""
    return sorted({message_id for finder in _pending_finders for message_id in finder(segment_id=segment_id)})


def segment_delete(*, segment_id: int, actor: SegmentActor | None = None) -> bool:
    """Remove a segment, unless a message not yet sent uses it (SegmentInUse)."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return False
        if segment.name == Segment.ALL_USERS:
            raise SegmentError([f'"{Segment.ALL_USERS}" cannot be deleted'])
        if actor is not None:
            _may_change(segment, actor)
        pending = segment_messages_pending(segment_id=segment_id)
        if pending:
            shown = ", ".join(map(str, pending[:10]))
            raise SegmentInUse(
                f"Segment {segment_id} is used by {len(pending)} message(s) not yet sent (message ids {shown})",
                message_ids=pending,
            )
        segment.delete()
    return True
