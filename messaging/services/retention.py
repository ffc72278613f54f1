"""Retention: old, finished requests leave the database, a bounded batch at a time.

A request is purged whole once every recipient of it is in a final state and its last activity
(a recipient's last update or final time) is older than the cutoff, and none of its messages is
still expanding. A request with one recipient still initial or submitted stays whole: nothing of
it is touched. Requests are walked oldest first by their creation time (indexed); each
transaction deletes at most SMS_RETENTION_BATCH recipient rows with their events and is followed
by a pause (SMS_RETENTION_PAUSE_SECONDS), so no lock is held long and intake goes on beside it.
A purged request id answers 404 like one that never existed.

Pending receipts (receipts that matched no recipient) older than the cutoff leave with them.
SMS_RETENTION_DAYS (0 keeps everything) sets the cutoff for the daily beat task; the
`purge_sms` command takes any age.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from messaging.models import FINAL_STATES, PendingReceipt, Recipient, RecipientEvent, SmsMessage, SmsRequest

# Requests examined in one round (recipient rows per transaction: SMS_RETENTION_BATCH).
PURGE_ROUND_REQUESTS = 200
# One purge at a time on PostgreSQL (a session advisory lock): a second one returns at once.
PURGE_LOCK = 0x736D7370  # "smsp"


@dataclass
class PurgeReport:
    requests: int = 0
    messages: int = 0
    recipients: int = 0
    events: int = 0
    pending_receipts: int = 0
    examined: int = 0
    kept: int = 0
    transactions: int = 0
    busy: bool = False
    dry_run: bool = False

    def summary(self) -> str:
        if self.busy:
            return "Another purge is running; nothing done."
        verb = "Would delete" if self.dry_run else "Deleted"
        return (
            f"{verb} {self.requests} requests, {self.messages} messages, {self.recipients} recipients, "
            f"{self.events} events and {self.pending_receipts} pending receipts; "
            f"{self.kept} old requests kept (not final or active since the cutoff)."
        )


class RetentionTooShort(ValueError):
    """A cutoff inside the idempotency window: a replayed request would be accepted again."""


def retention_cutoff(*, age: timedelta, now: datetime | None = None) -> datetime:
    window = timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
    if age < window:
        raise RetentionTooShort(
            f"Keep at least the idempotency window ({settings.IDEMPOTENCY_WINDOW_HOURS} hours): "
            "a partner's retry of a purged request would be accepted as new."
        )
    return (now or timezone.now()) - age


def _recent_or_open(cutoff: datetime):
    """Recipients that keep their request: not final, or active at or after the cutoff."""
    return Recipient.objects.annotate(activity=Greatest("updated_at", Coalesce("final_at", "updated_at"))).filter(
        ~Q(state__in=FINAL_STATES) | Q(activity__gte=cutoff)
    )


def _old_requests(cutoff: datetime, after: tuple[datetime, int] | None, limit: int) -> list[tuple[int, datetime, bool]]:
    """The next `limit` requests created before the cutoff, oldest first: (id, created_at, purgeable)."""
    rows = SmsRequest.objects.filter(created_at__lt=cutoff)
    if after is not None:
        # The plain bound lets the created_at index start where the last round stopped.
        rows = rows.filter(created_at__gte=after[0]).filter(Q(created_at__gt=after[0]) | Q(id__gt=after[1]))
    expanding = SmsMessage.objects.filter(request_id=OuterRef("pk"), expansion_done=False)
    keeping = _recent_or_open(cutoff).filter(message__request_id=OuterRef("pk"))
    rows = rows.annotate(held=Exists(expanding) | Exists(keeping)).order_by("created_at", "id")
    return [(pk, created, not held) for pk, created, held in rows.values_list("id", "created_at", "held")[:limit]]


def _raw_delete(queryset) -> int:
    return queryset._raw_delete(queryset.db)


def _recipients_delete_batch(*, message_ids: list[int], cutoff: datetime, batch: int) -> tuple[int, int]:
    """One transaction: up to `batch` final, old recipients of these messages and their events.
    Returns (recipients, events) deleted.

    No row lock before the DELETE (it would write every tuple twice): a final row never changes
    state again, and the DELETE checks the state once more under its own lock."""
    if connection.vendor == "postgresql":
        return _recipients_delete_batch_pg(message_ids=message_ids, cutoff=cutoff, batch=batch)
    with transaction.atomic():
        candidates = list(
            Recipient.objects.filter(message_id__in=message_ids, state__in=FINAL_STATES)
            .annotate(activity=Greatest("updated_at", Coalesce("final_at", "updated_at")))
            .filter(activity__lt=cutoff)
            .values_list("id", flat=True)[:batch]
        )
        if not candidates:
            return 0, 0
        table = connection.ops.quote_name(Recipient._meta.db_table)
        states = sorted(FINAL_STATES)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(candidates))}) "  # noqa: S608
                f"AND state IN ({', '.join(['%s'] * len(states))}) RETURNING id",
                [*candidates, *states],
            )
            ids = [row[0] for row in cursor.fetchall()]
        # A later attempt that stays (a resend queued while the purge ran) loses its link only.
        Recipient.objects.filter(resend_of_id__in=ids).update(resend_of=None)
        events = _raw_delete(RecipientEvent.objects.filter(recipient_id__in=ids))
    return len(ids), events


def _batch_delete_sql() -> str:
    """_recipients_delete_batch's work on PostgreSQL as one statement, its lists as arrays: the
    candidates, the DELETE that checks their state once more, the links of later attempts that
    stay cleared, and the deleted rows' events; returns (recipients, events). Built from the
    models' tables, so that a renamed table cannot leave it behind."""
    qn = connection.ops.quote_name
    recipients, events = qn(Recipient._meta.db_table), qn(RecipientEvent._meta.db_table)
    return (
        f"WITH candidate AS (SELECT id FROM {recipients} WHERE message_id = ANY(%(messages)s) "
        "AND state = ANY(%(states)s) AND GREATEST(updated_at, COALESCE(final_at, updated_at)) < %(cutoff)s "
        "LIMIT %(batch)s), "
        f"gone AS (DELETE FROM {recipients} WHERE id IN (SELECT id FROM candidate) AND state = ANY(%(states)s) "
        "RETURNING id), "
        f"unlinked AS (UPDATE {recipients} SET resend_of_id = NULL WHERE resend_of_id IN (SELECT id FROM gone) "
        "AND id NOT IN (SELECT id FROM gone)), "
        f"gone_events AS (DELETE FROM {events} WHERE recipient_id IN (SELECT id FROM gone) RETURNING 1) "
        "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM gone_events)"
    )


