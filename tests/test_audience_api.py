import json

import pytest

from audiences.models import AudienceAttribute, Member
from messaging.models import SCOPES
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory


@pytest.fixture
def api_key(db):
    """A partner key with every scope: these tests are about the endpoints, not the scopes."""
    return api_key_create(name="partner", scopes=list(SCOPES))


pytestmark = pytest.mark.django_db

URL = "/api/v1/audience"


def send(client, method, url, body):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def ada(**extra):
    return {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "mobileNumber": "+14155550100",
        "country": "United States",
        "state": "California",
        **extra,
    }


def test_post_answers_the_new_id_in_the_volt_mx_shape(client):
    response = send(client, "POST", URL, ada())
    member = Member.objects.get()
    assert response.status_code == 200
    assert response.json() == {"id": str(member.id), "message": "Details added successfully"}


def test_post_normalises_a_national_mobile_to_e164(client):
    send(client, "POST", URL, ada(mobileNumber="(415) 555-0100"))
    assert Member.objects.get().mobile == "+14155550100"


def test_post_accepts_a_mobile_given_as_a_number(client):
    send(client, "POST", URL, ada(mobileNumber=14155550100))
    assert Member.objects.get().mobile == "+14155550100"


def test_a_bad_mobile_is_a_400(client):
    response = send(client, "POST", URL, ada(mobileNumber="+1415"))
    assert response.status_code == 400
    assert "mobileNumber '+1415' is not a valid phone number" in response.json()["message"]


def test_a_duplicate_mobile_names_the_existing_member(client):
    existing = MemberFactory(mobile="+14155550100")
    response = send(client, "POST", URL, ada())
    assert response.status_code == 400
    assert response.json()["message"] == f"mobileNumber +14155550100 already belongs to member {existing.id}"
    assert response.json()["existingId"] == str(existing.id)


def test_a_duplicate_email_names_the_existing_member(client):
    existing = MemberFactory(email="ada@example.com")
    response = send(client, "POST", URL, ada(email="ADA@example.com"))
    assert response.status_code == 400
    assert response.json()["message"] == f"email ada@example.com already belongs to member {existing.id}"


def test_state_is_required_in_the_usa(client):
    response = send(client, "POST", URL, ada(state=""))
    assert response.status_code == 400
    assert response.json()["message"] == "state is required when the country is the USA"


def test_state_is_optional_elsewhere(client):
    response = send(client, "POST", URL, ada(country="Kenya", state="", mobileNumber="+254712345678"))
    assert response.status_code == 200


@pytest.mark.parametrize("field", ["firstName", "lastName", "email", "country"])
def test_required_fields_are_named_when_missing(client, field):
    body = ada()
    del body[field]
    response = send(client, "POST", URL, body)
    assert response.status_code == 400
    assert response.json()["message"] == f"{field} is required"


def test_an_unknown_attribute_is_a_400(client):
    response = send(client, "POST", URL, ada(attributes={"shoeSize": 9}))
    assert response.status_code == 400
    assert response.json()["message"] == "unknown attribute 'shoeSize'"


def test_an_unknown_field_is_a_400(client):
    response = send(client, "POST", URL, ada(shoeSize=9))
    assert response.status_code == 400
    assert "unknown field 'shoeSize'" in response.json()["message"]


def test_custom_attributes_are_stored_by_type(client):
    AudienceAttribute.objects.create(name="score", type="number")
    AudienceAttribute.objects.create(name="joined", type="date")
    send(client, "POST", URL, ada(attributes={"score": "42", "joined": "2024-05-01"}))
    assert Member.objects.get().attributes == {"score": 42, "joined": "2024-05-01"}


def test_a_badly_typed_attribute_is_a_400(client):
    AudienceAttribute.objects.create(name="joined", type="date")
    response = send(client, "POST", URL, ada(attributes={"joined": "yesterday"}))
    assert response.status_code == 400
    assert response.json()["message"] == "attribute joined must be a date written YYYY-MM-DD"


def test_a_body_that_is_not_an_object_is_a_400(client):
    response = send(client, "POST", URL, ["Ada"])
    assert response.status_code == 400


def test_get_answers_the_member(client):
    member = MemberFactory(first_name="Ada", mobile="+14155550100", sms_subscription=False)
    body = client.get(f"{URL}/{member.id}").json()
    assert (body["id"], body["firstName"], body["mobileNumber"], body["smsSubscription"]) == (
        str(member.id),
        "Ada",
        "+14155550100",
        False,
    )


def test_get_of_a_missing_member_is_a_404(client):
    assert client.get(f"{URL}/999999").status_code == 404
    assert client.get(f"{URL}/abc").status_code == 404


def test_put_changes_only_what_is_given(client):
    member = MemberFactory(first_name="Ada", sms_subscription=True)
    response = send(client, "PUT", f"{URL}/{member.id}", {"smsSubscription": False})
    member.refresh_from_db()
    assert response.json() == {"id": str(member.id), "message": "Details updated successfully"}
    assert (member.first_name, member.sms_subscription) == ("Ada", False)


def test_put_refuses_the_mobile_of_another_member(client):
    other = MemberFactory(mobile="+14155550111")
    member = MemberFactory(mobile="+14155550100")
    response = send(client, "PUT", f"{URL}/{member.id}", {"mobileNumber": "+14155550111"})
    assert response.status_code == 400
    assert response.json()["existingId"] == str(other.id)


def test_put_removes_an_attribute_given_as_null(client):
    AudienceAttribute.objects.create(name="score", type="number")
    member = MemberFactory(attributes={"score": 3})
    send(client, "PUT", f"{URL}/{member.id}", {"attributes": {"score": None}})
    member.refresh_from_db()
    assert member.attributes == {}


def test_delete_removes_the_member(client):
    member = MemberFactory()
    response = client.delete(f"{URL}/{member.id}")
    assert response.json() == {"id": str(member.id), "message": "Details deleted successfully"}
    assert not Member.objects.exists()


def test_the_list_is_paged(client):
    members = [MemberFactory() for _ in range(5)]
    body = client.get(URL, {"startElement": 3, "elementsPerPage": 2}).json()
    assert body["totalCount"] == 5
    assert [m["id"] for m in body["audience"]] == [str(members[2].id), str(members[3].id)]


def test_a_bad_page_size_is_a_400(client):
    response = client.get(URL, {"elementsPerPage": 0})
    assert response.status_code == 400
    assert "elementsPerPage" in response.json()["message"]


def test_the_list_filters_by_mobile(client):
    MemberFactory(mobile="+14155550100")
    MemberFactory(mobile="+14155550101")
    body = client.get(URL, {"mobileNumber": "+14155550101"}).json()
    assert [m["mobileNumber"] for m in body["audience"]] == ["+14155550101"]


def test_the_api_needs_credentials(db):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"firstName": {"a": 1}},
        {"email": 12},
        {"mobileNumber": 1.5},
        {"mobileNumber": True},
        {"lastActiveDate": "99999999999999999999"},
        {"lastActiveDate": "2024"},
        {"attributes": "x"},
        {"attributes": {"score": [1]}},
        {"country": "c" * 65},
        {"active": "maybe"},
    ],
)
def test_odd_member_bodies_are_400s(client, changes):
    AudienceAttribute.objects.get_or_create(name="score", type="number")
    response = send(client, "POST", URL, ada(**changes))
    assert response.status_code == 400
    assert response.json()["message"]
