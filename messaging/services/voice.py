"""sendVoiceSmsOnFailure: a text that ends rejected or undelivered is sent again as a voice call.

The call is a new recipient row of the same message, linked to the text by `resend_of`, on the
voice channel, due at once. A member who opted out of voice calls gets none.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from audiences.selectors import member_reachable
from messaging.models import Channel, Recipient, RecipientState
from messaging.personalise import recipient_text

from . import wakeups
from .quota_usage import recipients_added
from .quotas import DESTINATION_REFUSED_CODES


def recipients_fall_back_to_voice(*, recipient_ids: list[int]) -> int:
    """Queue the voice call of each failed text whose message asks for it; returns how many."""
    now = timezone.now()
    failed = (
        Recipient.objects.filter(
            id__in=recipient_ids,
            channel=Channel.TEXT,
            message__voice_on_failure=True,
            state__in=[RecipientState.REJECTED, RecipientState.UNDELIVERED],
        )
        .exclude(attempts_after__channel=Channel.VOICE)
        .exclude(error_code__in=DESTINATION_REFUSED_CODES)  # a call would go to the same number
        .select_related("message", "member")
    )
    calls = []
    for text in failed:
        if text.member is not None and not member_reachable(text.member, channel=Channel.VOICE, needs_mobile=False):
            continue
        if text.expires_at is not None and text.expires_at <= now:
            continue
        content = recipient_text(text)
        calls.append(
            Recipient(
                message_id=text.message_id,
                member_id=text.member_id,
                phone=text.phone,
                resend_of=text,
                content=content,
                channel=Channel.VOICE,
                priority=text.priority,
                due_at=now,
                expires_at=text.expires_at,
            )
        )
    if not calls:
        return 0
    try:
        with transaction.atomic():
            Recipient.objects.bulk_create(calls)
            recipients_added(calls)
    except IntegrityError:
        return 0
    transaction.on_commit(lambda: wakeups.dispatch_wake(priority=any(c.priority for c in calls), force=True))
    return len(calls)
