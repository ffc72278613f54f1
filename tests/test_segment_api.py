"""The segment API in the Volt MX shape: the documented samples posted verbatim, unknown keys
refused, publishing, ownership between partners, and a segment made from the documented body that
sends only to its members."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from audiences.models import AudienceAttribute, Member, Segment
from messaging.models import Recipient, SmsMessage
from messaging.services.api_keys import api_key_create
from messaging.services.expansion import message_expand
from tests.factories import MemberFactory, SegmentFactory
from tests.helpers import grant, one_message, post_json

pytestmark = pytest.mark.django_db

URL = "/api/v1/segments"
INVALID_CRITERIA = "Invalid request format, Error messages :[invalid segment criteria @ message :1]"

# The samples of voltmx-family.md section 1, as the pages show them (HCL-TECH-SOFTWARE/volt-mx-docs,
# engagement_api_guide/Content/REST_API_Segments/). Create_Segment.html and Modify_Segment.html:
CREATE_SAMPLE = """{

    "name": "Amazon Campaign Segment",
    "owner": "admin",
    "segmentDefinition": "",
    "conditionType": "all",
    "createdDateStr": "06/21/2016 03:25:01 PM IST",
    "segmentAudienceList": [{
    \t\t"attributeOperator": "Contains",
    \t\t"attributeValue": "yahoo",
    \t\t"attributeName": "email",
    \t\t"conditionNo": 1
    \t}, {
    \t\t"attributeOperator": "Contains",
    \t\t"attributeValue": "9",
    \t\t"attributeName": "mobileNumber",
    \t\t"conditionNo": 2
    \t},

    \t{
    \t\t"attributeName": "firstName",
    \t\t"attributeValue": "a",
    \t\t"attributeOperator": "Contains",
    \t\t"conditionNo": 3
    \t}, {
    \t\t"attributeName": "lastName",
    \t\t"attributeValue": "b",
    \t\t"attributeOperator": "Contains",
    \t\t"conditionNo": 4
    \t}, {
    \t\t"attributeName": "country",
    \t\t"attributeValue": "India",
    \t\t"attributeOperator": "Equal",
    \t\t"conditionNo": 5
    \t}
    ]

}"""

MODIFY_SAMPLE = """{

\t"name": "Amazon Campaign Segment 2016",
\t"owner": "admin",
\t"segmentDefinition": "",
\t"conditionType": "all",
\t"createdDateStr": "06/21/2016 03:25:01 PM IST",
\t"segmentAudienceList": [{
\t\t\t"attributeOperator": "Contains",
\t\t\t"attributeValue": "yahoo",
\t\t\t"attributeName": "email",
\t\t\t"conditionNo": 1
\t\t}, {
\t\t\t"attributeOperator": "Contains",
\t\t\t"attributeValue": "9",
\t\t\t"attributeName": "mobileNumber",
\t\t\t"conditionNo": 2
\t\t},

\t\t{
\t\t\t"attributeName": "firstName",
\t\t\t"attributeValue": "a",
\t\t\t"attributeOperator": "Contains",
\t\t\t"conditionNo": 3
\t\t}, {
\t\t\t"attributeName": "lastName",
\t\t\t"attributeValue": "b",
\t\t\t"attributeOperator": "Contains",
\t\t\t"conditionNo": 4
\t\t}, {
\t\t\t"attributeName": "country",
\t\t\t"attributeValue": "India",
\t\t\t"attributeOperator": "Equal",
\t\t\t"conditionNo": 5
\t\t}
\t]
}"""

# Create_Segment.html, "Sample Request that shows all attributeOperator values" (the page's
# escaped brackets written as JSON brackets; its definition has the double space).
ALL_OPERATORS_SAMPLE = """            {
    "name" : "Sample Segment",
    "segmentDefinition" : "1  OR 2 OR 3 AND 4 OR (NOT 5) AND 6 AND 7",
    "conditionType" : "advanced",
    "segmentAudienceList" : [ {
        "attributeName" : "Beacon",
        "audienceBeacon" : {
            "id" : "1"
        },
        "attributeOperator" : "Contains",
        "conditionNo" : 1
    }, {
        "attributeName" : "Location",
        "audienceLocation" : {
            "id" : "1"
        },
        "attributeOperator" : "Contains",
        "conditionNo" : 2
    }, {
        "attributeName" : "firstName",
        "attributeOperator" : "Equal",
        "conditionNo" : 3,
        "attributeValue" : "John"
    }, {
        "attributeName" : "Email",
        "attributeOperator" : "Contains",
        "conditionNo" : 4,
        "attributeValue" : "@gmail.com"
    }, {
        "attributeName" : "Country",
        "attributeOperator" : "NotEqual",
        "conditionNo" : 5,
        "attributeValue" : "India"
    }, {
        "attributeName" : "Salary",
        "attributeOperator" : "GreaterThan",
        "conditionNo" : 6,
        "attributeValue" : "2000000"
    }, {
        "attributeName" : "Age",
        "attributeOperator" : "GreaterThan",
        "conditionNo" : 7,
        "attributeValue" : "2000000"
    }, {
        "attributeName" : "Date of Birth",
        "attributeOperator" : "LessThan",
        "conditionNo" : 8,
        "attributeValue" : "12/31/1999"
    }, {
        "attributeName" : "Date of Birth",
        "attributeOperator" : "LessThanCurrentDateMinus",
        "conditionNo" : 9,
        "attributeValue" : "30"
    }, {
        "attributeName" : "MovieShowDate",
        "attributeOperator" : "GreaterThanCurrentDatePlus",
        "conditionNo" : 10,
        "attributeValue" : "7"
    }, {
        "attributeName" : "LastActivityDate",
        "attributeOperator" : "GreaterThanCurrentDateMinus",
        "conditionNo" : 11,
        "attributeValue" : "7"
    }, {
        "attributeName" : "Journey Date",
        "attributeOperator" : "LessThanCurrentDatePlus",
        "conditionNo" : 12,
        "attributeValue" : "7"
    } ]
}

