"""Creating, changing, publishing and removing segments, in the Volt MX shape. A body is read and
checked by segment_bodies.py (both shapes it takes are described there); this module writes."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audiences.models import ConditionType, Segment, SegmentCondition
from audiences.segments import SegmentError, segment_plan
from audiences.services.segment_bodies import (
    NO_CONDITION,
    SegmentInput,
    SegmentInvalidKeys,
    attribute_canonical,
    segment_input_check,
    segment_input_read,
)

__all__ = [
    "SegmentActor",
    "SegmentInUse",
    "SegmentInput",
    "SegmentInvalidKeys",
    "SegmentShared",
    "attribute_canonical",
    "segment_create",
    "segment_delete",
    "segment_input_read",
    "segment_messages_pending",
    "segment_pending_finder_register",
    "segment_publish",
    "segment_update",
]

NAME_TAKEN = "Segment already exists with this name"


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
    definition, conditions = segment_input_check(
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
        definition, conditions = segment_input_check(
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
