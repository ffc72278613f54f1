"""The Twilio backend and callbacks against a loopback server that speaks Twilio's REST API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from audiences.models import Member
from messaging.models import Provider, Recipient
from messaging.services.dispatch import dispatch_batch
from messaging.services.providers import routing
from tests.factories import MemberFactory, RecipientFactory
from tests.peers.http_twilio import LoopbackTwilio

STATUS_URL = "http://testserver/api/v1/callbacks/twilio/status"
INBOUND_URL = "http://testserver/api/v1/callbacks/twilio/inbound"


@pytest.fixture
def twilio():
    peer = LoopbackTwilio().start()
    routing.providers_forget()
    routing.provider_circuits_reset()
    yield peer
    peer.stop()
    routing.providers_forget()
    routing.provider_circuits_reset()


@pytest.fixture
def twilio_provider(db, twilio):
    return Provider.objects.create(
        name="twilio-main",
        kind="TWILIO",
        properties={
            "Account SID": twilio.account_sid,
            "Auth Token": twilio.auth_token,
            "Host URL": twilio.url,
            "From": "+15005550006",
            "Voice": "true",
        },
    )


def signed_post(client, url, params, token):
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_text_is_submitted_through_the_messages_api(twilio, twilio_provider):
    recipient = RecipientFactory(phone="+14155550100", message__content="Hello there")
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.provider, recipient.provider_message_id) == (
        "submitted",
        "twilio-main",
        twilio.taken[0].sid,
    )


def test_the_text_goes_with_its_body_and_sender(twilio, twilio_provider):
    RecipientFactory(phone="+14155550100", message__content="Hello there")
    dispatch_batch()
    fields = twilio.taken[0].fields
    assert (fields["To"], fields["From"], fields["Body"]) == ("+14155550100", "+15005550006", "Hello there")


def test_the_expiry_is_passed_as_the_validity_period(twilio, twilio_provider):
    RecipientFactory(message__expires_at=timezone.now() + timedelta(minutes=10))
    dispatch_batch()
    assert 590 <= int(twilio.taken[0].fields["ValidityPeriod"]) <= 600


def test_an_invalid_number_is_rejected_at_once(twilio, twilio_provider):
    recipient = RecipientFactory(phone="+1415")
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("rejected", "21211")


def test_a_throttled_send_is_retried_later(twilio, twilio_provider):
    twilio.errors["+14155550100"] = (429, 20429, "Too Many Requests")
    recipient = RecipientFactory(phone="+14155550100")
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code, recipient.due_at > timezone.now()) == ("initial", "20429", True)


def test_a_server_error_is_retried_later(twilio, twilio_provider):
    twilio.errors["+14155550100"] = (500, 20500, "Internal Server Error")
    recipient = RecipientFactory(phone="+14155550100")
    dispatch_batch()
    recipient.refresh_from_db()
    assert recipient.state == "initial"


def test_a_voice_message_is_a_call_that_says_the_text(twilio, twilio_provider):
    RecipientFactory(message__channel="voice", message__content="Your code is 1234")
    dispatch_batch()
    call = twilio.taken[0]
    assert call.kind == "Calls" and "<Say>Your code is 1234</Say>" in call.fields["Twiml"]


def test_the_status_callback_url_is_given_when_the_gateway_has_a_public_url(twilio, twilio_provider, settings):
    settings.SMS_CALLBACK_BASE_URL = "https://sms.example.com"
    RecipientFactory()
    dispatch_batch()
    assert twilio.taken[0].fields["StatusCallback"] == "https://sms.example.com/api/v1/callbacks/twilio/status"


def test_a_signed_delivered_callback_marks_the_recipient_delivered(twilio, twilio_provider, client):
    recipient = RecipientFactory()
    dispatch_batch()
    params = {"MessageSid": twilio.taken[0].sid, "MessageStatus": "delivered", "AccountSid": twilio.account_sid}
    response = signed_post(client, STATUS_URL, params, twilio.auth_token)
    recipient.refresh_from_db()
    assert (response.status_code, recipient.state) == (204, "delivered")


def test_an_undelivered_callback_marks_the_recipient_undelivered(twilio, twilio_provider, client):
    recipient = RecipientFactory()
    dispatch_batch()
    params = {"MessageSid": twilio.taken[0].sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    signed_post(client, STATUS_URL, params, twilio.auth_token)
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("undelivered", "30003")


def test_a_callback_with_a_bad_signature_is_refused(twilio, twilio_provider, client):
    recipient = RecipientFactory()
    dispatch_batch()
    params = {"MessageSid": twilio.taken[0].sid, "MessageStatus": "delivered"}
    response = signed_post(client, STATUS_URL, params, "not-the-token")
    recipient.refresh_from_db()
    assert (response.status_code, recipient.state) == (403, "submitted")


def test_a_callback_without_a_signature_is_refused(twilio, twilio_provider, client):
    response = client.post(STATUS_URL, {"MessageSid": "SM1", "MessageStatus": "delivered"})
    assert response.status_code == 403


def test_a_completed_call_marks_the_voice_recipient_delivered(twilio, twilio_provider, client):
    recipient = RecipientFactory(message__channel="voice")
    dispatch_batch()
    signed_post(client, STATUS_URL, {"CallSid": twilio.taken[0].sid, "CallStatus": "completed"}, twilio.auth_token)
    recipient.refresh_from_db()
    assert recipient.state == "delivered"


def test_stop_by_twilio_inbound_opts_the_member_out(twilio, twilio_provider, client):
    member = MemberFactory(mobile="+14155550123")
    params = {"From": "+14155550123", "To": "+15005550006", "Body": "STOP", "MessageSid": "SM9"}
    response = signed_post(client, INBOUND_URL, params, twilio.auth_token)
    assert response.status_code == 200 and b"<Response" in response.content
    assert Member.objects.get(pk=member.pk).sms_subscription is False


def test_a_refused_connection_fails_over_to_the_next_provider(twilio, twilio_provider):
    Provider.objects.create(
        name="twilio-dead",
        kind="TWILIO",
        order=0,
        properties={"Account SID": "AC1", "Auth Token": "x", "Host URL": "http://127.0.0.1:1"},
    )
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.provider) == ("submitted", "twilio-main")


def test_a_provider_that_refused_connections_is_not_tried_while_its_circuit_is_open(twilio, twilio_provider):
    Provider.objects.create(
        name="twilio-dead",
        kind="TWILIO",
        order=0,
        properties={"Account SID": "AC1", "Auth Token": "x", "Host URL": "http://127.0.0.1:1"},
    )
    RecipientFactory()
    dispatch_batch()
    assert routing.provider_circuit_is_open(name="twilio-dead")


def test_wrong_credentials_hand_the_traffic_to_the_next_provider(twilio, twilio_provider):
    Provider.objects.create(
        name="twilio-wrong",
        kind="TWILIO",
        order=0,
        properties={"Account SID": twilio.account_sid, "Auth Token": "wrong", "Host URL": twilio.url},
    )
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert recipient.provider == "twilio-main"


def test_with_every_provider_down_the_message_waits_for_a_retry(db, twilio):
    Provider.objects.create(
        name="twilio-dead",
        kind="TWILIO",
        properties={"Account SID": "AC1", "Auth Token": "x", "Host URL": "http://127.0.0.1:1"},
    )
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code, recipient.attempts) == ("initial", "connect", 1)


def test_a_member_opted_out_by_stop_gets_no_queued_text(twilio, twilio_provider, client):
    RecipientFactory(phone="+14155550123")
    params = {"From": "+14155550123", "To": "+15005550006", "Body": "stop", "MessageSid": "SM9"}
    signed_post(client, INBOUND_URL, params, twilio.auth_token)
    dispatch_batch()
    assert (twilio.taken, Recipient.objects.get().state) == ([], "not attempted")
