"""The audience member API in the Volt MX shape: behaviour where the pages are silent, and the
documented texts where they speak (the verbatim samples are in test_audience_samples.py)."""

import json
import re

import pytest

from audiences.models import AudienceAttribute, Member
from messaging.models import SCOPES
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory


@pytest.fixture
def api_key(db):
    """A partner key with every scope: these tests are about the endpoints, not the scopes."""
    return api_key_create(name="partner", scopes=list(SCOPES))


@pytest.fixture
def owner(api_key):
    return f"key:{api_key[0].pk}"


pytestmark = pytest.mark.django_db

URL = "/api/v1/audience"
NOT_FOUND = "Invalid Audience Member ID provided or no audience member found with given ID"
DATE_STR = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M \w+$")


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


def test_a_member_a_partner_creates_belongs_to_it(client, owner):
    send(client, "POST", URL, ada())
    assert Member.objects.get().owner == owner


def test_post_normalises_a_national_mobile_to_e164(client):
    send(client, "POST", URL, ada(mobileNumber="(415) 555-0100"))
    assert Member.objects.get().mobile == "+14155550100"


@pytest.mark.parametrize("key", ["mobileNumber", "mobileNo", "mobile"])
def test_post_accepts_a_mobile_given_as_a_number(client, key):
    body = ada()
    del body["mobileNumber"]
    send(client, "POST", URL, {**body, key: 14155550100})
    assert Member.objects.get().mobile == "+14155550100"


def test_a_bad_mobile_is_a_400_with_the_documented_text(client):
    response = send(client, "POST", URL, ada(mobileNumber="+1415"))
    assert response.status_code == 400
    assert response.json() == {
        "id": "",
        "message": "Mobile number should have country code followed by ten digit number",
    }


def test_a_duplicate_mobile_names_the_existing_member(client):
    existing = MemberFactory(mobile="+14155550100")
    response = send(client, "POST", URL, ada())
    assert response.status_code == 400
    assert response.json() == {"id": str(existing.id), "message": "User already exists with this mobile number"}


def test_a_duplicate_email_names_the_existing_member(client):
    existing = MemberFactory(email="ada@example.com")
    response = send(client, "POST", URL, ada(email="ADA@example.com", mobileNumber=""))
    assert response.status_code == 400
    assert response.json() == {"id": str(existing.id), "message": "User already exists with this Email ada@example.com"}


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


def test_an_unknown_key_is_a_400_that_names_it(client):
    response = send(client, "POST", URL, ada(shoeSize=9, hatSize=2))
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": "The request contains invalid attributes : hatSize, shoeSize"}
    assert not Member.objects.exists()


def test_an_unknown_custom_attribute_is_a_400_that_names_it(client):
    response = send(client, "POST", URL, ada(attributes={"shoeSize": 9}))
    assert response.status_code == 400
    assert response.json()["message"] == "The request contains invalid attributes : shoeSize"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_unknown_key_is_refused_on_modify(client, owner, method):
    member = MemberFactory(first_name="Ada", owner=owner)
    url = f"{URL}/{member.id}" if method == "PUT" else f"{URL}/modify?id={member.id}"
    response = send(client, method, url, {"firstName": "Eve", "nickname": "E"})
    assert response.json() == {"id": "", "message": "The request contains invalid attributes : nickname"}
    member.refresh_from_db()
    assert member.first_name == "Ada"


def test_custom_attributes_go_at_the_top_level_and_are_stored_by_type(client):
    AudienceAttribute.objects.create(name="score", type="number")
    AudienceAttribute.objects.create(name="Date Joined", type="date")
    response = send(client, "POST", URL, ada(score="42", **{"Date Joined": "05/01/2024"}))
    assert response.status_code == 200, response.content
    assert Member.objects.get().attributes == {"score": 42, "Date Joined": "2024-05-01"}


def test_custom_attributes_are_still_taken_under_attributes(client):
    AudienceAttribute.objects.create(name="score", type="number")
    send(client, "POST", URL, ada(attributes={"score": "42"}))
    assert Member.objects.get().attributes == {"score": 42}


def test_a_required_attribute_is_mandatory_with_the_documented_text(client):
    AudienceAttribute.objects.create(name="phonenumber", type="string", required=True)
    response = send(client, "POST", URL, ada())
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Attribute 'phonenumber' is a mandatory field. Please provide a valid value for the same"
    )
    assert send(client, "POST", URL, ada(phonenumber="555")).status_code == 200


def test_a_badly_typed_attribute_is_a_400(client):
    AudienceAttribute.objects.create(name="joined", type="date")
    response = send(client, "POST", URL, ada(joined="yesterday"))
    assert response.status_code == 400
    assert response.json()["message"] == "attribute joined must be a date written MM/dd/yyyy or YYYY-MM-DD"


def test_a_body_that_is_not_an_object_is_a_400(client):
    response = send(client, "POST", URL, ["Ada"])
    assert response.status_code == 400


def test_get_answers_the_member_in_the_volt_mx_shape(client):
    AudienceAttribute.objects.create(name="score", type="number")
    member = MemberFactory(first_name="Ada", mobile="+14155550100", sms_subscription=False, attributes={"score": 3})
    body = client.get(f"{URL}/{member.id}").json()
    assert (body["id"], body["firstName"], body["mobileNumber"], body["smsSubscription"], body["score"]) == (
        member.id,
        "Ada",
        "+14155550100",
        False,
        3,
    )
    assert DATE_STR.match(body["createdDateStr"]) and DATE_STR.match(body["lastModifiedDateStr"])
    assert body["lastActiveDateStr"] == ""


