from dataclasses import dataclass

from django.db.models import Q, QuerySet

from audiences.models import Member, Segment


def segment_ids_existing(*, ids: set[int]) -> set[int]:
    return set(Segment.objects.filter(id__in=ids).values_list("id", flat=True))


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


def members_visible(*, owner: str | None) -> QuerySet[Member]:
    """The members a caller reaches: a partner ("key:<id>") the gateway's shared audience and its
    own members; a gateway user (None) every member."""
    return Member.objects.all() if owner is None else Member.objects.filter(owner__in=("", owner))


def audience_owner_of_client(client: str) -> str | None:
    """The audience owner of a request's client tag: a partner key's own tag, None (everyone)
    for a gateway user."""
    return client if client.startswith("key:") else None


def members_by_ids(*, ids: list[int]) -> dict[int, Member]:
    return {member.id: member for member in Member.objects.filter(id__in=ids)}


def members_by_mobiles(*, mobiles: list[str]) -> dict[str, Member]:
    return {member.mobile: member for member in Member.objects.filter(mobile__in=mobiles)}


def member_reachable(member: Member, *, channel: str) -> bool:
    """Active, subscribed to the channel, and with a number to send to."""
    subscribed = member.voice_subscription if channel == "voice" else member.sms_subscription
    return bool(member.active and subscribed and member.mobile)


def members_reachable(*, channel: str) -> QuerySet[Member]:
    subscription = "voice_subscription" if channel == "voice" else "sms_subscription"
    return Member.objects.filter(active=True, mobile__isnull=False, **{subscription: True})


@dataclass
class MembersPage:
    total: int
    members: list[Member]


def members_page(*, start: int, per_page: int, mobile: str | None = None, email: str | None = None) -> MembersPage:
    """One page of members by id, 1-based `start`; filtered by exact mobile or email when given."""
    members = Member.objects.order_by("id")
    if mobile:
        members = members.filter(mobile=mobile.strip())
    if email:
        members = members.filter(email=email.strip().lower())
    return MembersPage(total=members.count(), members=list(members[start - 1 : start - 1 + per_page]))


def segment_member_count(*, segment: Segment, channel: str | None = None, owner: str | None = None) -> int:
    """How many members a segment holds now (reachable on the channel, when one is given), of
    those the caller reaches (every member for owner None)."""
    from audiences.segments import segment_q

    members = members_reachable(channel=channel) if channel else Member.objects.all()
    if owner is not None:
        members = members.filter(owner__in=("", owner))
    return members.filter(segment_q(segment)).count()
