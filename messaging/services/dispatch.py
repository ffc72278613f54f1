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
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from messaging import throttle
from messaging.backends import OutboundSms, PermanentProviderError, ProviderError, SendOutcome, TransientProviderError
from messaging.models import Channel, PendingReceipt, Recipient, RecipientEvent, RecipientState
from messaging.personalise import member_values, render
from messaging.text import text_layout

from . import quotas
from .providers import routing
from .providers.routing import Route
from .quiet_hours import quiet_hours_opening
from .receipts import pending_receipts_match, provider_ref_of
from .states import recipients_transition
from .voice import recipients_fall_back_to_voice

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 600
MAX_ATTEMPTS = 12
# Error codes that say the provider itself is unreachable, not that one message failed.
PROVIDER_DOWN_CODES = frozenset({"connect", "bind", "bind_unavailable", "auth", "unavailable"})


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
    # By primary key: lease_token has no index, and a scan for it grows with the table.
    return list(
        Recipient.objects.filter(id__in=ids, lease_token=token)
        .select_related("member")
        .prefetch_related("message__request__api_key")
        .order_by("-priority", "id")
    )


def recipients_expire_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(_due(now).filter(expires_at__isnull=False, expires_at__lte=now).values_list("id", flat=True)[:20000])
    return recipients_transition(
        recipient_ids=ids, to_state=RecipientState.EXPIRED, at=now, detail="expired before sending"
    )


def recipients_render(recipients: list[Recipient]) -> None:
    """Personalise the rows whose text is rendered at send time (a segment message's): what is
    checked against SMS_MAX_RENDERED_CHARS, throttled and sent is that text, and it is stored on
    the row, so that the key's parts used today count it from now on."""
    rendered = []
    for recipient in recipients:
        message = recipient.message
        if message.personalised and not recipient.content:
            values = member_values(recipient.member) if recipient.member else {"mobile": recipient.phone}
            recipient.content = render(message.content, values)
            if recipient.content and not quotas.rendered_too_long(recipient.content):
                rendered.append(recipient)  # one too long is rejected, not stored
    if not rendered:
        return
    table = connection.ops.quote_name(Recipient._meta.db_table)
    # The texts and their growth of the key's parts of the day in one transaction: a request's
    # exact count that sees the texts sees the growth booked too.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::bigint, %s)"] * len(rendered))
            cursor.execute(
                f"UPDATE {table} AS r SET content = v.content FROM (VALUES {values}) AS v(id, content) "
                "WHERE r.id = v.id AND r.content = ''",
                [value for recipient in rendered for value in (recipient.pk, recipient.content)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET content = %s WHERE id = %s AND content = ''",
                [(recipient.content, recipient.pk) for recipient in rendered],
            )
        # A text that takes more parts than its template grows the key's count of the day.
        quotas.usage_grow(
            (
                recipient.message.request.api_key_id,
                recipient.message.request.created_at,
                quotas.stored_text_parts(recipient.content) - recipient.message.parts,
            )
            for recipient in rendered
        )


def outbound_for(recipient: Recipient, *, sender: str = "") -> OutboundSms:
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
        sender=sender or settings.SMS_DEFAULT_SENDER,
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
            recipient.provider_message_id = outcome.provider_message_id[:100]
            recipient.provider_ref = provider_ref_of(outcome.provider_message_id)[:100]
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
                    provider_message_id=outcome.provider_message_id[:100],
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
            # A timeout after the request left: the provider may have it. Recorded, then sent again.
            recipient.outcome_unknown = recipient.outcome_unknown or bool(
                getattr(outcome.error, "outcome_unknown", False)
            )
            retried.append(recipient)
    with transaction.atomic():
        for recipient in submitted + retried:
            recipient.updated_at = now
        token_rows = Recipient.objects.filter(state=RecipientState.INITIAL, lease_token=token)
        if submitted:
            _submitted_record(recipients=submitted, token=token, provider=provider, now=now)
            RecipientEvent.objects.bulk_create(events, batch_size=1000)
        if retried:
            token_rows.bulk_update(
                retried,
                [
                    "due_at",
                    "lease_token",
                    "lease_until",
                    "error_code",
                    "error",
                    "provider",
                    "outcome_unknown",
                    "updated_at",
                ],
                batch_size=1000,
            )
    rejected_ids = []
    for recipient, error in rejected:
        rejected_ids += [recipient.pk] * recipients_transition(
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
    if rejected_ids:
        recipients_fall_back_to_voice(recipient_ids=rejected_ids)
    if submitted and PendingReceipt.objects.exists():
        pending_receipts_match(provider_refs=[recipient.provider_ref for recipient in submitted])
    report.submitted = len(submitted)
    report.rejected = len(rejected)
    report.retried = len(retried)
    report.expired = len(expired)
    return report


def _submitted_record(*, recipients: list[Recipient], token, provider: str, now: datetime) -> None:
    """Submitted rows in two statements: their provider ids (a VALUES join on PostgreSQL), then
    what they share. bulk_update's CASE per row and field took seconds for a batch of 500."""
    table = connection.ops.quote_name(Recipient._meta.db_table)
    ids = [(r.pk, r.provider_message_id, r.provider_ref) for r in recipients]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::bigint, %s, %s)"] * len(ids))
            cursor.execute(
                f"UPDATE {table} AS r SET provider_message_id = v.mid, provider_ref = v.ref "
                f"FROM (VALUES {values}) AS v(id, mid, ref) "
                "WHERE r.id = v.id AND r.state = %s AND r.lease_token = %s",
                [value for row in ids for value in row] + [RecipientState.INITIAL, token],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET provider_message_id = %s, provider_ref = %s "
                "WHERE id = %s AND state = %s AND lease_token = %s",
                [(mid, ref, pk, RecipientState.INITIAL, token.hex) for pk, mid, ref in ids],
            )
    Recipient.objects.filter(pk__in=[r.pk for r in recipients], state=RecipientState.INITIAL, lease_token=token).update(
        state=RecipientState.SUBMITTED,
        provider=provider,
        submitted_at=now,
        lease_token=None,
        lease_until=None,
        error_code="",
        error="",
        updated_at=now,
    )


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


def recipient_parts(recipient: Recipient) -> int:
    if recipient.content and recipient.content != recipient.message.content:
        return text_layout(recipient.content).parts
    return recipient.message.parts or 1


THROTTLE_MAX_WAIT_SECONDS = 10.0


def _throttle(route: Route, parts: int) -> None:
    """Wait for the provider's parts-per-second budget, shared by every worker; raises
    ThrottleBusy when the wait would be longer than THROTTLE_MAX_WAIT_SECONDS."""
    if route.throughput <= 0 or route.provider_id is None:
        return
    throttle.throttle_take(provider=route.name, rate=route.throughput, parts=parts, max_wait=THROTTLE_MAX_WAIT_SECONDS)


def recipients_give_back(*, recipients: list[Recipient], due_at: datetime) -> int:
    """Release claimed rows unsent, due again at `due_at`, the attempt not counted."""
    if not recipients:
        return 0
    return Recipient.objects.filter(
        id__in=[r.pk for r in recipients], state=RecipientState.INITIAL, lease_token=recipients[0].lease_token
    ).update(due_at=due_at, lease_token=None, lease_until=None, attempts=F("attempts") - 1, updated_at=timezone.now())


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
