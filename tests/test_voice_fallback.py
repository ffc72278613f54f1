"""sendVoiceSmsOnFailure: a text that ends rejected or undelivered is sent again as a voice call."""

import pytest

from messaging.backends import PermanentProviderError, Receipt, SendOutcome, locmem
from messaging.backends.base import BaseSmsBackend
from messaging.models import Provider, Recipient
from messaging.services.dispatch import dispatch_batch, dispatch_due_run
from messaging.services.providers import routing
from messaging.services.receipts import receipts_record
from tests.factories import MemberFactory, RecipientFactory

pytestmark = pytest.mark.django_db


class RefusingTextsBackend(BaseSmsBackend):
    """Refuses every text, takes every call."""

    name = "texts-refused"
    calls = []

    def send_messages(self, messages):
        outcomes = []
        for sms in messages:
            if sms.channel == "voice":
                RefusingTextsBackend.calls.append(sms)
                outcomes.append(SendOutcome(key=sms.key, provider_message_id=f"call-{sms.key}"))
            else:
                outcomes.append(SendOutcome(key=sms.key, error=PermanentProviderError("barred", code="7")))
        return outcomes


@pytest.fixture
def refusing(settings):
    settings.SMS_BACKEND = "tests.test_voice_fallback.RefusingTextsBackend"
    RefusingTextsBackend.calls = []
    return RefusingTextsBackend


def delivered_text(**message):
    recipient = RecipientFactory(**{f"message__{k}": v for k, v in message.items()})
    dispatch_batch()
    recipient.refresh_from_db()
    return recipient


def test_an_undelivered_text_is_queued_again_as_a_voice_call():
    text = delivered_text(voice_on_failure=True, content="Your code is 1234")
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=False)])
    call = Recipient.objects.get(resend_of=text)
    assert (call.channel, call.phone, call.content, call.state) == ("voice", text.phone, "Your code is 1234", "initial")


def test_a_rejected_text_is_sent_again_as_a_voice_call(refusing):
    text = RecipientFactory(message__voice_on_failure=True, message__content="Your code is 1234")
    dispatch_batch()  # the text is refused and its call queued
    dispatch_batch()  # the call goes
    assert [(sms.channel, sms.phone, sms.text) for sms in refusing.calls] == [
        ("voice", text.phone, "Your code is 1234")
    ]


def test_the_voice_call_is_linked_to_the_text_it_replaces(refusing):
    text = RecipientFactory(message__voice_on_failure=True)
    dispatch_batch()
    dispatch_batch()
    text.refresh_from_db()
    assert (text.state, Recipient.objects.get(resend_of=text).state) == ("rejected", "submitted")


def test_without_the_flag_a_failed_text_stays_failed(refusing):
    RecipientFactory(message__voice_on_failure=False)
    dispatch_due_run(seconds=2)
    assert (Recipient.objects.count(), refusing.calls) == (1, [])


def test_a_delivered_text_gets_no_call():
    text = delivered_text(voice_on_failure=True)
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=True)])
    assert Recipient.objects.filter(resend_of=text).count() == 0


def test_a_failed_call_is_not_called_again(refusing):
    text = delivered_text(voice_on_failure=True)
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=False)])
    dispatch_due_run(seconds=2)
    call = Recipient.objects.get(resend_of=text)
    call.refresh_from_db()
    receipts_record(receipts=[Receipt(provider_message_id=call.provider_message_id, delivered=False)])
    assert Recipient.objects.count() == 2


def test_a_second_failure_receipt_does_not_queue_a_second_call():
    text = delivered_text(voice_on_failure=True)
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=False)])
    Recipient.objects.filter(pk=text.pk).update(state="submitted")
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=False)])
    assert Recipient.objects.filter(resend_of=text).count() == 1


def test_a_member_opted_out_of_voice_gets_no_call():
    member = MemberFactory(voice_subscription=False)
    text = RecipientFactory(member=member, phone=member.mobile, message__voice_on_failure=True)
    dispatch_batch()
    text.refresh_from_db()
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=False)])
    assert Recipient.objects.filter(resend_of=text).count() == 0


def test_a_voice_message_goes_only_to_a_voice_capable_provider():
    routing.providers_forget()
    Provider.objects.create(name="sms-only", kind="CONSOLE", order=1, properties={"Voice": "false"})
    Provider.objects.create(name="voice", kind="CONSOLE", order=2, properties={"Voice": "true"})
    call = RecipientFactory(message__channel="voice")
    dispatch_batch()
    call.refresh_from_db()
    routing.providers_forget()
    assert (call.state, call.provider) == ("submitted", "voice")


def test_a_voice_message_with_no_voice_capable_provider_is_rejected():
    routing.providers_forget()
    Provider.objects.create(name="sms-only", kind="CONSOLE", properties={"Voice": "false"})
    call = RecipientFactory(message__channel="voice")
    dispatch_batch()
    call.refresh_from_db()
    routing.providers_forget()
    assert (call.state, call.error_code) == ("rejected", "no-voice")


def test_the_fallback_call_reaches_the_outbox_with_the_personalised_text():
    member = MemberFactory(first_name="Ada")
    text = RecipientFactory(
        member=member,
        phone=member.mobile,
        message__voice_on_failure=True,
        message__personalised=True,
        message__content="Hi [[firstName]]",
    )
    dispatch_batch()
    text.refresh_from_db()
    receipts_record(receipts=[Receipt(provider_message_id=text.provider_message_id, delivered=False)])
    dispatch_batch()
    assert [(sms.channel, sms.text) for sms in locmem.outbox] == [("text", "Hi Ada"), ("voice", "Hi Ada")]
