"""A key's destination countries and daily quota of parts, enforced when a request is stored."""

import pytest
from rest_framework.test import APIClient

from messaging.backends import locmem
from messaging.models import Recipient, SmsMessage, SmsRequest
from messaging.services.api_keys import api_key_create
from messaging.services.dispatch import dispatch_due_run
from messaging.services.expansion import message_expand
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json

SEND_TO_ANYONE = "/api/v1/message/sms?checkUserExistence=false"


def to_mobile(mobile, content="hello"):
    return one_message(priorityService="false", recipients={"recipient": {"mobile": mobile}}, content=content)


@pytest.fixture
def limited_client(db):
    def build(**limits):
        api_key, raw_key = api_key_create(name="limited")
        for name, value in limits.items():
            setattr(api_key, name, value)
        api_key.save()
        client = APIClient()
        client.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
        return client

    return build


def test_a_destination_outside_the_keys_countries_is_refused_and_nothing_stored(limited_client):
    response = post_json(limited_client(allowed_countries=["US"]), to_mobile("+254712345678"), url=SEND_TO_ANYONE)
    assert response.status_code == 403
    assert response.json() == {
        "id": "",
        "message": "Destination country not allowed for this API key: KE (allowed: US)",
    }
    assert not SmsRequest.objects.exists()


def test_a_destination_inside_the_keys_countries_is_queued(limited_client):
    response = post_json(limited_client(allowed_countries=["KE"]), to_mobile("+254712345678"), url=SEND_TO_ANYONE)
    assert response.status_code == 200, response.content


def test_a_request_past_the_daily_quota_is_429_and_nothing_stored(limited_client):
    client = limited_client(daily_quota_parts=2)
    assert post_json(client, to_mobile("+254712345678", "x" * 200), url=SEND_TO_ANYONE).status_code == 200
    response = post_json(client, to_mobile("+254712345679"), url=SEND_TO_ANYONE)
    assert response.status_code == 429
    assert response.json()["message"].startswith("Daily quota of 2 message parts exceeded for this API key")
    assert "Retry-After" in response
    assert SmsRequest.objects.count() == 1


# Segment messages: their recipients are written later, by expansion, but the limits still hold.


def to_everyone(content="hello"):
    from audiences.models import Segment

    everyone = Segment.objects.get(name=Segment.ALL_USERS)
    return one_message(
        priorityService="false", recipients={"segment": {"criteria": f"##{everyone.id}##"}}, content=content
    )


def test_a_segment_request_past_the_daily_quota_is_429_and_nothing_stored(limited_client):
    for n in range(3):
        MemberFactory(mobile=f"+1415555010{n}")
    response = post_json(limited_client(daily_quota_parts=2), to_everyone())
    assert response.status_code == 429
    assert response.json()["message"] == (
        "Daily quota of 2 message parts exceeded for this API key: 0 used today, this request needs 3"
    )
    assert not SmsRequest.objects.exists()


def test_a_segment_not_yet_expanded_counts_against_the_next_request(limited_client):
    for n in range(3):
        MemberFactory(mobile=f"+1415555010{n}")
    client = limited_client(daily_quota_parts=4)
    assert post_json(client, to_everyone()).status_code == 200
    assert SmsMessage.objects.get().expected_total == 3
    response = post_json(client, to_everyone())
    assert response.status_code == 429
    assert "3 used today, this request needs 3" in response.json()["message"]


def test_a_segment_reaching_a_country_outside_the_keys_list_is_403(limited_client):
    MemberFactory(mobile="+14155550100")
    MemberFactory(mobile="+254712345678", country="Kenya", state="")
    response = post_json(limited_client(allowed_countries=["US"]), to_everyone())
    assert response.status_code == 403
    assert response.json()["message"] == "Destination country not allowed for this API key: KE (allowed: US)"
    assert not SmsRequest.objects.exists()


def test_dispatch_rejects_a_recipient_whose_region_shares_an_allowed_calling_code(limited_client):
    # Canada shares +1 with the United States: the request passes, the Canadian is not sent to.
    MemberFactory(mobile="+14155550100")
    MemberFactory(mobile="+16045550100", country="Canada", state="")
    response = post_json(limited_client(allowed_countries=["US"], daily_quota_parts=10), to_everyone())
    assert response.status_code == 200, response.content
    message = SmsMessage.objects.get()
    message_expand(message_id=message.id)
    dispatch_due_run(seconds=5)
    assert [sms.phone for sms in locmem.outbox] == ["+14155550100"]
    canadian = Recipient.objects.get(phone="+16045550100")
    assert (canadian.state, canadian.error) == ("rejected", "destination country CA not allowed for this API key")


def test_a_text_refused_for_its_country_is_not_called_instead(limited_client):
    MemberFactory(mobile="+16045550100", country="Canada", state="")
    message = to_everyone()
    message["smsServiceRequest"]["messages"]["message"]["sendVoiceSmsOnFailure"] = "true"
    assert post_json(limited_client(allowed_countries=["US"]), message).status_code == 200
    message_expand(message_id=SmsMessage.objects.get().id)
    dispatch_due_run(seconds=5)
    assert list(Recipient.objects.values_list("channel", "state")) == [("text", "rejected")]
