"""What the console reads: the dashboard, the queue gauges of /metrics and the providers that
sent. Every query here is an indexed range or a bounded look, never a count over the recipient
table."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max, Q, Sum
from django.utils import timezone

from messaging.models import Provider, Recipient, RecipientState, SmsMessage
from messaging.providers.registry import PROVIDER_KINDS
from messaging.services.providers.links import provider_links_last
from ops.health import provider_check_last
from ops.models import TrafficHour, TrafficMinute, TrafficTotal

WINDOWS = (("hour", timedelta(hours=1)), ("day", timedelta(days=1)), ("week", timedelta(days=7)))
STATE_ORDER = [
    RecipientState.INITIAL,
    RecipientState.SUBMITTED,
    RecipientState.DELIVERED,
    RecipientState.UNDELIVERED,
    RecipientState.REJECTED,
    RecipientState.EXPIRED,
    RecipientState.CANCELLED,
    RecipientState.NOT_ATTEMPTED,
]
QUEUE_DEPTH_CAP = 100_000
RATE_MINUTES = 5


@dataclass
class ProviderRow:
    name: str
    kind: str = ""
    state: str = ""
    parts_per_second: float = 0.0
    last_seen: datetime | None = None


@dataclass
class Dashboard:
    now: datetime
    counts: list[dict] = field(default_factory=list)  # one per state: {"state", "hour", "day", "week"}
    series: dict[str, list[int]] = field(default_factory=dict)  # provider -> parts per minute, 1440 values
    series_start: datetime | None = None
    oldest_waiting: timedelta | None = None
    queue_depth: int = 0
    queue_depth_capped: bool = False
    expanding: list[SmsMessage] = field(default_factory=list)
    providers: list[ProviderRow] = field(default_factory=list)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def traffic_state_counts(*, now: datetime) -> list[dict]:
    """Recipients that reached each state within the last hour (by the minute), day and week
    (by the hour, the current one included), `initial` meaning queued."""
    minute = _minute(now)
    hour = minute.replace(minute=0)
    totals = {state: {name: 0 for name, _ in WINDOWS} for state in STATE_ORDER}
    last_hour = TrafficMinute.objects.filter(minute__gt=minute - timedelta(hours=1)).values("state")
    for row in last_hour.annotate(n=Sum("messages")).order_by():
        totals.setdefault(row["state"], {name: 0 for name, _ in WINDOWS})["hour"] = row["n"] or 0
    sums = {
        "day": Sum("messages", filter=Q(hour__gt=hour - timedelta(days=1))),
        "week": Sum("messages"),
    }
    for row in (
        TrafficHour.objects.filter(hour__gt=hour - timedelta(days=7)).values("state").annotate(**sums).order_by()
    ):
        entry = totals.setdefault(row["state"], {name: 0 for name, _ in WINDOWS})
        entry["day"], entry["week"] = row["day"] or 0, row["week"] or 0
    return [{"state": state, **counts} for state, counts in totals.items()]


def traffic_parts_series(*, now: datetime, minutes: int = 1440) -> tuple[datetime, dict[str, list[int]]]:
    """Message parts submitted per minute per provider over the last `minutes`."""
    end = _minute(now)
    start = end - timedelta(minutes=minutes - 1)
    series: dict[str, list[int]] = {}
    rows = TrafficMinute.objects.filter(minute__gte=start, minute__lte=end, state=RecipientState.SUBMITTED).values_list(
        "minute", "provider", "parts"
    )
    for minute, provider, parts in rows:
        index = int((minute - start).total_seconds() // 60)
        if 0 <= index < minutes:
            series.setdefault(provider or "unknown", [0] * minutes)[index] += parts
    return start, dict(sorted(series.items()))


def queue_oldest_waiting(*, now: datetime) -> timedelta | None:
    """How long the longest-waiting due recipient has waited (one probe per priority lane, each
    an ordered walk of the queue's partial index)."""
    oldest = None
    for priority in (True, False):
        due_at = (
            Recipient.objects.filter(state=RecipientState.INITIAL, priority=priority, due_at__lte=now)
            .order_by("due_at")
            .values_list("due_at", flat=True)
            .first()
        )
        if due_at is not None and (oldest is None or due_at < oldest):
            oldest = due_at
    return None if oldest is None else now - oldest


def queue_depth(*, cap: int = QUEUE_DEPTH_CAP) -> tuple[int, bool]:
    """Recipients waiting to be sent, counted up to `cap`; (count, whether the cap was hit)."""
    depth = Recipient.objects.filter(state=RecipientState.INITIAL).order_by()[:cap].count()
    return depth, depth >= cap


def messages_expanding(*, limit: int = 20) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(expansion_done=False).order_by("created_at")[:limit])


