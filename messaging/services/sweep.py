"""The sweeper: what a lost wake-up or a dead worker left behind is taken up again."""

from datetime import timedelta

from django.utils import timezone

from messaging.models import SmsMessage

from . import wakeups
from .dispatch import recipients_expire_due

STALLED_AFTER = timedelta(seconds=60)


def queue_sweep() -> dict[str, int]:
    from messaging.tasks import expand_message

    expired = recipients_expire_due()
    stalled = list(
        SmsMessage.objects.filter(expansion_done=False, created_at__lt=timezone.now() - STALLED_AFTER).values_list(
            "id", flat=True
        )[:100]
    )
    for message_id in stalled:
        expand_message.apply_async(args=[message_id])
    wakeups.dispatch_wake(force=True)
    return {"expired": expired, "expansions_resumed": len(stalled)}
