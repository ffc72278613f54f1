from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.backends import Receipt, SendOutcome
from messaging.models import PendingReceipt, Recipient, RecipientEvent
from messaging.services.dispatch import outcomes_record, recipients_claim
from messaging.services.receipts import pending_receipts_match, receipt_refs, receipts_record
from messaging.services.sweep import queue_sweep
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db


def submitted(provider_message_id, provider="carrier-a", **fields):
    recipient = RecipientFactory(**fields)
    claimed = recipients_claim(batch_size=10)
    outcomes_record(
        claimed=claimed,
        outcomes=[SendOutcome(key=r.pk, provider_message_id=provider_message_id) for r in claimed],
        provider=provider,
    )
    recipient.refresh_from_db()
    return recipient


def state_of(recipient):
    recipient.refresh_from_db()
    return recipient.state


def test_a_delivered_receipt_marks_the_recipient_delivered():
    recipient = submitted("abc123")
    receipts_record(receipts=[Receipt(provider_message_id="abc123", delivered=True, status="DELIVRD")])
    assert state_of(recipient) == "delivered"


def test_an_undelivered_receipt_marks_the_recipient_undelivered_with_its_error():
    recipient = submitted("abc123")
    receipts_record(receipts=[Receipt(provider_message_id="abc123", delivered=False, status="UNDELIV", error_code="1")])
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("undelivered", "1")


def test_the_receipt_is_recorded_as_an_event():
    recipient = submitted("abc123")
    receipts_record(receipts=[Receipt(provider_message_id="abc123", delivered=True, status="DELIVRD")])
    assert list(RecipientEvent.objects.filter(recipient=recipient).values_list("state", flat=True)) == [
        "submitted",
        "delivered",
    ]


def test_a_receipt_in_decimal_matches_a_submit_in_hex():
    recipient = submitted("0001E240")  # 123456
    receipts_record(receipts=[Receipt(provider_message_id="123456", delivered=True)])
    assert state_of(recipient) == "delivered"


def test_a_receipt_in_hex_matches_a_submit_in_decimal():
    recipient = submitted("123456")
    receipts_record(receipts=[Receipt(provider_message_id="1e240", delivered=True)])
    assert state_of(recipient) == "delivered"


def test_a_receipt_without_leading_zeros_matches():
    recipient = submitted("0B00000127FDBC63")
    receipts_record(receipts=[Receipt(provider_message_id="b00000127fdbc63", delivered=True)])
    assert state_of(recipient) == "delivered"


def test_the_literal_form_wins_over_a_converted_one():
    literal = submitted("10")
    other = submitted("16")  # 0x10 read as hex is 16
    receipts_record(receipts=[Receipt(provider_message_id="10", delivered=True)])
    assert (state_of(literal), state_of(other)) == ("delivered", "submitted")


def test_a_receipt_of_another_provider_does_not_match():
    recipient = submitted("abc123", provider="carrier-a")
    receipts_record(receipts=[Receipt(provider_message_id="abc123", delivered=True)], provider="carrier-b")
    assert state_of(recipient) == "submitted"


def test_a_second_receipt_changes_nothing():
    recipient = submitted("abc123")
    receipts_record(receipts=[Receipt(provider_message_id="abc123", delivered=True)])
    receipts_record(receipts=[Receipt(provider_message_id="abc123", delivered=False)])
    assert state_of(recipient) == "delivered"


def test_a_receipt_that_overtakes_its_submit_is_held():
    receipts_record(receipts=[Receipt(provider_message_id="77", delivered=True)], provider="carrier-a")
    assert PendingReceipt.objects.count() == 1


def test_a_held_receipt_is_applied_when_the_submit_is_recorded():
    receipts_record(receipts=[Receipt(provider_message_id="0077", delivered=True)], provider="carrier-a")
    recipient = submitted("77", provider="carrier-a")
    assert (recipient.state, PendingReceipt.objects.count()) == ("delivered", 0)


def test_the_sweeper_applies_held_receipts():
    recipient = submitted("99", provider="carrier-a")
    PendingReceipt.objects.create(provider="carrier-a", provider_ref="99", provider_message_id="99", delivered=True)
    queue_sweep()
    assert state_of(recipient) == "delivered"


def test_a_receipt_held_too_long_is_dropped():
    PendingReceipt.objects.create(provider="x", provider_ref="1", provider_message_id="1", delivered=True)
    PendingReceipt.objects.update(received_at=timezone.now() - timedelta(hours=2))
    pending_receipts_match()
    assert PendingReceipt.objects.count() == 0


def test_a_receipt_for_a_row_still_being_sent_is_held_not_lost():
    RecipientFactory()
    claimed = recipients_claim(batch_size=1)
    Recipient.objects.filter(pk=claimed[0].pk).update(provider_ref="55", provider="carrier-a")
    receipts_record(receipts=[Receipt(provider_message_id="55", delivered=True)], provider="carrier-a")
    assert PendingReceipt.objects.count() == 1


def test_receipt_refs_lists_the_literal_form_first():
    assert receipt_refs("00123") == ["123", "7b", "291"]


def test_a_receipt_is_not_spent_on_a_converted_form_that_already_has_its_receipt():
    # 0x400 and 400 are two messages' ids. The receipt for hex 400 comes before its submit is
    # recorded; read as decimal it is hex 190, a message that already has its receipt.
    earlier = submitted("190")
    receipts_record(receipts=[Receipt(provider_message_id="190", delivered=True)], provider="carrier-a")
    receipts_record(receipts=[Receipt(provider_message_id="400", delivered=True)], provider="carrier-a")
    later = submitted("400")
    assert (state_of(earlier), state_of(later), PendingReceipt.objects.count()) == ("delivered", "delivered", 0)


def test_a_converted_form_still_places_a_receipt_when_its_row_waits_for_one():
    recipient = submitted("190")
    receipts_record(receipts=[Receipt(provider_message_id="400", delivered=False)], provider="carrier-a")
    assert state_of(recipient) == "undelivered"
