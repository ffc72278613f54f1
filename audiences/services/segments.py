"""Creating, changing and removing segments: a name, numbered conditions and a definition."""

from django.db import IntegrityError, transaction
from django.db.models import Q

from audiences.criteria import CriteriaError, criteria_segment_ids, parse_criteria
from audiences.definitions import definition_default
from audiences.models import Segment, SegmentCondition
from audiences.segments import SegmentError, plan_text, segment_plan, segment_plan_build
from audiences.values import attributes_declared

MAX_CONDITIONS = 100
MAX_DEFINITION = 1000
MAX_VALUE = 500


class SegmentInUse(ValueError):
    def __init__(self, message: str, *, message_ids: list[int]):
        super().__init__(message)
        self.message_ids = message_ids


def segment_conditions_clean(given) -> list[dict]:
    """Conditions from the API shape: a list of {number, attribute, operator, value}; a
    condition without a number takes its place in the list (1-based)."""
    if given is None:
        return []
    if isinstance(given, dict):
        given = [given]
    if not isinstance(given, list):
        raise SegmentError(["conditions must be a list of {number, attribute, operator, value}"])
    if len(given) > MAX_CONDITIONS:
        raise SegmentError([f"a segment has at most {MAX_CONDITIONS} conditions"])
    conditions = []
    for place, condition in enumerate(given, start=1):
        if not isinstance(condition, dict):
            raise SegmentError([f"condition {place} must be an object of number, attribute, operator, value"])
        number = condition.get("number", place)
        if isinstance(number, str) and number.strip().isdecimal():
            number = int(number.strip())
        value = condition.get("value", "")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise SegmentError([f"condition {place}: the value must be a single value"])
        if len(str(value)) > MAX_VALUE:
            raise SegmentError([f"condition {place}: the value is longer than {MAX_VALUE} characters"])
        conditions.append(
            {
                "number": number,
                "attribute": str(condition.get("attribute") or "").strip(),
                "operator": str(condition.get("operator") or "").strip(),
                "value": "" if value is None else str(value),
            }
        )
    return conditions


def _definition(definition, conditions) -> str:
    text = "" if definition is None else str(definition).strip()
    if len(text) > MAX_DEFINITION:
        raise SegmentError([f"definition is longer than {MAX_DEFINITION} characters"])
    if not text and conditions:
        text = definition_default([c["number"] for c in conditions])
    return text


def _name(name) -> str:
    text = "" if name is None else str(name).strip()
    if not text:
        raise SegmentError(["name is required"])
    if len(text) > 200:
        raise SegmentError(["name is longer than 200 characters"])
    return text


def _store_conditions(segment: Segment, conditions: list[dict]) -> None:
    segment.conditions.all().delete()
    SegmentCondition.objects.bulk_create(
        SegmentCondition(
            segment=segment,
            number=c["number"],
            attribute=c["attribute"],
            operator=c["operator"],
            value=c["value"],
        )
        for c in conditions
    )


def segment_create(*, name, definition, conditions) -> Segment:
    name = _name(name)
    conditions = segment_conditions_clean(conditions)
    definition = _definition(definition, conditions)
    segment_plan_build(definition=definition, conditions=conditions, attributes=attributes_declared())
    if Segment.objects.filter(name=name).exists():
        raise SegmentError([f"a segment named {name!r} already exists"])
    try:
        with transaction.atomic():
            segment = Segment.objects.create(name=name, definition=definition)
            _store_conditions(segment, conditions)
    except IntegrityError:
        raise SegmentError([f"a segment named {name!r} already exists"]) from None
    return segment


def segment_update(*, segment_id: int, name=None, definition=None, conditions=None) -> Segment:
    """Change what is given; conditions, when given, replace the segment's conditions."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        if segment.name == Segment.ALL_USERS:
            raise SegmentError([f'"{Segment.ALL_USERS}" cannot be changed'])
        new_name = _name(name) if name is not None else segment.name
        if conditions is None:
            new_conditions = [
                {"number": c.number, "attribute": c.attribute, "operator": c.operator, "value": c.value}
                for c in segment.conditions.all()
            ]
        else:
            new_conditions = segment_conditions_clean(conditions)
        new_definition = _definition(definition if definition is not None else segment.definition, new_conditions)
        segment_plan_build(definition=new_definition, conditions=new_conditions, attributes=attributes_declared())
        if new_name != segment.name and Segment.objects.filter(name=new_name).exists():
            raise SegmentError([f"a segment named {new_name!r} already exists"])
        segment.name = new_name
        segment.definition = new_definition
        segment.save()
        if conditions is not None:
            _store_conditions(segment, new_conditions)
    return segment


def segment_messages_pending(*, segment_id: int) -> list[int]:
    """Messages not yet sent whose criteria name the segment: still expanding, or with
    recipients still waiting (`initial`)."""
    from messaging.models import Recipient, RecipientState, SmsMessage

    # The queue's rows (state initial) are few beside all recipients, and indexed apart.
    waiting = Recipient.objects.filter(state=RecipientState.INITIAL).values("message_id")
    unsent = (
        SmsMessage.objects.filter(Q(expansion_done=False) | Q(id__in=waiting))
        .exclude(criteria=[])
        .values_list("id", "criteria")
    )
    pending, seen = [], set()
    for message_id, criteria in unsent:
        if message_id in seen:
            continue
        seen.add(message_id)
        for text in criteria or []:
            try:
                if segment_id in criteria_segment_ids(parse_criteria(text)):
                    pending.append(message_id)
                    break
            except CriteriaError:
                continue
    return sorted(pending)


def segment_delete(*, segment_id: int) -> bool:
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return False
        if segment.name == Segment.ALL_USERS:
            raise SegmentError([f'"{Segment.ALL_USERS}" cannot be deleted'])
        pending = segment_messages_pending(segment_id=segment_id)
        if pending:
            shown = ", ".join(map(str, pending[:10]))
            raise SegmentInUse(
                f"segment {segment_id} is used by {len(pending)} message(s) not yet sent (message ids {shown})",
                message_ids=pending,
            )
        segment.delete()
    return True


def segment_as_dict(segment: Segment) -> dict:
    conditions = list(segment.conditions.all())
    try:
        evaluated = plan_text(segment_plan(segment))
    except SegmentError as error:
        evaluated = f"invalid: {error}"
    return {
        "id": str(segment.pk),
        "name": segment.name,
        "definition": segment.definition,
        "evaluatedAs": evaluated,
        "conditions": [
            {"number": c.number, "attribute": c.attribute, "operator": c.operator, "value": c.value} for c in conditions
        ],
        "createdDate": segment.created_at.isoformat() if segment.created_at else "",
        "lastUpdatedDate": segment.updated_at.isoformat() if segment.updated_at else "",
    }