\t\t"""

# Create_Segment_with_Beacon_Criteria.md
BEACON_SAMPLE = """{
"name": "Segment with Beacons Criteria",
"segmentDefinition": "1 OR 2 OR 3",
"segmentAudienceList": [
{
"attributeName": "Location",
"audienceLocation": {
"id": "1"
},
"attributeOperator": "Contains",
"conditionNo": 1
},
{
"attributeName": "Beacon",
"audienceBeacon": {
"id": "1"
},
"attributeOperator": "Contains",
"conditionNo": 2
},
{
"attributeName": "firstName",
"attributeValue": "admin",
"attributeOperator": "Equal",
"conditionNo": 3
}
]
}"""

# The keys of the segment object of Get_Details__Segment_.html and Get_All_Segments_By_pagination.html.
DOCUMENTED_OBJECT_KEYS = {
    "id",
    "name",
    "owner",
    "segmentDefinition",
    "conditionType",
    "lastModifiedBy",
    "lastModifiedDateStr",
    "createdBy",
    "createdDateStr",
    "segmentAudienceList",
}

CALIFORNIA = {
    "name": "California",
    "owner": "admin",
    "segmentDefinition": "",
    "conditionType": "all",
    "segmentAudienceList": [
        {"attributeName": "state", "attributeValue": "CA", "attributeOperator": "Equal", "conditionNo": 1}
    ],
}


def partner(*scopes, name="partner"):
    api_key, raw = api_key_create(name=name, scopes=list(scopes))
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw)
    api.owner = f"key:{api_key.pk}"
    return api


@pytest.fixture
def client(db):
    """A partner key with the segments and send scopes."""
    return partner("segments", "send", "status")


@pytest.fixture
def other(db):
    return partner("segments", "send", "status", name="other partner")


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_user("marketing", password="pw", is_staff=True)
    grant(
        user,
        "audiences.view_segment",
        "audiences.add_segment",
        "audiences.change_segment",
        "audiences.delete_segment",
        "messaging.add_smsrequest",
    )
    api = APIClient()
    api.force_authenticate(user)
    return api


def post(api, url, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return api.generic("POST", url, data, content_type="application/json;charset=UTF-8")


def created(api, body=CALIFORNIA) -> int:
    response = post(api, URL, body)
    assert response.status_code == 200, response.content
    assert response.json()["message"] == "Details added successfully"
    return int(response.json()["id"])


def send_to(api, criteria, content="Hi"):
    return post_json(
        api, one_message(content=content, priorityService="false", recipients={"segment": {"criteria": criteria}})
    )


# The documented samples --------------------------------------------------------------------------


def test_the_create_sample_is_added_unpublished(client):
    response = post(client, URL, CREATE_SAMPLE)
    assert response.status_code == 200, response.content
    segment = Segment.objects.get(name="Amazon Campaign Segment")
    assert response.json() == {"id": str(segment.id), "message": "Details added successfully"}
    assert (segment.condition_type, segment.published) == ("all", False)
    assert segment.definition == "1 AND 2 AND 3 AND 4 AND 5"
    assert segment.conditions.count() == 5


def test_get_answers_the_documented_segment_object(client):
    segment_id = created(client, CREATE_SAMPLE)
    response = client.get(f"{URL}/{segment_id}")
    body = response.json()
    assert response.status_code == 200
    assert DOCUMENTED_OBJECT_KEYS <= set(body)
    assert body["id"] == segment_id
    assert (body["name"], body["owner"], body["conditionType"], body["segmentDefinition"]) == (
        "Amazon Campaign Segment",
        "admin",
        "all",
        "",
    )
    assert body["createdBy"] == body["lastModifiedBy"] == "partner"
    assert body["segmentAudienceList"][0] == {
        "attributeOperator": "Contains",
        "attributeValue": "yahoo",
        "attributeName": "email",
        "conditionNo": 1,
    }
    assert len(body["createdDateStr"].split()) == 4  # 06/21/2016 03:25:01 PM UTC
    assert body["published"] is False


def test_the_modify_sample_is_updated(client):
    segment_id = created(client, CREATE_SAMPLE)
    response = post(client, f"{URL}/{segment_id}/modify", MODIFY_SAMPLE)
    assert response.status_code == 200, response.content
    assert response.json() == {"id": str(segment_id), "message": "Details updated successfully"}
    assert Segment.objects.get(pk=segment_id).name == "Amazon Campaign Segment 2016"


def test_get_all_pages_with_start_and_page_size(client):
    for name in ("eBaysegment", "SnapDeal Segment", "Flipkart Segment"):
        created(client, {**CALIFORNIA, "name": name})
    body = client.get(URL, {"start": "1", "pageSize": "2"}).json()
    assert body["total"] == 4  # with "All Users"
    assert [s["name"] for s in body["segments"]] == ["eBaysegment", "SnapDeal Segment"]
    assert DOCUMENTED_OBJECT_KEYS <= set(body["segments"][0])


def test_all_users_is_listed_as_documented(client):
    all_users = client.get(URL).json()["segments"][0]
    assert (all_users["name"], all_users["conditionType"], all_users["segmentAudienceList"]) == ("All Users", "any", [])


def test_delete_answers_the_documented_text(client):
    segment_id = created(client)
    response = post(client, f"{URL}/{segment_id}/delete", "")
    assert response.json() == {"id": str(segment_id), "message": "Segment deleted successfully"}
    assert not Segment.objects.filter(pk=segment_id).exists()


def test_publish_and_unpublish_answer_the_documented_texts(client):
    segment_id = created(client)
    response = post(client, f"{URL}/{segment_id}/publish", "")
    assert response.json() == {"id": str(segment_id), "message": "Segment published successfully"}
    assert Segment.objects.get(pk=segment_id).published
    response = post(client, f"{URL}/{segment_id}/unpublish", "")
    assert response.json() == {"id": str(segment_id), "message": "Segment  deleted successfully"}
    assert not Segment.objects.get(pk=segment_id).published


def test_validate_counts_the_members_as_documented(client):
    MemberFactory(state="CA")
    MemberFactory(state="CA")
    MemberFactory(state="NY")
    segment_id = created(client)
    response = client.get(f"{URL}/{segment_id}/validate")
    assert response.json() == {"id": str(segment_id), "message": "Segment Criteria is valid. Audience Members Count: 2"}


@pytest.mark.parametrize("sample", [ALL_OPERATORS_SAMPLE, BEACON_SAMPLE], ids=["all-operators", "beacon"])
def test_the_beacon_and_location_samples_are_a_400_that_says_why(client, sample):
    response = post(client, URL, sample)
    assert response.status_code == 400
    assert response.json()["id"] == ""
    assert response.json()["message"].startswith("Beacon and location conditions are not supported")
    assert not Segment.objects.exclude(name=Segment.ALL_USERS).exists()


def test_every_operator_of_the_all_operators_sample_is_taken_without_its_location_conditions(client):
    for name, kind in [("Salary", "number"), ("Age", "number")]:
        AudienceAttribute.objects.create(name=name, type=kind)
    for name in ("Date of Birth", "MovieShowDate", "LastActivityDate", "Journey Date"):
        AudienceAttribute.objects.create(name=name, type="date")
    sample = json.loads(ALL_OPERATORS_SAMPLE)
    sample["segmentAudienceList"] = sample["segmentAudienceList"][2:]
    sample["segmentDefinition"] = "3 OR 4 AND 5 OR (NOT 6) AND 7 AND 8 AND 9 AND 10 AND 11 AND 12"
    segment_id = created(client, sample)
    segment = Segment.objects.get(pk=segment_id)
    assert {c.attribute for c in segment.conditions.all()} >= {"email", "country", "Date of Birth"}
    assert client.get(f"{URL}/{segment_id}/validate").status_code == 200


# Nothing is dropped ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"segmentDefinitions": "1"}, "segmentDefinitions"),
        ({"criteria": "x", "published": True}, "criteria, published"),
    ],
)
def test_an_unknown_key_is_a_400_that_names_it(client, change, named):
    response = post(client, URL, {**CALIFORNIA, **change})
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": f"The request contains invalid attributes : {named}"}
    assert not Segment.objects.filter(name="California").exists()


def test_an_unknown_condition_key_is_a_400_that_names_it(client):
    body = {**CALIFORNIA, "segmentAudienceList": [{**CALIFORNIA["segmentAudienceList"][0], "attributeVal": "CA"}]}
    response = post(client, URL, body)
    assert response.json()["message"] == "The request contains invalid attributes : segmentAudienceList.attributeVal"


@pytest.mark.parametrize("action", ["publish", "unpublish", "delete"])
def test_calls_that_take_only_the_id_refuse_any_body_key(client, action):
    segment_id = created(client)
    response = post(client, f"{URL}/{segment_id}/{action}", {"published": True})
    assert response.status_code == 400
    assert response.json()["message"] == "The request contains invalid attributes : published"
    assert Segment.objects.filter(pk=segment_id, published=False).exists()


def test_modify_refuses_unknown_keys_too(client):
    segment_id = created(client)
    response = post(client, f"{URL}/{segment_id}/modify", {"name": "x", "condition": "state = CA"})
    assert response.json()["message"] == "The request contains invalid attributes : condition"


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"name": ""}, "Segment name is required"),
        ({"conditionType": None}, "Segment condition type is required"),
        ({"segmentAudienceList": [{"attributeValue": "CA", "attributeOperator": "Equal", "conditionNo": 1}]},
         "Audience attributeName is required"),
        ({"segmentAudienceList": [{"attributeName": "state", "attributeValue": "CA", "conditionNo": 1}]},
         "Audience attributeOperator is required"),
        ({"segmentAudienceList": [{"attributeName": "state", "attributeValue": "CA", "attributeOperator": "Equal"}]},
         "Condition number is required"),
    ],
)  # fmt: skip
def test_the_documented_required_texts(client, change, text):
    body = {key: value for key, value in {**CALIFORNIA, **change}.items() if value is not None}
    response = post(client, URL, body)
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": text}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Everyone", "conditionType": "all", "segmentAudienceList": []},
        {"name": "Everyone", "conditionType": "any"},
        {"name": "Everyone", "definition": "", "conditions": []},
        {"name": "Everyone"},
    ],
)
def test_a_segment_without_a_condition_is_refused(client, body):
    response = post(client, URL, body)
    assert response.status_code == 400
    assert "at least one condition" in response.json()["message"]


def test_any_joins_the_conditions_with_or_and_condition_numbers_may_be_strings(client):
    MemberFactory(state="CA")
    MemberFactory(state="NY")
    MemberFactory(state="TX")
    body = {
        "name": "Coasts",
        "conditionType": "any",
        "segmentAudienceList": [
            {"attributeName": "State", "attributeValue": "CA", "attributeOperator": "Equal", "conditionNo": "1"},
            {"attributeName": "state", "attributeValue": "NY", "attributeOperator": "Equal", "conditionNo": "2"},
        ],
    }
    segment_id = created(client, body)
    assert Segment.objects.get(pk=segment_id).definition == "1 OR 2"
    assert client.get(f"{URL}/{segment_id}/validate").json()["message"].endswith("Count: 2")


def test_advanced_needs_its_definition(client):
    response = post(client, URL, {**CALIFORNIA, "conditionType": "advanced"})
    assert response.status_code == 400
    assert "segmentDefinition is required" in response.json()["message"]


def test_an_operator_that_does_not_apply_is_a_400(client):
    condition = {**CALIFORNIA["segmentAudienceList"][0], "attributeOperator": "Like"}
    body = {**CALIFORNIA, "segmentAudienceList": [condition]}
    response = post(client, URL, body)
    assert response.status_code == 400
    assert "operator 'Like' does not apply" in response.json()["message"]


def test_the_older_shape_goes_through_the_same_checks(client):
    condition = {"attribute": "state", "operator": "Equal", "value": "CA"}
    older = {"name": "Older", "definition": "1", "conditions": [condition]}
    segment_id = created(client, older)
    assert client.get(f"{URL}/{segment_id}").json()["conditionType"] == "advanced"
    response = post(client, URL, {"name": "x", "conditions": [{"attribute": "state", "operator": "Equal", "val": 1}]})
    assert response.json()["message"] == "The request contains invalid attributes : conditions.val"


def test_put_and_delete_on_the_segment_stay_as_modify_and_delete(client):
    segment_id = created(client)
    response = client.generic(
        "PUT", f"{URL}/{segment_id}", json.dumps({"name": "California 2"}), content_type="application/json"
    )
    assert response.json() == {"id": str(segment_id), "message": "Details updated successfully"}
    assert client.delete(f"{URL}/{segment_id}").json()["message"] == "Segment deleted successfully"


def test_all_users_cannot_be_changed_unpublished_or_deleted(staff):
    all_users = Segment.objects.get(name=Segment.ALL_USERS)
    assert post(staff, f"{URL}/{all_users.id}/modify", {"name": "x"}).status_code == 400
    assert post(staff, f"{URL}/{all_users.id}/unpublish", "").status_code == 400
    assert post(staff, f"{URL}/{all_users.id}/delete", "").status_code == 400
    assert Segment.objects.get(pk=all_users.pk).published


# Publishing and sending --------------------------------------------------------------------------


def test_a_segment_made_from_the_documented_body_sends_only_to_its_members(client):
    californians = {MemberFactory(state="CA").mobile, MemberFactory(state="CA").mobile}
    MemberFactory(state="NY")
    MemberFactory(state="TX")
    segment_id = created(client)
    assert post(client, f"{URL}/{segment_id}/publish", "").status_code == 200
    response = send_to(client, f"##{segment_id}##", content="Hi ##First Name##")
    assert response.status_code == 200, response.content
    message_expand(message_id=SmsMessage.objects.get().id)
    assert set(Recipient.objects.values_list("phone", flat=True)) == californians


def test_an_unpublished_segment_cannot_be_sent_to(client):
    MemberFactory(state="CA")
    segment_id = created(client)
    response = send_to(client, f"##{segment_id}##")
    assert response.status_code == 400
    assert response.json()["message"] == INVALID_CRITERIA
    post(client, f"{URL}/{segment_id}/publish", "")
    post(client, f"{URL}/{segment_id}/unpublish", "")
    assert send_to(client, f"##{segment_id}##").json()["message"] == INVALID_CRITERIA


def test_a_segment_that_lost_its_conditions_cannot_be_sent_to(client):
    segment = SegmentFactory(name="Emptied")
    segment.conditions.all().delete()
    assert send_to(client, f"##{segment.id}##").json()["message"] == INVALID_CRITERIA


def test_a_segment_a_waiting_message_uses_cannot_be_deleted(client):
    segment_id = created(client)
    post(client, f"{URL}/{segment_id}/publish", "")
    send_to(client, f"##{segment_id}##")
    response = post(client, f"{URL}/{segment_id}/delete", "")
    assert response.status_code == 409
    assert response.json()["message"].startswith(f"Segment {segment_id} is used by 1 message(s) not yet sent")


# Ownership ---------------------------------------------------------------------------------------


def test_another_partners_segment_is_a_404_for_every_call(client, other):
    segment_id = created(client)
    assert other.get(f"{URL}/{segment_id}").status_code == 404
    assert other.get(f"{URL}/{segment_id}/validate").status_code == 404
    for action in ("modify", "delete", "publish", "unpublish"):
        assert post(other, f"{URL}/{segment_id}/{action}", CALIFORNIA).status_code == 404, action
    assert other.delete(f"{URL}/{segment_id}").status_code == 404
    assert [s["name"] for s in other.get(URL).json()["segments"]] == [Segment.ALL_USERS]
    assert Segment.objects.get(pk=segment_id).owner == client.owner


def test_another_partners_published_segment_cannot_be_sent_to(client, other):
    segment_id = created(client)
    post(client, f"{URL}/{segment_id}/publish", "")
    response = send_to(other, f"##{segment_id}##")
    assert response.status_code == 400
    assert response.json()["message"] == INVALID_CRITERIA


def test_a_shared_segment_is_read_and_sent_to_but_not_changed_by_a_partner(client):
    shared = SegmentFactory(name="Shared Californians")
    assert client.get(f"{URL}/{shared.id}").status_code == 200
    response = post(client, f"{URL}/{shared.id}/modify", CALIFORNIA)
    assert response.status_code == 403
    assert post(client, f"{URL}/{shared.id}/unpublish", "").status_code == 403
    assert send_to(client, f"##{shared.id}##").status_code == 200


def test_a_key_with_send_only_may_target_a_shared_segment_but_not_read_segments(db):
    sender = partner("send")
    shared = SegmentFactory(name="Shared")
    assert sender.get(f"{URL}/{shared.id}").status_code == 403
    assert send_to(sender, f"##{shared.id}##").status_code == 200


def test_staff_make_shared_segments_and_reach_every_segment(staff, client):
    partner_segment = created(client)
    assert staff.get(f"{URL}/{partner_segment}").status_code == 200
    shared_id = created(staff, {**CALIFORNIA, "name": "Shared California"})
    assert Segment.objects.get(pk=shared_id).owner == ""
    assert client.get(f"{URL}/{shared_id}").status_code == 200


def test_a_send_to_a_shared_segment_reaches_only_members_the_sender_may_reach(client, other):
    shared = SegmentFactory(name="Shared Californians")
    mine = MemberFactory(state="CA", owner=client.owner)
    everyones = MemberFactory(state="CA")
    MemberFactory(state="CA", owner=other.owner)
    assert send_to(client, f"##{shared.id}##").status_code == 200
    message_expand(message_id=SmsMessage.objects.get().id)
    assert set(Recipient.objects.values_list("phone", flat=True)) == {mine.mobile, everyones.mobile}


def test_validate_counts_only_the_members_the_caller_reaches(client, other):
    segment_id = created(client)
    MemberFactory(state="CA")
    MemberFactory(state="CA", owner=other.owner)
    assert client.get(f"{URL}/{segment_id}/validate").json()["message"].endswith("Count: 1")
    assert Member.objects.count() == 2
