"""Taking due recipients off the queue in batches and handing them to the provider.

A batch is claimed by one statement (FOR UPDATE SKIP LOCKED on PostgreSQL) that sets a lease.
The lease is the record that a submit may be under way: a row whose lease ran out while still
`initial` had an outcome nobody learned, so it is marked `outcome_unknown` when taken again.
"""

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from messaging.backends import OutboundSms, SendOutcome, get_backend
from messaging.models import Recipient, RecipientEvent, RecipientState
from messaging.personalise import member_values, render
from messaging.text import text_layout

from .states import recipients_transition

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 600
MAX_ATTEMPTS = 12


@dataclass
class DispatchReport:
    submitted: int = 0
    rejected: int = 0
    retried: int = 0
    expired: int = 0
    more: bool = False


def _due(now: datetime):
    return Recipient.objects.filter(state=RecipientState.INITIAL, due_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def recipients_claim(*, batch_size: int, now: datetime | None = None) -> list[Recipient]:
    now = now or timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            _due(now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by("-priority", "due_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return []
        Recipient.objects.filter(id__in=ids).update(
            lease_token=token,
            lease_until=now + timedelta(seconds=settings.DISPATCH_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            outcome_unknown=Case(When(lease_token__isnull=False, then=Value(True)), default=F("outcome_unknown")),
        )
    return list(
        Recipient.objects.filter(lease_token=token).select_related("message", "member").order_by("-priority", "id")
    )


def recipients_expire_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(_due(now).filter(expires_at__isnull=False, expires_at__lte=now).values_list("id", flat=True)[:20000])
    return recipients_transition(
        recipient_ids=ids, to_state=RecipientState.EXPIRED, at=now, detail="expired before sending"
    )


def outbound_for(recipient: Recipient) -> OutboundSms:
    message = recipient.message
    text = recipient.content or message.content
    if message.personalised and not recipient.content:
        values = member_values(recipient.member) if recipient.member else {"mobile": recipient.phone}
        text = render(message.content, values)
    return OutboundSms(
        key=recipient.pk,
        phone=recipient.phone,
        text=text,
        channel=recipient.channel,
        sender=settings.SMS_DEFAULT_SENDER,
        encoding=text_layout(text).encoding if text is not message.content else message.encoding,
        priority=recipient.priority,
        expires_at=recipient.expires_at,
    )


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def outcomes_record(*, claimed: list[Recipient], outcomes: list[SendOutcome], provider: str) -> DispatchReport:
    report = DispatchReport()
    now = timezone.now()
    token = claimed[0].lease_token if claimed else None
    by_key = {outcome.key: outcome for outcome in outcomes}
    submitted, events, rejected, expired = [], [], [], []
    retried: list[Recipient] = []
    for recipient in claimed:
        outcome = by_key.get(recipient.pk)
        if outcome is None:
            continue  # left leased: the lease runs out and the row is retried as outcome unknown
        if outcome.error is None:
            recipient.state = RecipientState.SUBMITTED
            recipient.provider = provider
            recipient.provider_message_id = outcome.provider_message_id
            recipient.submitted_at = now
            recipient.lease_token = None
            recipient.lease_until = None
            recipient.error_code = ""
            recipient.error = ""
            submitted.append(recipient)
            events.append(
                RecipientEvent(
                    recipient_id=recipient.pk,
                    state=RecipientState.SUBMITTED,
                    at=now,
                    provider_message_id=outcome.provider_message_id,
                )
            )
        elif outcome.error.permanent:
            rejected.append((recipient, outcome.error))
        else:
            delay = timedelta(seconds=retry_delay(recipient.attempts))
            if recipient.attempts >= MAX_ATTEMPTS or (
                recipient.expires_at is not None and now + delay >= recipient.expires_at
            ):
                expired.append((recipient, outcome.error))
                continue
            recipient.due_at = now + delay
            recipient.lease_token = None
            recipient.lease_until = None
            recipient.error_code = outcome.error.code[:64]
            recipient.error = str(outcome.error)[:500]
            recipient.provider = provider
            retried.append(recipient)
    with transaction.atomic():
        fields = [
            "state",
            "provider",
            "provider_message_id",
            "submitted_at",
            "lease_token",
            "lease_until",
            "error_code",
            "error",
            "updated_at",
        ]
        for recipient in submitted + retried:
            recipient.updated_at = now
        token_rows = Recipient.objects.filter(state=RecipientState.INITIAL, lease_token=token)
        if submitted:
            token_rows.bulk_update(submitted, fields, batch_size=1000)
            RecipientEvent.objects.bulk_create(events, batch_size=1000)
        if retried:
            token_rows.bulk_update(
                retried,
                ["due_at", "lease_token", "lease_until", "error_code", "error", "provider", "updated_at"],
                batch_size=1000,
            )
    for recipient, error in rejected:
        recipients_transition(
            recipient_ids=[recipient.pk],
            to_state=RecipientState.REJECTED,
            at=now,
            error_code=error.code,
            detail=str(error),
        )
    for recipient, error in expired:
        recipients_transition(
            recipient_ids=[recipient.pk],
            to_state=RecipientState.EXPIRED,
            at=now,
            error_code=error.code,
            detail=f"gave up: {error}",
        )
    report.submitted = len(submitted)
    report.rejected = len(rejected)
    report.retried = len(retried)
    report.expired = len(expired)
    return report


def dispatch_batch(*, batch_size: int | None = None) -> DispatchReport:
    claimed = recipients_claim(batch_size=batch_size or settings.DISPATCH_BATCH_SIZE)
    if not claimed:
        return DispatchReport()
    backend = get_backend()
    outcomes = backend.send_messages([outbound_for(recipient) for recipient in claimed])
    report = outcomes_record(claimed=claimed, outcomes=outcomes, provider=backend.name)
    report.more = len(claimed) >= (batch_size or settings.DISPATCH_BATCH_SIZE)
    return report


def dispatch_due_run(*, seconds: float | None = None) -> DispatchReport:
    """Send what is due until nothing is left or the time is spent; says whether more waits."""
    deadline = time.monotonic() + (settings.DISPATCH_TASK_SECONDS if seconds is None else seconds)
    total = DispatchReport(expired=recipients_expire_due())
    while True:
        report = dispatch_batch()
        total.submitted += report.submitted
        total.rejected += report.rejected
        total.retried += report.retried
        total.expired += report.expired
        if not report.more:
            total.more = False
            return total
        if time.monotonic() >= deadline:
            total.more = True
            return total
