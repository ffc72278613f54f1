"""Taking due recipients off the queue in batches and handing them to the provider.

A batch is claimed by one statement (FOR UPDATE SKIP LOCKED on PostgreSQL) that sets a lease.
The lease is the record that a submit may be under way: a row whose lease ran out while still
`initial` had an outcome nobody learned, so it is marked `outcome_unknown` when taken again.
"""

import logging
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

from . import providers, quotas
from .providers import Route
from .quiet_hours import quiet_hours_opening
from .receipts import pending_receipts_match
from .states import recipients_transition
from .submit_outcomes import (
    MAX_ATTEMPTS,
    RETRY_BASE_SECONDS,
    RETRY_CAP_SECONDS,
    Retry,
    Submitted,
    Verdicts,
    outcomes_classify,
    retry_delay,
)
from .voice import recipients_fall_back_to_voice

__all__ = ["MAX_ATTEMPTS", "RETRY_BASE_SECONDS", "RETRY_CAP_SECONDS", "retry_delay"]

logger = logging.getLogger(__name__)

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


def outcomes_record(*, claimed: list[Recipient], outcomes: list[SendOutcome], provider: str) -> DispatchReport:
    """Classify the outcomes of `claimed` (rows of one lease) and write them. A row with no
    outcome is left leased: the lease runs out and the row is retried as outcome unknown."""
    now = timezone.now()
    verdicts = outcomes_classify(claimed=claimed, outcomes=outcomes, now=now)
    token = claimed[0].lease_token if claimed else None
    if verdicts.submitted or verdicts.retried:
        with transaction.atomic():
            if verdicts.submitted:
                _submitted_record(submitted=verdicts.submitted, token=token, provider=provider, now=now)
            if verdicts.retried:
                _retried_record(retried=verdicts.retried, token=token, provider=provider, now=now)
    rejected_ids = _finals_record(verdicts, now=now)
    if rejected_ids:
        recipients_fall_back_to_voice(recipient_ids=rejected_ids)
    if verdicts.submitted and PendingReceipt.objects.exists():
        pending_receipts_match(provider_refs=[row.provider_ref for row in verdicts.submitted])
    return DispatchReport(
        submitted=len(verdicts.submitted),
        rejected=len(verdicts.rejected),
        retried=len(verdicts.retried),
        expired=len(verdicts.expired),
    )


def _submitted_record(*, submitted: list[Submitted], token, provider: str, now: datetime) -> None:
    """`initial` → `submitted` for a whole batch in one statement (only rows still `initial`
    under this batch's lease move). bulk_update's CASE per row and field took seconds for 500."""
    _leased_rows_update(
        columns=("provider_message_id", "provider_ref"),
        rows=[(row.recipient_id, row.provider_message_id, row.provider_ref) for row in submitted],
        shared={
            "state": RecipientState.SUBMITTED,
            "provider": provider,
            "submitted_at": now,
            "lease_token": None,
            "lease_until": None,
            "error_code": "",
            "error": "",
            "updated_at": now,
        },
        states=[RecipientState.INITIAL],
        token=token,
    )
    RecipientEvent.objects.bulk_create(
        (
            RecipientEvent(
                recipient_id=row.recipient_id,
                state=RecipientState.SUBMITTED,
                at=now,
                provider_message_id=row.provider_message_id,
            )
            for row in submitted
        ),
        batch_size=1000,
    )


def _retried_record(*, retried: list[Retry], token, provider: str, now: datetime) -> None:
    """Due again at their backoff, the lease released; they stay `initial` (no change of state)."""
    _leased_rows_update(
        columns=("due_at", "error_code", "error", "outcome_unknown"),
        rows=[(row.recipient_id, row.due_at, row.error_code, row.error, row.outcome_unknown) for row in retried],
        shared={"lease_token": None, "lease_until": None, "provider": provider, "updated_at": now},
        states=[RecipientState.INITIAL],
        token=token,
    )


def _finals_record(verdicts: Verdicts, *, now: datetime) -> list[int]:
    """Rejected, then expired rows, each with its own error; returns the rejected rows that moved."""
    rejected_ids = []
    for row in verdicts.rejected:
        moved = recipients_transition(
            recipient_ids=[row.recipient_id],
            to_state=RecipientState.REJECTED,
            at=now,
            error_code=row.error_code,
            detail=row.detail,
        )
        rejected_ids += [row.recipient_id] * moved
    for row in verdicts.expired:
        recipients_transition(
            recipient_ids=[row.recipient_id],
            to_state=RecipientState.EXPIRED,
            at=now,
            error_code=row.error_code,
            detail=row.detail,
        )
    return rejected_ids


def _leased_rows_update(*, columns: tuple[str, ...], rows: list[tuple], shared: dict, states: list[str], token) -> None:
    """One UPDATE of the rows of one lease that are still in `states`: each row's own values of
    `columns` (`rows` holds the id, then those values) and the values `shared` by every row.
    PostgreSQL joins a VALUES list; SQLite runs the statement once per row. Values are prepared
    by their model fields, as the ORM would."""
    meta, quote = Recipient._meta, connection.ops.quote_name
    own = [meta.get_field(name) for name in columns]
    common = [meta.get_field(name) for name in shared]
    shared_params = [meta.get_field(name).get_db_prep_value(value, connection) for name, value in shared.items()]
    guard = f"state IN ({', '.join(['%s'] * len(states))}) AND lease_token = %s"
    guard_params = [*states, meta.get_field("lease_token").get_db_prep_value(token, connection)]
    prepared = [
        (pk, *(field.get_db_prep_value(value, connection) for field, value in zip(own, values, strict=True)))
        for pk, *values in rows
    ]
    table = quote(meta.db_table)
    common_sets = [f"{quote(field.column)} = %s" for field in common]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            row_marks = ", ".join(["%s::bigint", *(f"%s::{field.db_type(connection)}" for field in own)])
            own_sets = [f"{quote(field.column)} = v.{quote(field.column)}" for field in own]
            cursor.execute(
                f"UPDATE {table} AS r SET {', '.join(own_sets + common_sets)} "
                f"FROM (VALUES {', '.join([f'({row_marks})'] * len(prepared))}) "
                f"AS v(id, {', '.join(quote(field.column) for field in own)}) "
                f"WHERE r.id = v.id AND {guard}",
                [*shared_params, *(value for row in prepared for value in row), *guard_params],
            )
        else:
            own_sets = [f"{quote(field.column)} = %s" for field in own]
            cursor.executemany(
                f"UPDATE {table} SET {', '.join(own_sets + common_sets)} WHERE id = %s AND {guard}",
                [[*values, *shared_params, pk, *guard_params] for pk, *values in prepared],
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
                providers.provider_circuit_open(name=route.name)
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
            providers.provider_circuit_open(name=route.name)
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
    routes = providers.routes_active()
    live = [route for route in routes if not providers.provider_circuit_is_open(name=route.name)]
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
