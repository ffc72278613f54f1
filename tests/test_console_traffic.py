from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.models import RecipientEvent
from messaging.selectors import id_floor_at
from messaging.services.states import recipients_transition
from ops.models import TrafficHour, TrafficMinute, TrafficTotal
from ops.selectors import console_dashboard, queue_depth, queue_oldest_waiting
from ops.traffic import traffic_aggregate, traffic_prune
from tests.factories import RecipientFactory, SmsMessageFactory

pytestmark = pytest.mark.django_db


def _submitted(recipient, *, at, provider="smpp-main"):
    recipient.state, recipient.provider, recipient.submitted_at = "submitted", provider, at
    recipient.save()
    RecipientEvent.objects.create(recipient=recipient, state="submitted", at=at, provider_message_id="m1")


def test_aggregation_counts_submitted_parts_per_minute_and_provider():
    message = SmsMessageFactory(parts=3)
    at = timezone.now().replace(second=10, microsecond=0)
    for recipient in RecipientFactory.create_batch(2, message=message):
        _submitted(recipient, at=at)
    traffic_aggregate(settle=False)
    bucket = TrafficMinute.objects.get(state="submitted")
    assert (bucket.minute, bucket.provider, bucket.messages, bucket.parts) == (at.replace(second=0), "smpp-main", 2, 6)


def test_aggregation_counts_new_recipients_as_queued():
    RecipientFactory.create_batch(3)
    traffic_aggregate(settle=False)
    assert TrafficMinute.objects.get(state="initial").messages == 3


def test_aggregation_reads_each_event_once():
    recipient = RecipientFactory()
    _submitted(recipient, at=timezone.now())
    traffic_aggregate(settle=False)
    traffic_aggregate(settle=False)
    assert TrafficMinute.objects.get(state="submitted").messages == 1


def test_settled_aggregation_waits_one_run_before_reading_new_rows():
    recipient = RecipientFactory()
    _submitted(recipient, at=timezone.now())
    first = traffic_aggregate()
    second = traffic_aggregate()
    assert (first.events, second.events) == (0, 1)


def test_aggregation_sums_dispatch_latency_from_due_to_submit():
    now = timezone.now()
    recipient = RecipientFactory(due_at=now - timedelta(seconds=4))
    _submitted(recipient, at=now)
    traffic_aggregate(settle=False)
    assert TrafficMinute.objects.get(state="submitted").latency_seconds == pytest.approx(4.0)


def test_aggregation_sums_receipt_latency_from_submit_to_receipt():
    now = timezone.now()
    recipient = RecipientFactory()
    _submitted(recipient, at=now - timedelta(seconds=7))
    recipients_transition(recipient_ids=[recipient.pk], to_state="delivered", at=now)
    traffic_aggregate(settle=False)
    assert TrafficTotal.objects.get(state="delivered").latency_seconds == pytest.approx(7.0)


def test_totals_keep_growing_across_runs():
    _submitted(RecipientFactory(), at=timezone.now())
    traffic_aggregate(settle=False)
    _submitted(RecipientFactory(), at=timezone.now())
    traffic_aggregate(settle=False)
    assert TrafficTotal.objects.get(state="submitted").messages == 2


def test_prune_drops_buckets_older_than_the_retention():
    now = timezone.now()
    TrafficMinute.objects.create(minute=now - timedelta(days=40), state="submitted", messages=1)
    TrafficMinute.objects.create(minute=now - timedelta(days=1), state="submitted", messages=1)
    assert traffic_prune(now=now) == 1


def test_dashboard_counts_states_per_window():
    now = timezone.now()
    for age, count in ((timedelta(minutes=5), 2), (timedelta(hours=5), 3), (timedelta(days=3), 4)):
        for recipient in RecipientFactory.create_batch(count, state="delivered"):
            recipient.events.create(state="delivered", at=now - age)
    traffic_aggregate(settle=False)
    row = next(row for row in console_dashboard(now=now).counts if row["state"] == "delivered")
    assert (row["hour"], row["day"], row["week"]) == (2, 5, 9)


def test_aggregation_keeps_hourly_buckets_beside_the_minutes():
    at = timezone.now().replace(minute=30)
    for recipient in RecipientFactory.create_batch(2):
        _submitted(recipient, at=at)
    traffic_aggregate(settle=False)
    bucket = TrafficHour.objects.get(state="submitted")
    assert (bucket.hour, bucket.messages) == (at.replace(minute=0, second=0, microsecond=0), 2)


def test_dashboard_series_has_a_minute_per_point_per_provider():
    now = timezone.now()
    TrafficMinute.objects.create(minute=now.replace(second=0, microsecond=0), provider="p1", state="submitted", parts=9)
    dashboard = console_dashboard(now=now)
    assert len(dashboard.series["p1"]) == 1440
    assert dashboard.series["p1"][-1] == 9


def test_oldest_waiting_is_the_longest_due_recipient_of_either_lane():
    now = timezone.now()
    RecipientFactory(due_at=now - timedelta(minutes=3), priority=False)
    RecipientFactory(due_at=now - timedelta(minutes=9), priority=True)
    RecipientFactory(due_at=now + timedelta(hours=1))
    assert queue_oldest_waiting(now=now) == timedelta(minutes=9)


def test_queue_depth_stops_counting_at_its_cap():
    RecipientFactory.create_batch(3)
    assert queue_depth(cap=2) == (2, True)


def test_id_floor_finds_the_first_row_created_after_a_time():
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False):
        RecipientFactory.create_batch(3)
    recent = RecipientFactory.create_batch(2)
    assert id_floor_at(recent[0].__class__, moment=timezone.now() - timedelta(hours=1)) == recent[0].pk
