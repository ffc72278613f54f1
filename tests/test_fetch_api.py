"""Fetch All SMS and Get Full Content: who may call them (the status scope, or
messaging.view_smsrequest; anyone only with the unsafe VOLTMX_OPEN_FETCH_APIS), whose messages
they show, and how they read their bodies."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from messaging.models import Recipient
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory, SmsRequestFactory
from tests.helpers import grant

pytestmark = pytest.mark.django_db

FETCH_URL = "/api/v1/messages/sms/fetch"


def fetch(api, **fields):
    return api.generic("POST", FETCH_URL, json.dumps(fields), content_type="application/json")


def content_of(api, recipient):
    return api.get(f"/api/v1/messages/sms/content/{recipient.pk}")


def message_to(member, *, client, content="Hello [[firstName]]", state="submitted"):
    sms_request = SmsRequestFactory(client=client)
    message = SmsMessageFactory(request=sms_request, content=content, personalised="[[" in content)
    return RecipientFactory(message=message, member=member, phone=member.mobile, state=state)


@pytest.fixture
def member(db):
    return MemberFactory(first_name="Ada")


@pytest.fixture
def own_message(api_key, member):
    return message_to(member, client=f"key:{api_key[0].pk}")


@pytest.fixture
def theirs(member):
    return message_to(member, client="key:99999", content="Their secret [[firstName]]")


def test_fetch_all_needs_credentials(own_message):
    response = fetch(APIClient(), audienceId=str(own_message.member_id))
    assert (response.status_code, response.json()) == (401, {"id": "", "message": "Unauthorized request"})


def test_full_content_needs_credentials(own_message):
    response = content_of(APIClient(), own_message)
    assert (response.status_code, response.json()) == (401, {"id": "", "message": "Unauthorized request"})


def test_a_key_without_the_status_scope_is_403(own_message):
    _, raw = api_key_create(name="sender only", scopes=["send"])
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw)
    assert fetch(api, audienceId=str(own_message.member_id)).status_code == 403
    assert content_of(api, own_message).status_code == 403


def test_a_partner_sees_only_its_own_messages(client, own_message, theirs):
    body = fetch(client, audienceId=str(own_message.member_id)).json()
    assert [message["fetchId"] for message in body["messages"]] == [str(own_message.pk)]
    assert body["totalMessages"] == 1


def test_another_partners_message_has_no_content_for_a_partner(client, theirs):
    response = content_of(client, theirs)
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "Invalid SMS ID. No message found with the provided ID"},
    )


def test_a_gateway_user_with_the_view_permission_reads_them(own_message, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user("ops", password="pw-ops-123", is_staff=True)
    grant(user, "messaging.view_smsrequest")
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION="Basic b3BzOnB3LW9wcy0xMjM=")
    assert fetch(staff, audienceId=str(own_message.member_id)).json()["totalMessages"] == 1
    assert content_of(staff, own_message).json() == {"content": "Hello Ada"}


def test_a_gateway_user_without_the_view_permission_is_403(own_message, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_user("ops", password="pw-ops-123", is_staff=True)
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION="Basic b3BzOnB3LW9wcy0xMjM=")
    assert fetch(staff, audienceId=str(own_message.member_id)).status_code == 403
    assert content_of(staff, own_message).status_code == 403


def test_the_open_setting_serves_both_without_credentials(own_message, theirs, settings):
    settings.VOLTMX_OPEN_FETCH_APIS = True
    anonymous = APIClient()
    body = fetch(anonymous, audienceId=str(own_message.member_id)).json()
    assert sorted(message["fetchId"] for message in body["messages"]) == sorted([str(own_message.pk), str(theirs.pk)])
    assert content_of(anonymous, theirs).json() == {"content": "Their secret Ada"}


def test_the_open_setting_still_refuses_wrong_credentials(own_message, settings):
    settings.VOLTMX_OPEN_FETCH_APIS = True
    stranger = APIClient()
    stranger.credentials(HTTP_X_VOLTMX_APP_API_KEY="0123456789ab.not-a-key-of-ours")
    assert fetch(stranger, audienceId=str(own_message.member_id)).status_code == 401


def test_the_open_setting_keeps_a_partner_to_its_own_messages(client, own_message, theirs, settings):
    settings.VOLTMX_OPEN_FETCH_APIS = True
    body = fetch(client, audienceId=str(own_message.member_id)).json()
    assert [message["fetchId"] for message in body["messages"]] == [str(own_message.pk)]


def test_the_open_setting_opens_no_other_route(db, settings):
    settings.VOLTMX_OPEN_FETCH_APIS = True
    anonymous = APIClient()
    assert anonymous.generic("POST", "/api/v1/status/sms", "{}", content_type="application/json").status_code == 401
    assert anonymous.get("/api/v1/message/sms/1").status_code == 401


def test_the_content_is_the_text_the_recipient_got(client, api_key, member):
    stored = message_to(member, client=f"key:{api_key[0].pk}", content="Hi [[firstName]]")
    Recipient.objects.filter(pk=stored.pk).update(content="Hi Ada, as sent")
    assert content_of(client, stored).json() == {"content": "Hi Ada, as sent"}


def test_a_tag_with_a_fallback_is_resolved(client, api_key):
    nameless = MemberFactory(first_name="")
    recipient = message_to(nameless, client=f"key:{api_key[0].pk}", content="Dear [[firstName,customer]]")
    assert content_of(client, recipient).json() == {"content": "Dear customer"}


def test_fetch_by_a_mobile_number_sent_as_a_number(client, own_message):
    body = fetch(client, mobileNo=int(own_message.phone.lstrip("+"))).json()
    assert [message["fetchId"] for message in body["messages"]] == [str(own_message.pk)]


def test_fetch_by_a_number_with_no_messages_is_empty(client, own_message):
    body = fetch(client, mobileNo="+14155550199").json()
    assert body == {"totalMessages": 0, "openedMessages": 0, "messages": [], "submittedMessages": 0}


def test_fetch_counts_what_reached_a_provider_as_submitted(client, api_key, member):
    for state in ("initial", "submitted", "delivered", "undelivered", "rejected"):
        message_to(member, client=f"key:{api_key[0].pk}", state=state)
    body = fetch(client, audienceId=str(member.pk)).json()
    assert (body["totalMessages"], body["submittedMessages"], body["openedMessages"]) == (5, 3, 0)
    assert sorted(message["status"] for message in body["messages"]) == [
        "Delivered",
        "Initial",
        "Rejected",
        "Submitted",
        "Undelivered",
    ]


def test_fetch_is_paged_from_a_0_based_start_newest_first(client, api_key, member):
    recipients = [message_to(member, client=f"key:{api_key[0].pk}") for _ in range(4)]
    body = fetch(client, audienceId=str(member.pk), startElement="1", elementsPerPage="2").json()
    assert [message["fetchId"] for message in body["messages"]] == [str(recipients[2].pk), str(recipients[1].pk)]
    assert body["totalMessages"] == 4


@pytest.mark.parametrize(
    "fields",
    [
        {"audienceId": "two"},
        {"audienceId": "2", "startElement": "-1"},
        {"audienceId": "2", "elementsPerPage": "0"},
        {"audienceId": "2", "elementsPerPage": "100000"},
    ],
)
def test_a_value_that_is_no_number_or_out_of_range_is_a_400(client, fields):
    response = fetch(client, **fields)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid request format, Error messages :[")


def test_a_body_that_is_not_an_object_is_a_400(client):
    response = client.generic("POST", FETCH_URL, "[1, 2]", content_type="application/json")
    assert response.status_code == 400
