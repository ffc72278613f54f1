import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from audiences.models import Member
from messaging.models import SCOPES, InboundSms, Recipient
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory, RecipientFactory


@pytest.fixture
def api_key(db):
    """A partner key with every scope: these tests are about the endpoints, not the scopes."""
    return api_key_create(name="partner", scopes=list(SCOPES))


URL = "/api/v1/messages/sms/inbound/default"
pytestmark = pytest.mark.django_db


def inbound(client, **fields):
    body = {"phoneNumber": "+14155550123", "smsText": "hello", "senderMessageId": "m-1", "smsSentTo": "12345"}
    body.update(fields)
    return client.generic("POST", URL, json.dumps(body), content_type="application/json")


def subscribed(member):
    return Member.objects.get(pk=member.pk).sms_subscription


def test_stop_opts_the_member_out_of_sms(client):
    member = MemberFactory(mobile="+14155550123")
    response = inbound(client, smsText="STOP")
    assert (response.status_code, subscribed(member)) == (200, False)


def test_unsubscribe_opts_the_member_out_of_sms(client):
    member = MemberFactory(mobile="+14155550123")
    inbound(client, smsText="unsubscribe please")
    assert subscribed(member) is False


def test_start_opts_the_member_back_in(client):
    member = MemberFactory(mobile="+14155550123", sms_subscription=False)
    inbound(client, smsText="START")
    assert subscribed(member) is True


def test_subscribe_opts_the_member_back_in(client):
    member = MemberFactory(mobile="+14155550123", sms_subscription=False)
    inbound(client, smsText="Subscribe")
    assert subscribed(member) is True


def test_an_ordinary_reply_changes_nothing(client):
    member = MemberFactory(mobile="+14155550123")
    inbound(client, smsText="Thanks, see you at STOP 5")
    assert subscribed(member) is True


def test_a_number_without_its_plus_is_understood(client):
    member = MemberFactory(mobile="+14155550123")
    inbound(client, phoneNumber="14155550123", smsText="STOP")
    assert subscribed(member) is False


def test_stop_marks_the_texts_still_queued_for_the_number_not_attempted(client):
    MemberFactory(mobile="+14155550123")
    RecipientFactory(phone="+14155550123")
    inbound(client, smsText="STOP")
    assert Recipient.objects.get().state == "not attempted"


def test_stop_leaves_queued_voice_calls_alone(client):
    MemberFactory(mobile="+14155550123")
    RecipientFactory(phone="+14155550123", message__channel="voice")
    inbound(client, smsText="STOP")
    assert Recipient.objects.get().state == "initial"


def test_the_answer_names_the_senders_message(client):
    response = inbound(client, smsText="hello")
    assert response.json() == {"id": "m-1", "message": "Inbound SMS received"}


def test_a_missing_phone_number_is_a_400(client):
    response = inbound(client, phoneNumber="")
    assert (response.status_code, response.json()["message"]) == (
        400,
        "Invalid request format, Error messages :[phoneNumber must be a phone number]",
    )


def test_a_missing_text_is_a_400(client):
    body = {"phoneNumber": "+14155550123"}
    response = client.generic("POST", URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 400


def test_a_body_that_is_not_an_object_is_a_400(client):
    response = client.generic("POST", URL, json.dumps(["STOP"]), content_type="application/json")
    assert response.status_code == 400


def test_inbound_needs_credentials():
    response = inbound(APIClient(), smsText="STOP")
    assert response.status_code == 401


def test_inbound_in_xml_is_taken(client):
    member = MemberFactory(mobile="+14155550123")
    body = "<inbound><phoneNumber>+14155550123</phoneNumber><smsText>STOP</smsText></inbound>"
    response = client.generic("POST", URL, body, content_type="text/xml")
    assert (response.status_code, subscribed(member)) == (200, False)


def test_every_inbound_sms_is_kept_with_its_member_and_action(client):
    member = MemberFactory(mobile="+14155550123")
    inbound(client, smsText="Thanks!", senderMessageId="m-1")
    inbound(client, smsText="STOP", senderMessageId="m-2")
    inbound(client, phoneNumber="+14155550999", smsText="who is this?", senderMessageId="m-3")
    kept = InboundSms.objects.order_by("id").values_list("phone", "text", "action", "member_id", "sent_to")
    assert list(kept) == [
        ("+14155550123", "Thanks!", "", member.pk, "12345"),
        ("+14155550123", "STOP", "opt-out", member.pk, "12345"),
        ("+14155550999", "who is this?", "", None, "12345"),
    ]


def test_the_same_message_sent_again_is_kept_and_acted_on_once(client):
    member = MemberFactory(mobile="+14155550123")
    assert inbound(client, smsText="STOP", senderMessageId="m-9").status_code == 200
    Member.objects.filter(pk=member.pk).update(sms_subscription=True)  # opted in meanwhile, elsewhere
    assert inbound(client, smsText="STOP", senderMessageId="m-9").status_code == 200
    assert (InboundSms.objects.count(), subscribed(member)) == (1, True)


def test_text_the_database_cannot_hold_is_kept_readable(client):
    response = inbound(client, smsText="a\u0000b\ud800c")
    assert response.status_code == 200
    assert InboundSms.objects.get().text == "ab?c"


def test_the_console_lists_inbound_sms_for_an_auditor(client):
    from django.contrib.auth.models import User

    from ops.groups import console_groups_setup

    console_groups_setup()
    inbound(client, smsText="STOP please")
    auditor = User.objects.create_user("audit", password="x", is_staff=True)
    auditor.groups.add(Group.objects.get(name="auditor"))
    browser = Client()
    browser.force_login(auditor)
    page = browser.get("/admin/messaging/inboundsms/", {"q": "+14155550123"})
    assert page.status_code == 200
    assert b"STOP please" in page.content and b"opt-out" in page.content


def test_an_unknown_key_is_refused_and_nothing_is_kept(client):
    response = inbound(client, smsTxt="STOP", keyword="x")
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": "The request contains invalid attributes : keyword, smsTxt"}
    assert not InboundSms.objects.exists()
