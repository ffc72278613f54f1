"""Text cut to its column: the length is the model field's, and every writer cuts by it."""

import pytest

from audiences.models import AudienceAttribute, AudienceSettings, Member
from messaging.models import InboundSms, PendingReceipt, Provider, Recipient, RecipientEvent, SmsMessage
from messaging.services.states import recipients_transition
from smsgateway.columns import column_length, fit
from tests.factories import RecipientFactory


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Recipient, "error_code"),
        (Recipient, "error"),
        (RecipientEvent, "error_code"),
        (RecipientEvent, "detail"),
        (PendingReceipt, "provider_message_id"),
        (PendingReceipt, "status"),
        (PendingReceipt, "error_code"),
        (InboundSms, "sent_to"),
        (InboundSms, "provider"),
        (InboundSms, "provider_message_id"),
        (Provider, "name"),
        (SmsMessage, "expansion_error"),
        (AudienceAttribute, "created_by"),
        (AudienceAttribute, "modified_by"),
        (AudienceSettings, "updated_by"),
    ],
)
def test_a_text_is_cut_to_the_length_its_model_field_declares(model, field):
    length = model._meta.get_field(field).max_length
    assert column_length(model, field) == length
    assert fit(model, field, "x" * (length + 7)) == "x" * length
    assert fit(model, field, "short") == "short"


def test_a_field_without_a_length_keeps_the_whole_text():
    assert fit(Member, "sms_opt_out_lifted", "x" * 10_000) == "x" * 10_000


@pytest.mark.django_db
def test_a_state_change_with_a_long_error_stores_the_columns_worth():
    recipient = RecipientFactory()
    recipients_transition(
        recipient_ids=[recipient.pk],
        to_state="rejected",
        error_code="E" * 100,
        detail="d" * 900,
    )
    recipient.refresh_from_db()
    assert (len(recipient.error_code), len(recipient.error)) == (64, 500)
    event = recipient.events.latest("id")
    assert (len(event.error_code), len(event.detail)) == (64, 500)
