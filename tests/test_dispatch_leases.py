"""Nothing lost, nothing twice: leases, a dead worker's rows, and submits of unknown outcome."""

import datetime as dt
from datetime import timedelta

import pytest
import time_machine

from messaging.backends import SendOutcome, TransientProviderError, locmem
from messaging.backends.base import BaseSmsBackend
from messaging.models import Recipient
from messaging.services.dispatch import dispatch_batch, dispatch_due_run, recipients_claim
from messaging.services.sweep import queue_sweep
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)


class TimeoutBackend(BaseSmsBackend):
    """A provider whose answer never came back: the request may have been taken."""

    name = "slow"

    def send_messages(self, messages):
        outcomes = []
        for sms in messages:
            error = TransientProviderError("read timed out", code="timeout")
            error.outcome_unknown = True
            outcomes.append(SendOutcome(key=sms.key, error=error))
        return outcomes


class CrashingBackend(BaseSmsBackend):
    name = "crashing"

    def send_messages(self, messages):
        raise RuntimeError("the connection library failed mid-send")


def test_a_row_under_a_live_lease_is_not_claimed_again():
    RecipientFactory()
    recipients_claim(batch_size=10)
    assert recipients_claim(batch_size=10) == []


def test_a_submitted_row_is_never_sent_again():
    RecipientFactory()
    dispatch_due_run(seconds=1)
    dispatch_due_run(seconds=1)
    assert len(locmem.outbox) == 1


def test_the_rows_of_a_dead_worker_are_taken_again_when_the_lease_runs_out(settings):
    with time_machine.travel(T0, tick=False):
        recipient = RecipientFactory(message__start_at=T0)
        recipients_claim(batch_size=10)  # the worker dies here
    with time_machine.travel(T0 + timedelta(seconds=settings.DISPATCH_LEASE_SECONDS + 1), tick=False):
        queue_sweep()
        dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, len(locmem.outbox)) == ("submitted", 1)


def test_a_row_taken_again_after_a_lapsed_lease_is_recorded_as_outcome_unknown(settings):
    with time_machine.travel(T0, tick=False):
        recipient = RecipientFactory(message__start_at=T0)
        recipients_claim(batch_size=10)
    with time_machine.travel(T0 + timedelta(seconds=settings.DISPATCH_LEASE_SECONDS + 1), tick=False):
        dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.outcome_unknown, recipient.attempts) == (True, 2)


def test_a_row_sent_at_the_first_try_is_not_outcome_unknown():
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert recipient.outcome_unknown is False


def test_a_timeout_is_recorded_as_outcome_unknown_and_retried(settings):
    settings.SMS_BACKEND = "tests.test_dispatch_leases.TimeoutBackend"
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.outcome_unknown, recipient.error_code) == ("initial", True, "timeout")


def test_a_crash_while_sending_leaves_the_rows_leased_not_resent(settings):
    settings.SMS_BACKEND = "tests.test_dispatch_leases.CrashingBackend"
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.lease_token is not None, recipients_claim(batch_size=10)) == (
        "initial",
        True,
        [],
    )


def test_two_claimers_share_nothing():
    RecipientFactory.create_batch(10)
    first = recipients_claim(batch_size=6)
    second = recipients_claim(batch_size=6)
    assert (len(first), len(second), {r.pk for r in first} & {r.pk for r in second}) == (6, 4, set())


def test_every_row_ends_in_exactly_one_submit():
    RecipientFactory.create_batch(25)
    dispatch_due_run(seconds=5)
    keys = [sms.key for sms in locmem.outbox]
    assert (len(keys), len(set(keys)), Recipient.objects.filter(state="submitted").count()) == (25, 25, 25)
