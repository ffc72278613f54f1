"""The sweeper expires a submitted recipient whose delivery receipt never came: after its validity
and a grace, or, with no validity, after RECEIPT_WAIT_HOURS. Time is frozen and moved by hand."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from messaging.models import Recipient, RecipientEvent
from messaging.services.sweep import RECEIPT_GRACE, queue_sweep, recipients_expire_unreceipted
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def submitted_recipient(*, expires_at=None, at=START):
    return RecipientFactory(state="submitted", submitted_at=at, expires_at=expires_at, provider_message_id="m1")


def state_of(recipient):
    recipient.refresh_from_db()
    return recipient.state


def test_a_submitted_recipient_is_expired_once_its_validity_and_the_grace_passed():
    recipient = submitted_recipient(expires_at=START + timedelta(hours=1))
    with time_machine.travel(START + timedelta(hours=1) + RECEIPT_GRACE + timedelta(seconds=1), tick=False):
        queue_sweep()
    assert state_of(recipient) == "expired"


def test_a_submitted_recipient_waits_for_its_receipt_within_the_grace():
    recipient = submitted_recipient(expires_at=START + timedelta(hours=1))
    with time_machine.travel(START + timedelta(hours=1) + RECEIPT_GRACE - timedelta(seconds=1), tick=False):
        queue_sweep()
    assert state_of(recipient) == "submitted"


def test_a_recipient_without_validity_is_expired_after_the_receipt_wait(settings):
    settings.RECEIPT_WAIT_HOURS = 72
    recipient = submitted_recipient()
    with time_machine.travel(START + timedelta(hours=72, seconds=1), tick=False):
        queue_sweep()
    assert state_of(recipient) == "expired"


def test_a_recipient_without_validity_waits_until_the_receipt_wait_passed(settings):
    settings.RECEIPT_WAIT_HOURS = 72
    recipient = submitted_recipient()
    with time_machine.travel(START + timedelta(hours=71, minutes=59), tick=False):
        queue_sweep()
    assert state_of(recipient) == "submitted"


def test_the_expiry_is_recorded_as_no_delivery_receipt():
    recipient = submitted_recipient(expires_at=START)
    with time_machine.travel(START + timedelta(days=1), tick=False):
        recipients_expire_unreceipted()
    recipient.refresh_from_db()
    event = RecipientEvent.objects.filter(recipient=recipient).latest("id")
    assert (recipient.error, recipient.final_at, event.state) == (
        "no delivery receipt",
        START + timedelta(days=1),
        "expired",
    )


def test_a_delivered_recipient_is_left_alone():
    recipient = RecipientFactory(state="delivered", submitted_at=START, expires_at=START)
    with time_machine.travel(START + timedelta(days=10), tick=False):
        queue_sweep()
    assert state_of(recipient) == "delivered"


def test_one_sweep_expires_a_bounded_batch_oldest_first():
    oldest = submitted_recipient(expires_at=START)
    submitted_recipient(expires_at=START + timedelta(minutes=1))
    submitted_recipient(expires_at=START + timedelta(minutes=2))
    with time_machine.travel(START + timedelta(days=1), tick=False):
        moved = recipients_expire_unreceipted(limit=1)
    assert (moved, list(Recipient.objects.filter(state="expired").values_list("id", flat=True))) == (1, [oldest.pk])
