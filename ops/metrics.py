"""Prometheus metrics. The recipient counters come from the traffic totals that the periodic
aggregation keeps, the queue gauges from bounded, indexed looks: a scrape never counts the
recipient table. The send API's outcomes are counted by each serving process."""

import os

from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from messaging.models import RecipientState
from ops.models import TrafficTotal
from ops.selectors import messages_expanding, queue_depth, queue_oldest_waiting

API_OUTCOMES = {2: "accepted", 4: "refused"}

registry = CollectorRegistry(auto_describe=False)
api_requests = Counter(
    "smsgw_api_requests",
    "Send requests (POST /api/v1/message/sms) by outcome: accepted, refused (4xx) or failed (5xx).",
    ["outcome"],
    registry=registry,
)


def api_request_observe(*, status_code: int) -> None:
    api_requests.labels(outcome=API_OUTCOMES.get(status_code // 100, "failed")).inc()


class GatewayCollector:
    """Read at each scrape."""

    def collect(self):
        recipients = CounterMetricFamily(
            "smsgw_recipients",
            "Recipients that reached each state, by provider (initial: queued).",
            labels=["state", "provider"],
        )
        parts = CounterMetricFamily(
            "smsgw_message_parts", "Message parts that reached each state, by provider.", labels=["state", "provider"]
        )
        dispatch = SummaryMetricFamily(
            "smsgw_dispatch_latency_seconds", "From due to submitted to the provider.", labels=["provider"]
        )
        receipts = SummaryMetricFamily(
            "smsgw_receipt_latency_seconds", "From submitted to the provider's receipt.", labels=["provider"]
        )
        receipt_sums: dict[str, list] = {}
        for total in TrafficTotal.objects.order_by("provider", "state"):
            provider = total.provider or "none"
            recipients.add_metric([total.state, provider], total.messages)
            parts.add_metric([total.state, provider], total.parts)
            if total.state == RecipientState.SUBMITTED:
                dispatch.add_metric([provider], count_value=total.messages, sum_value=total.latency_seconds)
            elif total.state in (RecipientState.DELIVERED, RecipientState.UNDELIVERED):
                entry = receipt_sums.setdefault(provider, [0, 0.0])
                entry[0] += total.messages
                entry[1] += total.latency_seconds
        for provider, (count, seconds) in receipt_sums.items():
            receipts.add_metric([provider], count_value=count, sum_value=seconds)
        yield from (recipients, parts, dispatch, receipts)

        depth, capped = queue_depth()
        yield GaugeMetricFamily(
            "smsgw_queue_depth", "Recipients waiting to be sent (counted up to a cap).", value=depth
        )
        yield GaugeMetricFamily(
            "smsgw_queue_depth_capped", "1 when the queue depth reached the counting cap.", value=int(capped)
        )
        oldest = queue_oldest_waiting(now=timezone.now())
        yield GaugeMetricFamily(
            "smsgw_queue_oldest_waiting_seconds",
            "How long the longest-waiting due recipient has waited.",
            value=oldest.total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "smsgw_messages_expanding",
            "Segment messages still being expanded (up to 20).",
            value=len(messages_expanding()),
        )


registry.register(GatewayCollector())


def scrape_registry() -> CollectorRegistry:
    """What /metrics renders: this process's registry, or, with PROMETHEUS_MULTIPROC_DIR set
    (several gunicorn workers), the send counters of every worker plus the database's figures."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return registry
    combined = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(combined)
    combined.register(GatewayCollector())
    return combined
