from django.db.models import QuerySet

from audiences.models import Member, Segment


def segment_ids_existing(*, ids: set[int]) -> set[int]:
    return set(Segment.objects.filter(id__in=ids).values_list("id", flat=True))


def members_by_ids(*, ids: list[int], caller: str | None = None) -> dict[int, Member]:
    """The members of these ids that the caller may reach (see members_visible)."""
    return {member.id: member for member in members_visible(caller=caller).filter(id__in=ids)}


def members_by_mobiles(*, mobiles: list[str], caller: str | None = None) -> dict[str, Member]:
    """The members of these numbers that the caller may reach (see members_visible)."""
    return {member.mobile: member for member in members_visible(caller=caller).filter(mobile__in=mobiles)}


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


def segment_member_count(*, segment: Segment, channel: str | None = None) -> int:
    """How many members a segment holds now (reachable on the channel, when one is given)."""
    from audiences.segments import segment_q

    members = members_reachable(channel=channel) if channel else Member.objects.all()
    return members.filter(segment_q(segment)).count()
