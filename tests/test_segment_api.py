import json

import pytest

from audiences.models import AudienceAttribute, Segment
from messaging.models import SCOPES, Recipient, SmsMessage
from messaging.services.api_keys import api_key_create
from messaging.services.expansion import message_expand
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json


@pytest.fixture
def api_key(db):
    """A partner key with every scope: these tests are about the endpoints, not the scopes."""
    return api_key_create(name="partner", scopes=list(SCOPES))


pytestmark = pytest.mark.django_db

URL = "/api/v1/segments"


def send(client, method, url, body):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def californians():
    return {
        "name": "Californians who score",
        "definition": "1 AND 2",
        "conditions": [
            {"number": 1, "attribute": "state", "operator": "Equal", "value": "CA"},
            {"number": 2, "attribute": "score", "operator": "GreaterThan", "value": 10},
        ],
    }


@pytest.fixture(autouse=True)
def declared(db):
    AudienceAttribute.objects.create(name="score", type="number")


def test_post_answers_the_new_id(client):
    response = send(client, "POST", URL, californians())
    segment = Segment.objects.get(name="Californians who score")
    assert response.json() == {"id": str(segment.id), "message": "Segment added successfully"}
    assert segment.conditions.count() == 2


def test_get_shows_the_definition_as_evaluated(client):
    segment_id = send(client, "POST", URL, {**californians(), "definition": "1 OR 2 AND 1"}).json()["id"]
    body = client.get(f"{URL}/{segment_id}").json()
    assert body["evaluatedAs"].startswith("((1 OR 2) AND 1) = ")
    assert body["conditions"][1] == {"number": 2, "attribute": "score", "operator": "GreaterThan", "value": "10"}


def test_an_invalid_definition_is_a_400_that_says_why(client):
    response = send(client, "POST", URL, {**californians(), "definition": "1 AND 3"})
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid segment: definition: no condition numbered 3"


def test_an_unknown_operator_is_a_400(client):
    body = californians()
    body["conditions"][0]["operator"] = "Like"
    response = send(client, "POST", URL, body)
    assert response.status_code == 400
    assert "operator 'Like' does not apply" in response.json()["message"]


def test_a_duplicate_name_is_a_400(client):
    send(client, "POST", URL, californians())
    response = send(client, "POST", URL, californians())
    assert response.status_code == 400
    assert "already exists" in response.json()["message"]


def test_put_replaces_the_conditions(client):
    segment_id = send(client, "POST", URL, californians()).json()["id"]
    response = send(
        client,
        "PUT",
        f"{URL}/{segment_id}",
        {"definition": "", "conditions": [{"attribute": "state", "operator": "Equal", "value": "NY"}]},
    )
    segment = Segment.objects.get(pk=segment_id)
    assert response.json()["message"] == "Segment updated successfully"
    assert (segment.definition, segment.conditions.get().value) == ("1", "NY")


def test_all_users_cannot_be_changed_or_deleted(client):
    all_users = Segment.objects.get(name=Segment.ALL_USERS)
    assert send(client, "PUT", f"{URL}/{all_users.id}", {"name": "x"}).status_code == 400
    assert client.delete(f"{URL}/{all_users.id}").status_code == 400


def test_the_list_includes_all_users(client):
    body = client.get(URL).json()
    assert [s["name"] for s in body["segments"]] == [Segment.ALL_USERS]


def test_delete_removes_an_unused_segment(client):
    segment_id = send(client, "POST", URL, californians()).json()["id"]
    response = client.delete(f"{URL}/{segment_id}")
    assert response.json() == {"id": segment_id, "message": "Segment deleted successfully"}
    assert not Segment.objects.filter(pk=segment_id).exists()


def _queue_segment_message(client, segment_id):
    response = post_json(
        client,
        one_message(content="Hi", priorityService="false", recipients={"segment": {"criteria": f"##{segment_id}##"}}),
    )
    assert response.status_code == 200, response.content
    return SmsMessage.objects.get(request_id=response.json()["id"])


def test_a_segment_of_a_message_still_expanding_cannot_be_deleted(client):
    segment_id = send(client, "POST", URL, californians()).json()["id"]
    message = _queue_segment_message(client, segment_id)
    response = client.delete(f"{URL}/{segment_id}")
    assert response.status_code == 409
    assert str(message.id) in response.json()["message"]


def test_a_segment_of_a_message_with_waiting_recipients_cannot_be_deleted(client):
    MemberFactory(state="CA", attributes={"score": 50})
    segment_id = send(client, "POST", URL, californians()).json()["id"]
    message = _queue_segment_message(client, segment_id)
    message_expand(message_id=message.id)
    assert client.delete(f"{URL}/{segment_id}").status_code == 409


def test_a_segment_whose_messages_are_sent_can_be_deleted(client):
    MemberFactory(state="CA", attributes={"score": 50})
    segment_id = send(client, "POST", URL, californians()).json()["id"]
    message = _queue_segment_message(client, segment_id)
    message_expand(message_id=message.id)
    Recipient.objects.update(state="submitted")
    assert client.delete(f"{URL}/{segment_id}").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x", "definition": "1" * 2000, "conditions": []},
        {"name": "x", "conditions": [{"attribute": "state", "operator": "Equal", "value": "v" * 501}]},
        {"name": "x", "conditions": [{"attribute": "state", "operator": "Equal", "value": {"a": 1}}]},
        {"name": "x", "conditions": [{"number": 1.5, "attribute": "state", "operator": "Equal"}]},
        {"name": "x", "conditions": "state = CA"},
        {"name": ["x"], "definition": 7, "conditions": [None]},
        {"name": "x" * 300},
    ],
)
def test_odd_segment_bodies_are_400s(client, body):
    response = send(client, "POST", URL, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid segment: ")


def test_get_with_count_says_how_many_members_the_segment_holds(client):
    MemberFactory(state="CA", attributes={"score": 50})
    MemberFactory(state="CA", attributes={"score": 50}, sms_subscription=False)
    MemberFactory(state="CA", attributes={"score": 5})
    segment_id = send(client, "POST", URL, californians()).json()["id"]
    body = client.get(f"{URL}/{segment_id}", {"count": "true"}).json()
    assert (body["memberCount"], body["reachableCount"]) == (2, 1)