def _recipients_delete_batch_pg(*, message_ids: list[int], cutoff: datetime, batch: int) -> tuple[int, int]:
    """One statement (and transaction) on PostgreSQL: a 2,000-element IN list, built by the ORM
    three times a batch and parsed by the server each time, cost more than the deletes beside
    intake. A purge lost in a crash is done again by the next; its commit need not wait for the
    disk."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        params: dict[str, Any] = {
            "messages": list(message_ids),
            "states": sorted(FINAL_STATES),
            "cutoff": cutoff,
            "batch": batch,
        }
        cursor.execute(_batch_delete_sql(), params)
        recipients, events = cursor.fetchone()
    return int(recipients), int(events)


def _requests_delete_emptied(request_ids: list[int]) -> tuple[int, int]:
    """One transaction: the messages left with no recipient, then the requests left with no message."""
    with transaction.atomic():
        messages = _raw_delete(
            SmsMessage.objects.filter(request_id__in=request_ids, expansion_done=True).exclude(
                Exists(Recipient.objects.filter(message_id=OuterRef("pk")))
            )
        )
        requests = _raw_delete(
            SmsRequest.objects.filter(id__in=request_ids).exclude(
                Exists(SmsMessage.objects.filter(request_id=OuterRef("pk")))
            )
        )
    return requests, messages


def _pending_receipts_delete(*, cutoff: datetime, batch: int, dry_run: bool, report: PurgeReport) -> None:
    old = PendingReceipt.objects.filter(received_at__lt=cutoff)
    if dry_run:
        report.pending_receipts = old.count()
        return
    while True:
        with transaction.atomic():
            ids = list(old.values_list("id", flat=True)[:batch])
            deleted = _raw_delete(PendingReceipt.objects.filter(id__in=ids)) if ids else 0
        report.transactions += 1
        report.pending_receipts += deleted
        if len(ids) < batch:
            return


class _PurgeLock:
    """A PostgreSQL session advisory lock, so that the beat task and a command never overlap."""

    def __enter__(self) -> bool:
        self.held = True
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [PURGE_LOCK])
                self.held = cursor.fetchone()[0]
        return self.held

    def __exit__(self, *exc):
        if self.held and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PURGE_LOCK])


def sms_purge(
    *,
    cutoff: datetime,
    dry_run: bool = False,
    batch: int | None = None,
    round_requests: int = PURGE_ROUND_REQUESTS,
    pause: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> PurgeReport:
    """Delete (or, dry, count) every final request whose last activity is before `cutoff`.

    Sleeps `pause` seconds (SMS_RETENTION_PAUSE_SECONDS) after each transaction, leaving the
    database to intake and dispatch. `on_progress(requests_examined, recipients_deleted)` is
    called after each round."""
    pause = settings.SMS_RETENTION_PAUSE_SECONDS if pause is None else pause
    batch = batch or settings.SMS_RETENTION_BATCH
    report = PurgeReport(dry_run=dry_run)
    with _PurgeLock() as held:
        if not held:
            report.busy = True
            return report
        after = None
        while True:
            rows = _old_requests(cutoff, after, round_requests)
            if not rows:
                break
            after = (rows[-1][1], rows[-1][0])
            purgeable = [pk for pk, _, ok in rows if ok]
            report.examined += len(rows)
            report.kept += len(rows) - len(purgeable)
            recipients_before = report.recipients
            if purgeable:
                _round_purge(
                    request_ids=purgeable, cutoff=cutoff, batch=batch, pause=pause, dry_run=dry_run, report=report
                )
            if on_progress:
                on_progress(len(rows), report.recipients - recipients_before)
        _pending_receipts_delete(cutoff=cutoff, batch=batch, dry_run=dry_run, report=report)
    return report


def _round_purge(
    *, request_ids: list[int], cutoff: datetime, batch: int, pause: float, dry_run: bool, report: PurgeReport
) -> None:
    message_ids = list(SmsMessage.objects.filter(request_id__in=request_ids).values_list("id", flat=True))
    if dry_run:
        report.requests += len(request_ids)
        report.messages += len(message_ids)
        report.recipients += Recipient.objects.filter(message_id__in=message_ids).count()
        report.events += RecipientEvent.objects.filter(recipient__message_id__in=message_ids).count()
        return
    while message_ids:
        recipients, events = _recipients_delete_batch(message_ids=message_ids, cutoff=cutoff, batch=batch)
        report.transactions += 1
        report.recipients += recipients
        report.events += events
        if pause:
            time.sleep(pause)
        if recipients < batch:
            break
    requests, messages = _requests_delete_emptied(request_ids)
    report.transactions += 1
    report.requests += requests
    report.messages += messages
    if pause:
        time.sleep(pause)


def sms_purge_expired() -> PurgeReport:
    """The daily run: purge what is older than SMS_RETENTION_DAYS; nothing when it is 0."""
    days = settings.SMS_RETENTION_DAYS
    if days <= 0:
        return PurgeReport()
    return sms_purge(cutoff=retention_cutoff(age=timedelta(days=days)))
