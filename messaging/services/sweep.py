"""The sweeper: what a lost wake-up or a dead worker left behind is taken up again.

A dead worker's rows keep their lease until it runs out; the next claim takes them again and
records that the outcome of their first submit is unknown. Receipts that overtook the record
of their submit are matched again here.
"""

from datetime import timedelta

from django.utils import timezone

from messaging.models import SmsMessage

from . import wakeups
from .dispatch import recipients_expire_due
from .receipts import pending_receipts_match

STALLED_AFTER = timedelta(seconds=60)


def queue_sweep() -> dict[str, int]:
    from messaging.tasks import expand_message

    now = timezone.now()
    expired = recipients_expire_due()
    stalled = list(
        SmsMessage.objects.filter(expansion_done=False, created_at__lt=now - STALLED_AFTER).values_list(
            "id", flat=True
        )[:100]
    )
    for message_id in stalled:
        expand_message.apply_async(args=[message_id])
    matched = pending_receipts_match()
    wakeups.dispatch_wake(force=True)
    return {
        "expired": expired,
        "expansions_resumed": len(stalled),
        "receipts_matched": matched,
    }
