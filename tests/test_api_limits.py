"""A key's destination countries and daily quota of parts, enforced when a request is stored."""

import pytest
from rest_framework.test import APIClient

from messaging.models import SmsRequest
from messaging.services.api_keys import api_key_create
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