def providers_overview(*, now: datetime) -> list[ProviderRow]:
    """Configured providers and any that sent lately, with parts/s over the last few minutes."""
    since = _minute(now) - timedelta(minutes=RATE_MINUTES)
    recent = {
        row["provider"]: row
        for row in TrafficMinute.objects.filter(
            minute__gte=since, minute__lt=_minute(now), state=RecipientState.SUBMITTED
        )
        .values("provider")
        .annotate(parts=Sum("parts"), last=Max("minute"))
        .order_by()
    }
    rows = []
    for provider in Provider.objects.all():
        rows.append(ProviderRow(name=provider.name, kind=provider.get_kind_display(), state=provider_state(provider)))
    known = {row.name for row in rows}
    day_ago = _minute(now) - timedelta(days=1)
    seen = (
        TrafficMinute.objects.filter(minute__gte=day_ago, state=RecipientState.SUBMITTED)
        .exclude(provider="")
        .values("provider")
        .annotate(last=Max("minute"))
        .order_by()
    )
    last_seen = {row["provider"]: row["last"] for row in seen}
    for name in sorted(set(last_seen) - known):
        rows.append(ProviderRow(name=name, kind="backend", state="sending"))
    for row in rows:
        parts = (recent.get(row.name) or {}).get("parts") or 0
        row.parts_per_second = round(parts / (RATE_MINUTES * 60), 2)
        row.last_seen = last_seen.get(row.name)
    return rows


def provider_state(provider: Provider) -> str:
    """The provider's link as far as the console knows without dialling it: disabled, or the
    kind of link its descriptor names (an SMPP bind or HTTP requests), the binds the worker
    processes report as up for a kind that reports them, and the result of the last readiness
    check."""
    if not provider.enabled:
        return "disabled"
    descriptor = PROVIDER_KINDS.get(provider.kind)
    state = f"enabled, {descriptor.link_label(provider.properties) if descriptor else 'HTTP'}"
    if descriptor is not None and descriptor.reports_links:
        links = provider_links_last(provider.name)
        if links is None:
            state += "; no worker reports a bind"
        else:
            processes = "process" if links["processes"] == 1 else "processes"
            state += (
                f"; {links['alive']} of {links['total']} binds up in {links['processes']} worker {processes}"
                f" ({links['age']:.0f} s ago)"
            )
    last = provider_check_last(provider.name)
    if last:
        verdict = "reachable" if last.get("ok") else f"unreachable ({last.get('detail', '')})"
        state += f"; {verdict} at {str(last.get('at', ''))[11:19]} UTC"
    return state


def console_dashboard(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    start, series = traffic_parts_series(now=now)
    depth, capped = queue_depth()
    return Dashboard(
        now=now,
        counts=traffic_state_counts(now=now),
        series=series,
        series_start=start,
        oldest_waiting=queue_oldest_waiting(now=now),
        queue_depth=depth,
        queue_depth_capped=capped,
        expanding=messages_expanding(),
        providers=providers_overview(now=now),
    )


def traffic_provider_names() -> list[str]:
    """The providers that ever sent, from the traffic totals (never a DISTINCT scan of recipients)."""
    return list(TrafficTotal.objects.exclude(provider="").values_list("provider", flat=True))
