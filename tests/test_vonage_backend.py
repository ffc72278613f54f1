"""The Vonage backend and signed webhooks against a loopback server that speaks the SMS API."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audiences.models import Member
from messaging.models import Provider
from messaging.services.dispatch import dispatch_batch
from messaging.services.providers import routing
from tests.factories import MemberFactory, RecipientFactory
from tests.peers.http_vonage import LoopbackVonage, vonage_signature

SIGNATURE_SECRET = "vonage-signature-secret"
STATUS_URL = "/api/v1/callbacks/nexmo/status"
INBOUND_URL = "/api/v1/callbacks/nexmo/inbound"


@pytest.fixture
def vonage():
    peer = LoopbackVonage(signature_secret=SIGNATURE_SECRET).start()
    routing.providers_forget()
    routing.provider_circuits_reset()
    yield peer
    peer.stop()
    routing.providers_forget()
    routing.provider_circuits_reset()


@pytest.fixture
def vonage_provider(db, vonage):
    return Provider.objects.create(
        name="vonage-main",
        kind="NEXMO",
        properties={
            "API Key": vonage.api_key,
            "API Secret": vonage.api_secret,
            "Signature Secret": SIGNATURE_SECRET,
            "Host URL": vonage.url,
            "From": "ACME",
        },
    )


def signed(params, secret=SIGNATURE_SECRET):
    params = {**params, "timestamp": str(int(time.time()))}
    return {**params, "sig": vonage_signature(params, secret)}


def test_a_text_is_submitted_through_the_sms_api(vonage, vonage_provider):
    recipient = RecipientFactory(phone="+14155550100", message__content="Hello there")
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.provider_message_id) == ("submitted", vonage.taken[0]["message-id"])


def test_the_text_goes_with_its_number_sender_and_reference(vonage, vonage_provider):
    recipient = RecipientFactory(phone="+14155550100", message__content="Hello there")
    dispatch_batch()
    taken = vonage.taken[0]
    assert (taken["to"], taken["from"], taken["text"], taken["client-ref"]) == (
        "14155550100",
        "ACME",
        "Hello there",
        str(recipient.pk),
    )


def test_a_unicode_text_is_sent_as_unicode(vonage, vonage_provider):
    RecipientFactory(message__content="Привет", message__encoding="ucs2")
    dispatch_batch()
    assert vonage.taken[0]["type"] == "unicode"


def test_the_expiry_is_passed_as_the_ttl(vonage, vonage_provider):
    RecipientFactory(message__expires_at=timezone.now() + timedelta(minutes=10))
    dispatch_batch()
    assert 590_000 <= int(vonage.taken[0]["ttl"]) <= 600_000


def test_an_invalid_number_status_is_rejected_at_once(vonage, vonage_provider):
    vonage.statuses["14155550100"] = ("3", "Invalid to number")
    recipient = RecipientFactory(phone="+14155550100")
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("rejected", "3")


def test_a_throttled_status_is_retried_later(vonage, vonage_provider):
    vonage.statuses["14155550100"] = ("1", "Throughput Rate Exceeded - please wait [ 250 ] and retry")
    recipient = RecipientFactory(phone="+14155550100")
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("initial", "1")


def test_a_server_error_is_retried_later(vonage, vonage_provider):
    vonage.http_status = 500
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("initial", "500")


def test_bad_credentials_are_retried_not_rejected(vonage, vonage_provider):
    vonage.api_secret = "changed"
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("initial", "auth")


def test_a_signed_delivery_receipt_marks_the_recipient_delivered(vonage, vonage_provider, client):
    recipient = RecipientFactory()
    dispatch_batch()
    message_id = vonage.taken[0]["message-id"]
    response = client.post(STATUS_URL, signed({"messageId": message_id, "status": "delivered", "err-code": "0"}))
    recipient.refresh_from_db()
    assert (response.status_code, recipient.state) == (204, "delivered")


def test_a_receipt_sent_by_get_is_taken_too(vonage, vonage_provider, client):
    recipient = RecipientFactory()
    dispatch_batch()
    message_id = vonage.taken[0]["message-id"]
    client.get(STATUS_URL, signed({"messageId": message_id, "status": "failed", "err-code": "1"}))
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("undelivered", "1")


def test_a_receipt_with_a_bad_signature_is_refused(vonage, vonage_provider, client):
    recipient = RecipientFactory()
    dispatch_batch()
    message_id = vonage.taken[0]["message-id"]
    response = client.post(STATUS_URL, signed({"messageId": message_id, "status": "delivered"}, secret="wrong"))
    recipient.refresh_from_db()
    assert (response.status_code, recipient.state) == (403, "submitted")


def test_an_old_signed_receipt_is_refused(vonage, vonage_provider, client):
    params = {"messageId": "0A1", "status": "delivered", "timestamp": str(int(time.time()) - 3600)}
    params["sig"] = vonage_signature(params, SIGNATURE_SECRET)
    response = client.post(STATUS_URL, params)
    assert response.status_code == 403


def test_stop_by_vonage_inbound_opts_the_member_out(vonage, vonage_provider, client):
    member = MemberFactory(mobile="+14155550123")
    params = signed({"msisdn": "14155550123", "to": "12015550000", "text": "Stop", "messageId": "0B1", "type": "text"})
    response = client.post(INBOUND_URL, params)
    assert response.status_code == 204
    assert Member.objects.get(pk=member.pk).sms_subscription is False


def test_an_unsigned_inbound_message_is_refused(vonage, vonage_provider, client):
    MemberFactory(mobile="+14155550123")
    response = client.post(INBOUND_URL, {"msisdn": "14155550123", "text": "STOP", "messageId": "0B1"})
    assert response.status_code == 403


def test_a_timestamp_that_is_not_ascii_digits_is_refused(vonage, vonage_provider, client):
    response = client.post(STATUS_URL, {"messageId": "0A1", "status": "delivered", "timestamp": "²", "sig": "ab"})
    assert response.status_code == 403
