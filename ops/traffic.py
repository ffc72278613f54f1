"""Per-minute traffic buckets: the dashboard and /metrics read these, never the recipient table.

A periodic task folds the rows added since its watermark into `ops.TrafficMinute`:
recipient events by (minute, provider, state) with their message parts and latencies, and new
recipient rows as `initial` (queued). Both tables are read by primary-key range, so a run costs
what was added since the last one, whatever the size of the tables.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Max, Sum, When
from django.db.models.functions import TruncMinute
from django.utils import timezone

from messaging.models import Recipient, RecipientEvent, RecipientState
from ops.models import TrafficHour, TrafficMinute, TrafficTotal, TrafficWatermark

BATCH_ROWS = 200_000
RETENTION = timedelta(days=35)

RECEIPT_STATES = [RecipientState.DELIVERED, RecipientState.UNDELIVERED]


@dataclass
class AggregationReport:
    events: int = 0
    queued: int = 0
    buckets: int = 0


def _event_rows(low: int, high: int):
    latency = Case(
        When(state=RecipientState.SUBMITTED, then=F("at") - F("recipient__due_at")),
        When(
            state__in=RECEIPT_STATES, recipient__submitted_at__isnull=False, then=F("at") - F("recipient__submitted_at")
        ),
        default=None,
        output_field=DurationField(),
    )
    return (
        RecipientEvent.objects.filter(id__gt=low, id__lte=high)
        .exclude(state=RecipientState.INITIAL)  # a resend's first event: its row is counted as queued
        .annotate(minute=TruncMinute("at"), provider_name=F("recipient__provider"))
        .values("minute", "provider_name", "state")
        .annotate(
            messages=Count("id"),
            parts=Sum("recipient__message__parts"),
            latency=Sum(ExpressionWrapper(latency, output_field=DurationField())),
        )
        .order_by()
    )


def _queued_rows(low: int, high: int):
    return (
        Recipient.objects.filter(id__gt=low, id__lte=high)
        .annotate(minute=TruncMinute("created_at"))
        .values("minute")
        .annotate(messages=Count("id"), parts=Sum("message__parts"))
        .order_by()
    )


def _fold(totals: dict[tuple[datetime, str, str], list], *, minute, provider, state, messages, parts, latency):
    entry = totals.setdefault((minute, provider or "", state), [0, 0, 0.0])
    entry[0] += messages or 0
    entry[1] += parts or 0
    if latency is not None:
        entry[2] += max(latency.total_seconds(), 0.0) if isinstance(latency, timedelta) else float(latency) / 1e6


def _store_buckets(model, field: str, totals: dict[tuple[datetime, str, str], list]) -> int:
    if not totals:
        return 0
    starts = {key[0] for key in totals}
    existing = {
        (getattr(bucket, field), bucket.provider, bucket.state): bucket
        for bucket in model.objects.select_for_update().filter(**{f"{field}__in": starts})
    }
    changed, added = [], []
    for key, (messages, parts, latency) in totals.items():
        bucket = existing.get(key)
        if bucket is None:
            added.append(
                model(
                    **{field: key[0]},
                    provider=key[1],
                    state=key[2],
                    messages=messages,
                    parts=parts,
                    latency_seconds=latency,
                )
            )
        else:
            bucket.messages += messages
            bucket.parts += parts
            bucket.latency_seconds += latency
            changed.append(bucket)
    model.objects.bulk_create(added, batch_size=1000)
    model.objects.bulk_update(changed, ["messages", "parts", "latency_seconds"], batch_size=1000)
    return len(added) + len(changed)


def _store(totals: dict[tuple[datetime, str, str], list]) -> int:
    hours: dict[tuple[datetime, str, str], list] = {}
    for (minute, provider, state), (messages, parts, latency) in totals.items():
        entry = hours.setdefault((minute.replace(minute=0), provider, state), [0, 0, 0.0])
        entry[0] += messages
        entry[1] += parts
        entry[2] += latency
    stored = _store_buckets(TrafficMinute, "minute", totals)
    _store_buckets(TrafficHour, "hour", hours)
    _store_totals(totals)
    return stored


def _store_totals(totals: dict[tuple[datetime, str, str], list]) -> None:
    sums: dict[tuple[str, str], list] = {}
    for (_, provider, state), (messages, parts, latency) in totals.items():
        entry = sums.setdefault((provider, state), [0, 0, 0.0])
        entry[0] += messages
        entry[1] += parts
        entry[2] += latency
    for (provider, state), (messages, parts, latency) in sums.items():
        total = TrafficTotal.objects.select_for_update().filter(provider=provider, state=state).first()
        if total is None:
            TrafficTotal.objects.create(
                provider=provider, state=state, messages=messages, parts=parts, latency_seconds=latency
            )
        else:
            total.messages += messages
            total.parts += parts
            total.latency_seconds += latency
            total.save(update_fields=["messages", "parts", "latency_seconds"])


def _advance(source: str, model, *, settle: bool, batch_rows: int) -> tuple[int, int] | None:
    """Lock the source's watermark; returns the id range (low, high] to read now, or None."""
    TrafficWatermark.objects.get_or_create(source=source)
    mark = TrafficWatermark.objects.select_for_update().get(source=source)
    newest = model.objects.aggregate(top=Max("id"))["top"] or 0
    ceiling = newest if not settle else mark.seen_id
    high = min(ceiling, mark.done_id + batch_rows)
    low = mark.done_id
    mark.seen_id = max(mark.seen_id, newest)
    if high > low:
        mark.done_id = high
    mark.save(update_fields=["seen_id", "done_id", "updated_at"])
    return (low, high) if high > low else None


def traffic_aggregate(*, settle: bool = True, batch_rows: int = BATCH_ROWS) -> AggregationReport:
    """Fold new recipient events and new recipient rows into the minute buckets.

    With `settle` (the periodic task), only rows up to the highest id seen on the previous run
    are read, so a row whose transaction was still open then is not skipped; without it (by
    hand, in tests) everything committed now is read.
    """
    report = AggregationReport()
    with transaction.atomic():
        totals: dict[tuple[datetime, str, str], list] = {}
        span = _advance("events", RecipientEvent, settle=settle, batch_rows=batch_rows)
        if span:
            for row in _event_rows(*span):
                _fold(
                    totals,
                    minute=row["minute"],
                    provider=row["provider_name"],
                    state=row["state"],
                    messages=row["messages"],
                    parts=row["parts"],
                    latency=row["latency"],
                )
                report.events += row["messages"]
        span = _advance("queued", Recipient, settle=settle, batch_rows=batch_rows)
        if span:
            for row in _queued_rows(*span):
                _fold(
                    totals,
                    minute=row["minute"],
                    provider="",
                    state=RecipientState.INITIAL,
                    messages=row["messages"],
                    parts=row["parts"],
                    latency=None,
                )
                report.queued += row["messages"]
        report.buckets = _store(totals)
    return report


def traffic_prune(*, now: datetime | None = None) -> int:
    """Drop buckets older than the retention; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = TrafficMinute.objects.filter(minute__lt=cutoff).delete()
    TrafficHour.objects.filter(hour__lt=cutoff).delete()
    return deleted
