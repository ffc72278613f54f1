"""Sending what is due: batches claimed off the queue and handed to the providers by route.

`dispatch_due_run` expires what is past its expiry, then runs `dispatch_batch` until nothing is
due or the time is spent. A batch is claimed, rendered and checked against the key's limits, the
rows inside their quiet hours are held back, and the rest go out by the routes in failover order
(`_send_by_routes`): a route that is down, busy or whose character limit a text passes hands them
on. What each outcome does to its row is recorded by `outcomes_record`.

This module owns the routes, the provider's rate and quiet hours. The rest of the path lives by
subject in its own module, whose names are also importable from here:
- recipient_queue.py: claiming, expiry, rendering, and giving rows back (the lease);
- submit_outcomes.py: what each outcome means for its row, without the database (the retry policy);
- submit_records.py: the writes that apply it, and the report of a batch.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging import throttle
from messaging.backends import PermanentProviderError, ProviderError, SendOutcome, TransientProviderError
from messaging.models import Channel, Recipient, RecipientState

from . import quotas
from .providers import routing
from .providers.routing import Route
from .quiet_hours import quiet_hours_opening
from .recipient_queue import (
    outbound_for,
    recipient_parts,
    recipients_claim,
    recipients_expire_due,
    recipients_give_back,
    recipients_render,
)
from .states import recipients_transition
from .submit_outcomes import MAX_ATTEMPTS, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS, retry_delay
from .submit_records import DispatchReport, outcomes_record

__all__ = [
    "MAX_ATTEMPTS",
    "PROVIDER_DOWN_CODES",
    "RETRY_BASE_SECONDS",
    "RETRY_CAP_SECONDS",
    "THROTTLE_MAX_WAIT_SECONDS",
    "DispatchReport",
    "dispatch_batch",
    "dispatch_due_run",
    "outbound_for",
    "outcomes_record",
    "recipient_parts",
    "recipients_claim",
    "recipients_expire_due",
    "recipients_give_back",
    "recipients_hold_for_quiet_hours",
    "recipients_render",
    "retry_delay",
]

logger = logging.getLogger(__name__)

# Error codes that say the provider itself is unreachable, not that one message failed.
PROVIDER_DOWN_CODES = frozenset({"connect", "bind", "bind_unavailable", "auth", "unavailable"})


def _report_add(total: DispatchReport, part: DispatchReport) -> None:
    total.submitted += part.submitted
    total.rejected += part.rejected
    total.retried += part.retried
    total.expired += part.expired


def recipients_hold_for_quiet_hours(
    *, claimed: list[Recipient], route: Route | None, now: datetime | None = None
) -> list[Recipient]:
    """Give back the non-priority rows due inside their quiet hours, due again when the window
    opens (or expired, when they would expire first); returns the rows to send now."""
    now = now or timezone.now()
    send_now, held, expire = [], [], []
    for recipient in claimed:
        api_key = recipient.message.request.api_key
        window = None
        if api_key is not None and api_key.quiet_hours_enabled:
            window = (api_key.quiet_hours_start, api_key.quiet_hours_end)
        elif route is not None and route.quiet_hours:
            window = route.quiet_hours
        if recipient.priority or window is None:
            send_now.append(recipient)
            continue
        opening = quiet_hours_opening(phone=recipient.phone, now=now, window=window)
        if opening <= now:
            send_now.append(recipient)
        elif recipient.expires_at is not None and recipient.expires_at <= opening:
            expire.append(recipient.pk)
        else:
            recipient.due_at = opening
            held.append(recipient)
    if held:
        with transaction.atomic():
            for recipient in held:
                Recipient.objects.filter(pk=recipient.pk, lease_token=recipient.lease_token).update(
                    due_at=recipient.due_at,
                    lease_token=None,
                    lease_until=None,
                    attempts=F("attempts") - 1,
                    updated_at=now,
                )
    if expire:
        recipients_transition(
            recipient_ids=expire, to_state=RecipientState.EXPIRED, at=now, detail="would expire in quiet hours"
        )
    return send_now


THROTTLE_MAX_WAIT_SECONDS = 10.0


def _throttle(route: Route, parts: int) -> None:
    """Wait for the provider's parts-per-second budget, shared by every worker; raises
    ThrottleBusy when the wait would be longer than THROTTLE_MAX_WAIT_SECONDS."""
    if route.throughput <= 0 or route.provider_id is None:
        return
    throttle.throttle_take(provider=route.name, rate=route.throughput, parts=parts, max_wait=THROTTLE_MAX_WAIT_SECONDS)


def _provider_down(outcomes: list[SendOutcome]) -> bool:
    return bool(outcomes) and all(
        outcome.error is not None and not outcome.error.permanent and outcome.error.code in PROVIDER_DOWN_CODES
        for outcome in outcomes
    )


def _within_limit(recipients: list[Recipient], route: Route) -> tuple[list[Recipient], list[Recipient]]:
    """(rows this route may carry, rows whose text is longer than its Maximum Character Limit)."""
    if not route.max_chars:
        return recipients, []
    fits, too_long = [], []
    for recipient in recipients:
        text = recipient.content or recipient.message.content
        (fits if len(text) <= route.max_chars else too_long).append(recipient)
    return fits, too_long


def _send_by_routes(recipients: list[Recipient], routes: list[Route]) -> DispatchReport:
    """Hand the rows to the first route that takes them; a route that is down, or whose
    character limit a text passes, passes them on."""
    total = DispatchReport()
    pending = recipients
    last_error: ProviderError | None = None
    last_route = routes[-1].name if routes else ""
    for route in routes:
        if not pending:
            break
        batch, passed_on = _within_limit(pending, route)
        pending = passed_on
        if not batch:
            continue
        try:
            _throttle(route, sum(recipient_parts(recipient) for recipient in batch))
        except throttle.ThrottleBusy as busy:
            # Other workers have this provider's next seconds: the rows wait, priority first again.
            recipients_give_back(
                recipients=batch + pending, due_at=timezone.now() + timedelta(seconds=min(busy.retry_after, 5.0))
            )
            return total
        try:
            outcomes = route.backend.send_messages([outbound_for(r, sender=route.sender) for r in batch])
        except TransientProviderError as error:
            if route.provider_id is not None:
                routing.provider_circuit_open(name=route.name)
            last_error, last_route = error, route.name
            pending = batch + pending
            continue
        except PermanentProviderError as error:
            outcomes = [SendOutcome(key=r.pk, error=error) for r in batch]
        except Exception:
            # Nobody knows what the provider got: the rows stay leased and come back as outcome unknown.
            logger.exception("provider %s failed while sending %d messages", route.name, len(batch))
            return total
        if _provider_down(outcomes) and route is not routes[-1]:
            routing.provider_circuit_open(name=route.name)
            last_error, last_route = outcomes[0].error, route.name
            pending = batch + pending
            continue
        _report_add(total, outcomes_record(claimed=batch, outcomes=outcomes, provider=route.name))
    if pending:
        if last_error is None:
            error = PermanentProviderError("longer than every provider's character limit", code="too-long")
        else:
            error = last_error
        outcomes = [SendOutcome(key=r.pk, error=error) for r in pending]
        _report_add(total, outcomes_record(claimed=pending, outcomes=outcomes, provider=last_route))
    return total


def dispatch_batch(*, batch_size: int | None = None) -> DispatchReport:
    routes = routing.routes_active()
    live = [route for route in routes if not routing.provider_circuit_is_open(name=route.name)]
    if not live:
        return DispatchReport()
    size = batch_size or settings.DISPATCH_BATCH_SIZE
    if live[0].throughput > 0:
        # No larger than the provider takes in about two seconds, so priority rows overtake soon.
        size = min(size, max(1, int(live[0].throughput * 2)))
    claimed = recipients_claim(batch_size=size)
    if not claimed:
        return DispatchReport()
    report = DispatchReport()
    recipients_render(claimed)
    refused = quotas.recipients_refused(claimed)
    if refused:
        outcomes = [
            SendOutcome(key=recipient.pk, error=PermanentProviderError(detail, code=code))
            for recipient, code, detail in refused
        ]
        _report_add(report, outcomes_record(claimed=[r for r, _, _ in refused], outcomes=outcomes, provider=""))
        taken = {recipient.pk for recipient, _, _ in refused}
        claimed_count, claimed = len(claimed), [recipient for recipient in claimed if recipient.pk not in taken]
    else:
        claimed_count = len(claimed)
    sendable = recipients_hold_for_quiet_hours(claimed=claimed, route=live[0]) if claimed else []
    texts = [r for r in sendable if r.channel != Channel.VOICE]
    calls = [r for r in sendable if r.channel == Channel.VOICE]
    if texts:
        _report_add(report, _send_by_routes(texts, live))
    if calls:
        voice_routes = [route for route in live if route.voice]
        if voice_routes:
            _report_add(report, _send_by_routes(calls, voice_routes))
        else:
            error = PermanentProviderError("no voice-capable provider is enabled", code="no-voice")
            outcomes = [SendOutcome(key=r.pk, error=error) for r in calls]
            _report_add(report, outcomes_record(claimed=calls, outcomes=outcomes, provider=""))
    report.more = claimed_count >= size
    return report


def dispatch_due_run(*, seconds: float | None = None) -> DispatchReport:
    """Send what is due until nothing is left or the time is spent; says whether more waits."""
    deadline = time.monotonic() + (settings.DISPATCH_TASK_SECONDS if seconds is None else seconds)
    total = DispatchReport(expired=recipients_expire_due())
    while True:
        report = dispatch_batch()
        _report_add(total, report)
        if not report.more:
            total.more = False
            return total
        if time.monotonic() >= deadline:
            total.more = True
            return total
