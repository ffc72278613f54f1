from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from audiences.complexity import CompiledSize, evaluation_fails_for_good, evaluation_failure_text, plan_size
from audiences.models import AudienceAttribute, Member, Segment
from audiences.segments import SegmentError, plan_q, segment_plan
from smsgateway.prepared import prepared_read


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
    postgres = connection.vendor == "postgresql"
    params: list = []
    for values in (ids, mobiles):
        if values:
            # = ANY(array) on PostgreSQL: one statement text (prepared once) whatever the count.
            params += [list(values)] if postgres else list(values)
    if caller is not None:
        params.append(caller)
    counts = (1 if postgres else len(ids), 1 if postgres else len(mobiles))
    sql = _member_facts_sql(postgres, counts if ids else (0, counts[1]), bool(mobiles), caller is not None)
    return [MemberFacts(*row) for row in prepared_read(sql, params)]


@lru_cache(maxsize=256)
def _member_facts_sql(postgres: bool, counts: tuple[int, int], by_mobile: bool, owned: bool) -> str:
    qn = connection.ops.quote_name
    wanted = []
    for column, count, given in (("id", counts[0], counts[0] > 0), ("mobile", counts[1], by_mobile)):
        if given:
            wanted.append(f"{qn(column)} = ANY(%s)" if postgres else f"{qn(column)} IN ({', '.join(['%s'] * count)})")
    where = " OR ".join(wanted)
    if owned:
        where = f"({where}) AND {qn('owner')} IN (%s, '')"
    return (
        f"SELECT {qn('id')}, {qn('mobile')}, {qn('active')}, {qn('sms_subscription')}, {qn('voice_subscription')} "
        f"FROM {qn(Member._meta.db_table)} WHERE {where}"
    )


def member_consent_flags(channel: str) -> tuple[str, str]:
    """The member's flags that must both be true for anything to be sent to the member on the
    channel: active, and subscribed to it (to voice calls, or to texts for any other channel).
    The one statement of the rule: member_reachable and members_reachable read it."""
    return ("active", "voice_subscription" if channel == "voice" else "sms_subscription")


def member_reachable(member: Member | MemberFacts, *, channel: str, needs_mobile: bool = True) -> bool:
    """Active, subscribed to the channel, and with a number to send to.

    needs_mobile=False is for a row sent again (a resend, a voice fallback): it goes to the number
    of the row it repeats, so the member need only still consent, whatever their mobile is now."""
    consents = all(getattr(member, flag) for flag in member_consent_flags(channel))
    return consents and (bool(member.mobile) or not needs_mobile)


def members_reachable(*, channel: str) -> QuerySet[Member]:
    """member_reachable (with a mobile) as a queryset: a segment's expansion and its counts."""
    return Member.objects.filter(mobile__isnull=False, **{flag: True for flag in member_consent_flags(channel)})


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