def test_last_active_date_is_read_as_mm_dd_yyyy_and_written_as_a_date_str(client):
    send(client, "POST", URL, ada(lastActiveDate="08/23/2017"))
    body = client.get(f"{URL}/{Member.objects.get().id}").json()
    assert body["lastActiveDateStr"] == "08/23/2017 12:00:00 AM UTC"


def test_last_active_date_str_is_taken_on_modify(client, owner):
    member = MemberFactory(owner=owner)
    response = send(client, "PUT", f"{URL}/{member.id}", {"lastActiveDateStr": "08/16/2017 02:30:00 PM UTC"})
    assert response.status_code == 200, response.content
    member.refresh_from_db()
    assert member.last_active_date.isoformat() == "2017-08-16T14:30:00+00:00"


def test_get_of_a_missing_member_is_the_documented_400(client):
    for path in (f"{URL}/999999", f"{URL}/abc"):
        response = client.get(path)
        assert (response.status_code, response.json()) == (400, {"id": "", "message": NOT_FOUND})


def test_put_changes_only_what_is_given(client, owner):
    member = MemberFactory(first_name="Ada", sms_subscription=True, owner=owner)
    response = send(client, "PUT", f"{URL}/{member.id}", {"smsSubscription": False})
    member.refresh_from_db()
    assert response.json() == {"id": str(member.id), "message": "Details updated successfully"}
    assert (member.first_name, member.sms_subscription) == ("Ada", False)


def test_put_refuses_the_mobile_of_another_member(client, owner):
    other = MemberFactory(mobile="+14155550111")
    member = MemberFactory(mobile="+14155550100", owner=owner)
    response = send(client, "PUT", f"{URL}/{member.id}", {"mobileNumber": "+14155550111"})
    assert response.status_code == 400
    assert response.json() == {"id": str(other.id), "message": "User already exists with this mobile number"}


def test_put_removes_an_attribute_given_as_null(client, owner):
    AudienceAttribute.objects.create(name="score", type="number")
    member = MemberFactory(attributes={"score": 3}, owner=owner)
    send(client, "PUT", f"{URL}/{member.id}", {"score": None})
    member.refresh_from_db()
    assert member.attributes == {}


def test_patch_finds_the_member_by_email(client, owner):
    member = MemberFactory(email="aron.hale@gmail.com", first_name="Aron", owner=owner)
    response = send(client, "PATCH", f"{URL}/modify?emailId=aron.hale@gmail.com", {"firstName": "Aaron"})
    assert response.json() == {"id": str(member.id), "message": "Details updated successfully"}
    member.refresh_from_db()
    assert member.first_name == "Aaron"


def test_patch_refuses_an_email_of_another_member_with_the_documented_text(client, owner):
    MemberFactory(email="taken@example.com")
    member = MemberFactory(owner=owner)
    response = send(client, "PATCH", f"{URL}/modify?id={member.id}", {"email": "taken@example.com"})
    assert response.status_code == 400
    assert response.json()["message"] == "User already exists with this email"


def test_patch_without_id_or_email_is_a_400(client):
    response = send(client, "PATCH", f"{URL}/modify", {"firstName": "Eve"})
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["DELETE", "POST"])
def test_delete_removes_the_member(client, owner, method):
    member = MemberFactory(owner=owner)
    url = f"{URL}/{member.id}" if method == "DELETE" else f"{URL}/{member.id}/delete"
    response = send(client, method, url, {})
    assert response.json() == {"id": str(member.id), "message": "User deleted successfully"}
    assert not Member.objects.exists()


def test_delete_of_a_missing_member_is_the_documented_400(client):
    response = client.post(f"{URL}/999999/delete")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid audience member ID provided or no audience member found with given ID"
    )


def test_the_list_is_paged_by_start_and_page_size(client):
    members = [MemberFactory() for _ in range(5)]
    body = client.get(URL, {"start": 2, "pageSize": 2}).json()
    assert body["total"] == 5
    assert [m["id"] for m in body["audience"]] == [members[2].id, members[3].id]


def test_the_list_still_takes_start_element_and_elements_per_page(client):
    members = [MemberFactory() for _ in range(5)]
    body = client.get(URL, {"startElement": 3, "elementsPerPage": 2}).json()
    assert [m["id"] for m in body["audience"]] == [members[2].id, members[3].id]


@pytest.mark.parametrize("query", [{"pageSize": 0}, {"start": -1}, {"elementsPerPage": 0}, {"pageSize": "x"}])
def test_a_bad_page_is_a_400(client, query):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid request format")


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
        {"lastActiveDateStr": "13/45/2024 99:00:00 PM UTC"},
        {"attributes": "x"},
        {"attributes": {"score": [1]}},
        {"score": [1]},
        {"country": "c" * 65},
        {"active": "maybe"},
    ],
)
def test_odd_member_bodies_are_400s(client, changes):
    AudienceAttribute.objects.get_or_create(name="score", type="number")
    response = send(client, "POST", URL, ada(**changes))
    assert response.status_code == 400
    assert response.json()["message"]
