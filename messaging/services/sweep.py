"""The sweeper: what a lost wake-up or a dead worker left behind is taken up again.

A dead worker's rows keep their lease until it runs out; the next claim takes them again and
records that the outcome of their first submit is unknown. Receipts that overtook the record
of their submit are matched again here. A submitted recipient whose receipt never came is
expired once its validity and a grace have passed, or, with no validity, after
RECEIPT_WAIT_HOURS.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging.models import Recipient, RecipientState, SmsMessage

from . import wakeups
from .dispatch import recipients_expire_due
from .receipts import pending_receipts_match
from .states import recipients_transition

STALLED_AFTER = timedelta(seconds=60)
STALLED_BATCH = 100
# A receipt may come a little after the validity ran out (the SMSC's own expiry report).
RECEIPT_GRACE = timedelta(minutes=10)
RECEIPT_BATCH = 5000
NO_RECEIPT = "no delivery receipt"


def recipients_expire_unreceipted(*, now=None, limit: int = RECEIPT_BATCH) -> int:
    """Expire up to `limit` submitted recipients whose receipt is overdue; returns how many moved.

    Overdue: the validity (expires_at) passed more than RECEIPT_GRACE ago, or, with no validity,
    submitted more than RECEIPT_WAIT_HOURS ago. Each search runs on its partial index.
    """
    now = now or timezone.now()
    submitted = Recipient.objects.filter(state=RecipientState.SUBMITTED)
    ids = list(
        submitted.filter(expires_at__isnull=False, expires_at__lte=now - RECEIPT_GRACE)
        .order_by("expires_at")
        .values_list("id", flat=True)[:limit]
    )
    if len(ids) < limit:
        waited = now - timedelta(hours=settings.RECEIPT_WAIT_HOURS)
        ids += list(
            submitted.filter(expires_at__isnull=True, submitted_at__lte=waited)
            .order_by("submitted_at")
            .values_list("id", flat=True)[: limit - len(ids)]
        )
    return recipients_transition(
        recipient_ids=ids,
        to_state=RecipientState.EXPIRED,
        at=now,
        detail=NO_RECEIPT,
        extra_filter={"state": RecipientState.SUBMITTED},
    )


def queue_sweep() -> dict[str, int]:
    now = timezone.now()
    expired = recipients_expire_due()
    # Oldest first; a message whose expansion keeps failing is given up after
    # EXPANSION_MAX_ATTEMPTS tries, so failing ones cannot hold the batch for ever.
    stalled = list(
        SmsMessage.objects.filter(expansion_done=False, created_at__lt=now - STALLED_AFTER)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:STALLED_BATCH]
    )
    wakeups.expansions_resume(message_ids=stalled)
    matched = pending_receipts_match()
    unreceipted = recipients_expire_unreceipted(now=now)
    wakeups.dispatch_wake(force=True)
    return {
        "expired": expired,
        "expansions_resumed": len(stalled),
        "receipts_matched": matched,
        "receipts_overdue": unreceipted,
    }
