"""The optional Idempotency-Key header (CONTRACT section 5)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from messaging.models import Recipient, SmsMessage, SmsRequest
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json, post_xml


@pytest.fixture
def member(db):
    return MemberFactory()


def body(member, content="x"):
    return json.dumps(one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content=content))


def test_the_same_key_and_body_answer_the_first_id_and_store_nothing_new(client, member):
    first = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="order-17")
    again = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="order-17")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert (SmsRequest.objects.count(), SmsMessage.objects.count(), Recipient.objects.count()) == (1, 1, 1)


def test_the_same_key_with_another_body_is_a_409(client, member):
    post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="order-17")
    response = post_json(client, body(member, content="other"), HTTP_IDEMPOTENCY_KEY="order-17")
    assert response.status_code == 409
    assert response.json() == {"id": "", "message": "Idempotency-Key reused with a different request"}
    assert SmsRequest.objects.count() == 1


def test_the_409_speaks_xml_to_an_xml_client(client, member):
    xml = (
        "<smsServiceRequest><messages><message><priorityService>true</priorityService>"
        f'<recipients><recipient id="{member.id}"/></recipients><content>x</content>'
        "</message></messages></smsServiceRequest>"
    )
    post_xml(client, xml, HTTP_IDEMPOTENCY_KEY="k")
    response = post_xml(client, xml.replace(">x<", ">y<"), HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409
    assert response.content.endswith(
        b"<smsResponse><code>409</code><description>Idempotency-Key reused with a different request"
        b"</description></smsResponse>"
    )


def test_without_the_header_the_same_body_is_a_new_request(client, member):
    ids = {post_json(client, body(member)).json()["id"] for _ in range(2)}
    assert len(ids) == 2


def test_another_key_holder_may_use_the_same_key(client, member):
    _, other_key = api_key_create(name="other")
    other = APIClient()
    other.credentials(HTTP_X_VOLTMX_APP_API_KEY=other_key)
    first = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="same")
    second = post_json(other, body(member), HTTP_IDEMPOTENCY_KEY="same")
    assert first.json()["id"] != second.json()["id"]
    assert SmsRequest.objects.count() == 2


def test_a_key_older_than_a_day_starts_a_new_request(client, member):
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        first = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="daily").json()["id"]
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        later = post_json(client, body(member, content="new"), HTTP_IDEMPOTENCY_KEY="daily")
    assert later.status_code == 200
    assert later.json()["id"] != first
    assert SmsRequest.objects.count() == 2


def test_a_refused_request_does_not_hold_its_key(client, member):
    refused = post_json(client, "{", HTTP_IDEMPOTENCY_KEY="retry-me")
    accepted = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="retry-me")
    assert (refused.status_code, accepted.status_code) == (400, 200)


def test_a_request_that_raced_past_the_replay_check_answers_the_first_id(client, member, monkeypatch):
    """Two requests with one key at once: the second finds no replay, then meets the first's row."""
    from messaging.services import requests as submit

    first = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="race").json()["id"]
    real_find = submit.sms_request_find_replay
    calls = []

    def find_nothing_the_first_time(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_find(**kwargs)

    monkeypatch.setattr(submit, "sms_request_find_replay", find_nothing_the_first_time)
    monkeypatch.setattr("messaging.api.views.sms_request_find_replay", find_nothing_the_first_time)
    again = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="race")
    assert again.status_code == 200
    assert again.json()["id"] == first
    assert SmsRequest.objects.count() == 1


def test_long_keys_that_share_a_beginning_are_different_keys(client, member):
    first = post_json(client, body(member), HTTP_IDEMPOTENCY_KEY="k" * 300 + "1")
    second = post_json(client, body(member, content="other"), HTTP_IDEMPOTENCY_KEY="k" * 300 + "2")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["id"] != second.json()["id"]
