"""Start times, expiry, cancel of scheduled messages, and retries, with time frozen."""

import datetime as dt
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.backends import SendOutcome, TransientProviderError, locmem
from messaging.backends.base import BaseSmsBackend
from messaging.models import Recipient
from messaging.services.dispatch import MAX_ATTEMPTS, dispatch_batch, dispatch_due_run, retry_delay
from tests.factories import MemberFactory, RecipientFactory
from tests.helpers import one_message, post_json

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)


class BusyBackend(BaseSmsBackend):
    """A provider that answers every submit with 'throttled'."""

    name = "busy"
    calls = 0

    def send_messages(self, messages):
        BusyBackend.calls += len(messages)
        return [SendOutcome(key=sms.key, error=TransientProviderError("throttled", code="88")) for sms in messages]


@pytest.fixture
def busy_backend(settings):
    settings.SMS_BACKEND = "tests.test_dispatch_time.BusyBackend"
    BusyBackend.calls = 0
    return BusyBackend


def sent_to():
    return [sms.phone for sms in locmem.outbox]


def test_a_message_is_not_sent_before_its_start():
    with time_machine.travel(T0, tick=False):
        RecipientFactory(message__start_at=T0 + timedelta(minutes=5))
        dispatch_due_run(seconds=1)
    assert sent_to() == []


def test_a_message_is_sent_once_its_start_has_come():
    with time_machine.travel(T0, tick=False):
        recipient = RecipientFactory(message__start_at=T0 + timedelta(minutes=5))
    with time_machine.travel(T0 + timedelta(minutes=5, seconds=1), tick=False):
        dispatch_due_run(seconds=1)
    assert sent_to() == [recipient.phone]


def test_the_start_timestamp_of_the_api_is_honoured_to_the_second(client):
    member = MemberFactory()
    start_ms = int((T0 + timedelta(seconds=30)).timestamp() * 1000)
    with time_machine.travel(T0, tick=False):
        post_json(
            client,
            one_message(
                priorityService="false",
                startTimestamp=str(start_ms),
                recipients={"recipient": {"id": str(member.id)}},
                content="Later",
            ),
        )
    with time_machine.travel(T0 + timedelta(seconds=29), tick=False):
        dispatch_due_run(seconds=1)
        early = sent_to()
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        dispatch_due_run(seconds=1)
    assert (early, sent_to()) == ([], [member.mobile])


def test_a_message_past_its_expiry_becomes_expired():
    with time_machine.travel(T0, tick=False):
        recipient = RecipientFactory(message__start_at=T0, message__expires_at=T0 + timedelta(minutes=1))
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        dispatch_due_run(seconds=1)
    recipient.refresh_from_db()
    assert (recipient.state, sent_to()) == ("expired", [])


def test_a_cancelled_scheduled_request_is_never_sent(client):
    member = MemberFactory()
    start_ms = int((T0 + timedelta(hours=1)).timestamp() * 1000)
    with time_machine.travel(T0, tick=False):
        request_id = post_json(
            client,
            one_message(
                priorityService="false",
                startTimestamp=str(start_ms),
                recipients={"recipient": {"id": str(member.id)}},
                content="Later",
            ),
        ).json()["id"]
        response = client.delete(f"/api/v1/messages/sms/{request_id}")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        dispatch_due_run(seconds=1)
    assert response.json()["message"] == f"Cancelled 1 message entries of the Message with ID : {request_id}"
    assert (Recipient.objects.get().state, sent_to()) == ("cancelled", [])


def test_a_transient_failure_is_retried_after_a_backoff(busy_backend):
    with time_machine.travel(T0, tick=False):
        recipient = RecipientFactory(message__start_at=T0)
        dispatch_batch()
    recipient.refresh_from_db()
    assert recipient.state == "initial" and T0 + timedelta(seconds=2) <= recipient.due_at <= T0 + timedelta(seconds=5)


def test_a_retry_waits_for_its_backoff(busy_backend):
    with time_machine.travel(T0, tick=False):
        RecipientFactory(message__start_at=T0)
        dispatch_batch()
        dispatch_batch()
    assert busy_backend.calls == 1


def test_the_backoff_grows_exponentially_with_jitter():
    delays = [retry_delay(attempts) for attempts in (1, 2, 3, 4)]
    assert [2.5 <= delays[0] <= 5, 5 <= delays[1] <= 10, 10 <= delays[2] <= 20, 20 <= delays[3] <= 40] == [True] * 4


def test_retries_stop_at_the_expiry_and_the_message_expires(busy_backend):
    with time_machine.travel(T0, tick=False) as traveller:
        recipient = RecipientFactory(message__start_at=T0, message__expires_at=T0 + timedelta(minutes=2))
        for _ in range(30):
            dispatch_due_run(seconds=1)
            traveller.shift(timedelta(seconds=10))
    recipient.refresh_from_db()
    assert (recipient.state, recipient.attempts > 1) == ("expired", True)


def test_retries_without_expiry_stop_after_the_attempt_limit(busy_backend):
    with time_machine.travel(T0, tick=False) as traveller:
        recipient = RecipientFactory(message__start_at=T0)
        for _ in range(MAX_ATTEMPTS + 2):
            dispatch_due_run(seconds=1)
            traveller.shift(timedelta(hours=1))
    recipient.refresh_from_db()
    assert (recipient.state, recipient.attempts) == ("expired", MAX_ATTEMPTS)


def test_a_due_message_is_sent_now():
    recipient = RecipientFactory(message__start_at=timezone.now() - timedelta(seconds=1))
    dispatch_batch()
    assert sent_to() == [recipient.phone]
