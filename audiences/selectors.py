from collections.abc import Sequence
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from audiences.complexity import CompiledSize, evaluation_fails_for_good, evaluation_failure_text, plan_size
from audiences.models import AudienceAttribute, Member, Segment
from audiences.segments import SegmentError, plan_q, segment_plan
from smsgateway.prepared import prepared_cursor


def segment_ids_existing(*, ids: set[int]) -> set[int]:
    return set(Segment.objects.filter(id__in=ids).values_list("id", flat=True))


def segment_sizes(*, ids: set[int]) -> dict[int, CompiledSize]:
    """The compiled size of each of these segments that can be evaluated (a segment whose
    conditions no longer resolve is left out)."""
    attributes = {a.name: a for a in AudienceAttribute.objects.all()}
    sizes = {}
    for segment in Segment.objects.filter(id__in=ids).prefetch_related("conditions"):
        try:
            sizes[segment.id] = plan_size(segment_plan(segment, attributes=attributes))
        except SegmentError:
            continue
    return sizes


def segments_visible(*, owner: str | None) -> QuerySet[Segment]:
    """The segments a caller may read: a partner ("key:<id>") its own and the gateway's shared
    ones (owner ""); a gateway user (None) every segment."""
    segments = Segment.objects.all()
    return segments if owner is None else segments.filter(owner__in=("", owner))


def segment_ids_sendable(*, ids: set[int], owner: str | None) -> set[int]:
    """Of the ids, those a caller may send to: visible to it, published, and with a condition
    (only "All Users" holds every member without one)."""
    sendable = (
        segments_visible(owner=owner)
        .filter(id__in=ids, published=True)
        .filter(Q(name=Segment.ALL_USERS) | Q(conditions__isnull=False))
    )
    return set(sendable.values_list("id", flat=True).distinct())


def audience_owner_of_client(client: str) -> str | None:
    """The audience owner of a request's client tag: a partner key's own tag, None (everyone)
    for a gateway user."""
    return client if client.startswith("key:") else None


def members_by_ids(*, ids: list[int], caller: str | None = None) -> dict[int, Member]:
    """The members of these ids that the caller may reach (see members_visible)."""
    return {member.id: member for member in members_visible(caller=caller).filter(id__in=ids)}


def members_by_mobiles(*, mobiles: list[str], caller: str | None = None) -> dict[str, Member]:
    """The members of these numbers that the caller may reach (see members_visible)."""
    visible = members_visible(caller=caller).filter(mobile__in=mobiles)
    return {member.mobile: member for member in visible}  # type: ignore[misc]  # mobile__in: never None


class MemberFacts(NamedTuple):
    """What member_reachable and a recipient row read of a member."""

    pk: int
    mobile: str | None
    active: bool
    sms_subscription: bool
    voice_subscription: bool


def member_facts(*, caller: str | None, ids: Sequence[int] = (), mobiles: Sequence[str] = ()) -> list[MemberFacts]:
    """The facts of the members with these ids or mobiles that the caller may read (see
    members_visible): one plain statement, since the send path asks this of every request and
    the ORM's query building costs more than the query."""
    if not ids and not mobiles:
        return []
    table, qn = Member._meta.db_table, connection.ops.quote_name
    params: list = []
    wanted = []
    for column, values in (("id", list(ids)), ("mobile", list(mobiles))):
        # = ANY(array) on PostgreSQL: one statement text (prepared once) whatever the count.
        if values:
            if connection.vendor == "postgresql":
                wanted.append(f"{qn(column)} = ANY(%s)")
                params.append(values)
            else:
                wanted.append(f"{qn(column)} IN ({', '.join(['%s'] * len(values))})")
                params += values
    where = " OR ".join(wanted)
    if caller is not None:
        where = f"({where}) AND {qn('owner')} IN (%s, '')"
        params.append(caller)
    sql = (
        f"SELECT {qn('id')}, {qn('mobile')}, {qn('active')}, {qn('sms_subscription')}, {qn('voice_subscription')} "
        f"FROM {qn(table)} WHERE {where}"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return [MemberFacts(*row) for row in cursor.fetchall()]


def member_reachable(member: Member, *, channel: str) -> bool:
    """Active, subscribed to the channel, and with a number to send to."""
    subscribed = member.voice_subscription if channel == "voice" else member.sms_subscription
    return bool(member.active and subscribed and member.mobile)


def members_reachable(*, channel: str) -> QuerySet[Member]:
    subscription = "voice_subscription" if channel == "voice" else "sms_subscription"
    return Member.objects.filter(active=True, mobile__isnull=False, **{subscription: True})


def members_visible(*, caller: str | None) -> QuerySet[Member]:
    """The members a caller may read: every one for a gateway user (None); for a partner key (its
    tag, "key:<id>"), its own members and the gateway's shared audience."""
    if caller is None:
        return Member.objects.all()
    return Member.objects.filter(owner__in=(caller, ""))


def segment_member_count(*, segment: Segment, channel: str | None = None, owner: str | None = None) -> int:
    """How many members a segment holds now (reachable on the channel, when one is given), of
    those the caller reaches (every member for owner None).

    Raises SegmentError when the segment cannot be evaluated."""
    return plan_member_count(plan=segment_plan(segment), channel=channel, owner=owner)


def plan_member_count(*, plan, channel: str | None = None, owner: str | None = None) -> int:
    """How many members a segment plan holds now. A plan that cannot be compiled, or whose
    query the database refuses (a value it cannot compare, a query too complex), raises
    SegmentError saying so, and leaves the caller's transaction usable."""
    members = members_reachable(channel=channel) if channel else Member.objects.all()
    if owner is not None:
        members = members.filter(owner__in=("", owner))
    try:
        with transaction.atomic():
            return members.filter(plan_q(plan)).count()
    except Exception as error:
        if not evaluation_fails_for_good(error):
            raise
        raise SegmentError([f"the segment cannot be evaluated: {evaluation_failure_text(error)}"]) from error
