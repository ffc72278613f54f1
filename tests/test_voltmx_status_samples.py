"""The published samples of the status, fetch and content pages (HCL-TECH-SOFTWARE/volt-mx-docs,
engagement_api_guide REST_API__SMS: Fetch_SMS_Status.md, Fetch_All_SMS_API_with_Audience_ID.md,
Fetch_All_SMS_API_with_Mobile_Number.md, Get_full_content_-SMS_API.md), posted verbatim with the
pages' header, answered as the pages show."""

import datetime as dt
import json

import pytest

from messaging.models import Recipient, SmsRequest
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory, SmsRequestFactory

pytestmark = pytest.mark.django_db

CONTENT_TYPE = "application/json;charset=UTF-8"

STATUS_SAMPLE_REQUEST = """{
 "requestId": "7058003863786749784",
 "audienceId": "1",
 "mobileNumber": "+919848022331",
 "sentDate": "mm/dd/yyyy",
 "endDate": "mm/dd/yyyy",
 "startElement": "0",
 "elementsPerPage": "20"
}"""

STATUS_SAMPLE_RESPONSE = """{
 "submitted": 1,
 "initial": 1,
 "rejected": 0,
 "opened": 0,
 "not attempted": 0,
 "undelivered": 0,
 "cancelled": 0,
 "total": 2,
 "messages": [{
  "sentDate": "1473315673830",
  "smsId": "6407522544573374439",
  "lastActivityDate": "1473315673830",
  "mobileNumber": "+218899776642",
  "requestId": "6407522544467702398",
  "audienceId": "1",
  "statusMessage": "SMS request sent to TWILIO Gateway",
  "status": "Submitted"
 }, {
  "sentDate": "1473315673830",
  "smsId": "5139578893093515164",
  "lastActivityDate": "1473315673830",
  "mobileNumber": "+218899776642",
  "requestId": "5139578892823687076",
  "audienceId": "1",
  "statusMessage": "Initial",
  "status": "Initial"
 }]
}"""

FETCH_BY_AUDIENCE_SAMPLE = """{"startElement": "0", "elementsPerPage": "10","audienceId": "2"}"""
FETCH_BY_MOBILE_SAMPLE = """{"startElement": "0", "elementsPerPage": "10","mobileNo": "+919994545435"}"""
FETCH_SAMPLE_RESPONSE = """{
  "totalMessages": 4,
  "openedMessages": 0,
  "messages": [
    {
      "fetchId": "6787084818838978497",
      "content": "LathaGanesh",
      "status": "Submitted"
    },
    {
      "fetchId": "6790833484766511073",
      "content": "Latha",
      "status": "Submitted"
    },
    {
      "fetchId": "6790832870844132846",
      "content": " Latha Ganesh eBay summer sale 2016",
      "status": "Submitted"
    },
    {
      "fetchId": "6790758891557814220",
      "content": "Latha Ganesh eBay summer sale 2016",
      "status": "Submitted"
    }
  ],
  "submittedMessages": 4
}"""
# The templates behind the sample's texts, in the gateway's tag syntax.
FETCH_SAMPLE_TEMPLATES = {
    6787084818838978497: "[[firstName]][[lastName]]",
    6790833484766511073: "[[firstName]]",
    6790832870844132846: " [[firstName]] [[lastName]] eBay summer sale 2016",
    6790758891557814220: "[[firstName]] [[lastName]] eBay summer sale 2016",
}

CONTENT_SAMPLE_RESPONSE = r"""{
"content": "Thomas Smith thomassmith@gmail.com +917809654277 \n\nAmazon Electronic Gadgets Sale 2016\n\nBuy your stuff online…"
}"""  # noqa: E501 (the page's sample, verbatim)

SAMPLE_MOMENT = dt.datetime.fromtimestamp(1473315673830 / 1000, tz=dt.UTC)


def post(client, url, body):
    return client.generic("POST", url, body, content_type=CONTENT_TYPE)


def own_request(api_key, request_id):
    sms_request = SmsRequestFactory(id=request_id, client=f"key:{api_key[0].pk}", api_key=api_key[0])
    SmsRequest.objects.filter(pk=request_id).update(created_at=SAMPLE_MOMENT)
    return sms_request


def sample_recipient(sms_request, *, recipient_id, member, phone, state, content="sample sms message", **fields):
    position = sms_request.messages.count() + 1
    message = SmsMessageFactory(request=sms_request, position=position, content=content, personalised="[[" in content)
    recipient = RecipientFactory(id=recipient_id, message=message, member=member, phone=phone, state=state)
    Recipient.objects.filter(pk=recipient_id).update(created_at=SAMPLE_MOMENT, **fields)
    return recipient


# --- Fetch SMS Status -------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/vpns"])
def test_the_status_sample_request_posted_verbatim_is_answered_in_the_documented_shape(client, api_key, prefix):
    member = MemberFactory(id=1, mobile="+919848022331")
    sms_request = own_request(api_key, 7058003863786749784)
    sample_recipient(
        sms_request,
        recipient_id=7058003863786749785,
        member=member,
        phone=member.mobile,
        state="submitted",
        provider="TWILIO",
        submitted_at=SAMPLE_MOMENT,
    )
    response = post(client, f"{prefix}/api/v1/status/sms", STATUS_SAMPLE_REQUEST)
    assert response.status_code == 200, response.content
    body = response.json()
    sample = json.loads(STATUS_SAMPLE_RESPONSE)
    assert set(body) == set(sample) | {"delivered", "expired"}
    assert (body["submitted"], body["total"]) == (1, 1)
    assert body["messages"] == [
        {
            "sentDate": "1473315673830",
            "smsId": "7058003863786749785",
            "lastActivityDate": "1473315673830",
            "mobileNumber": "+919848022331",
            "requestId": "7058003863786749784",
            "audienceId": "1",
            "statusMessage": "SMS request sent to TWILIO Gateway",
            "status": "Submitted",
        }
    ]


def test_the_status_sample_response_is_given_for_the_same_messages(client, api_key):
    member = MemberFactory(id=1, mobile="+218899776642")
    sample_recipient(
        own_request(api_key, 6407522544467702398),
        recipient_id=6407522544573374439,
        member=member,
        phone=member.mobile,
        state="submitted",
        provider="TWILIO",
        submitted_at=SAMPLE_MOMENT,
    )
    sample_recipient(
        own_request(api_key, 5139578892823687076),
        recipient_id=5139578893093515164,
        member=member,
        phone=member.mobile,
        state="initial",
    )
    response = post(client, "/vpns/api/v1/status/sms", '{"audienceId": "1", "startElement": "0"}')
    assert response.json() == {**json.loads(STATUS_SAMPLE_RESPONSE), "delivered": 0, "expired": 0}


def test_the_status_sample_with_a_key_the_page_does_not_list_is_the_documented_400(client):
    body = STATUS_SAMPLE_REQUEST.replace('"startElement"', '"start"')
    response = post(client, "/vpns/api/v1/status/sms", body)
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "The Request Contains Invalid keys: start"},
    )


def test_the_status_sample_with_letters_in_the_request_id_is_the_documented_400(client):
    body = STATUS_SAMPLE_REQUEST.replace("7058003863786749784", "7058003863786749784abc")
    response = post(client, "/vpns/api/v1/status/sms", body)
    assert response.json() == {"id": "", "message": "Request ID should not contain alphabets or special characters"}


def test_the_status_sample_with_an_end_date_and_no_sent_date_is_the_documented_400(client):
    body = STATUS_SAMPLE_REQUEST.replace('"sentDate": "mm/dd/yyyy"', '"sentDate": ""').replace(
        '"endDate": "mm/dd/yyyy"', '"endDate": "09/08/2016"'
    )
    response = post(client, "/vpns/api/v1/status/sms", body)
    assert response.json() == {"id": "", "message": "Please provide sent date"}


def test_the_status_sample_with_real_dates_filters_by_them(client, api_key):
    member = MemberFactory(id=1, mobile="+919848022331")
    sample_recipient(
        own_request(api_key, 7058003863786749784),
        recipient_id=7058003863786749785,
        member=member,
        phone=member.mobile,
        state="initial",
    )
    on_the_day = STATUS_SAMPLE_REQUEST.replace("mm/dd/yyyy", "09/08/2016")
    the_day_after = STATUS_SAMPLE_REQUEST.replace("mm/dd/yyyy", "09/09/2016")
    assert post(client, "/vpns/api/v1/status/sms", on_the_day).json()["total"] == 1
    assert post(client, "/vpns/api/v1/status/sms", the_day_after).json()["total"] == 0


# --- Fetch All SMS ----------------------------------------------------------------------------


def fetch_sample_messages(api_key, member):
    sms_request = own_request(api_key, 6787084818838978000)
    for recipient_id, template in FETCH_SAMPLE_TEMPLATES.items():
        sample_recipient(
            sms_request,
            recipient_id=recipient_id,
            member=member,
            phone=member.mobile,
            state="submitted",
            content=template,
            provider="TWILIO",
            submitted_at=SAMPLE_MOMENT,
        )


def by_fetch_id(body):
    return {**body, "messages": sorted(body["messages"], key=lambda message: message["fetchId"])}


def test_the_fetch_by_audience_id_sample_is_answered_with_the_documented_response(client, api_key):
    member = MemberFactory(id=2, first_name="Latha", last_name="Ganesh")
    fetch_sample_messages(api_key, member)
    response = post(client, "/api/v1/messages/sms/fetch", FETCH_BY_AUDIENCE_SAMPLE)
    assert response.status_code == 200, response.content
    assert list(response.json()) == ["totalMessages", "openedMessages", "messages", "submittedMessages"]
    assert by_fetch_id(response.json()) == by_fetch_id(json.loads(FETCH_SAMPLE_RESPONSE))


def test_the_fetch_by_mobile_number_sample_is_answered_with_the_documented_response(client, api_key):
    member = MemberFactory(first_name="Latha", last_name="Ganesh", mobile="+919994545435")
    fetch_sample_messages(api_key, member)
    response = post(client, "/api/v1/messages/sms/fetch", FETCH_BY_MOBILE_SAMPLE)
    assert response.status_code == 200, response.content
    assert by_fetch_id(response.json()) == by_fetch_id(json.loads(FETCH_SAMPLE_RESPONSE))


def test_the_fetch_sample_without_its_audience_id_is_the_audience_pages_400(client):
    response = post(client, "/api/v1/messages/sms/fetch", FETCH_BY_AUDIENCE_SAMPLE.replace('"2"', '""'))
    assert (response.status_code, response.json()) == (400, {"id": "", "message": "Audience ID is missing"})


def test_the_fetch_sample_without_audience_id_or_mobile_number_is_the_mobile_pages_400(client):
    response = post(client, "/api/v1/messages/sms/fetch", '{"startElement": "0", "elementsPerPage": "10"}')
    assert (response.status_code, response.json()) == (
        400,
        {
            "id": "",
            "message": "Audience ID and mobile number are missing. One of them is needed to process the request",
        },
    )


def test_the_fetch_sample_with_a_mobile_number_that_is_none_is_the_mobile_pages_400(client):
    response = post(client, "/api/v1/messages/sms/fetch", FETCH_BY_MOBILE_SAMPLE.replace("+919994545435", "+91-abc"))
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "No valid audience found with the given Mobile Number"},
    )


def test_the_fetch_sample_with_a_key_the_page_does_not_list_is_a_400_naming_it(client):
    response = post(client, "/api/v1/messages/sms/fetch", FETCH_BY_AUDIENCE_SAMPLE.replace("audienceId", "audienceID"))
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "The Request Contains Invalid keys: audienceID"},
    )


# --- Get Full Content -------------------------------------------------------------------------


def test_the_full_content_sample_is_answered_with_the_documented_response(client, api_key):
    member = MemberFactory(
        first_name="Thomas", last_name="Smith", email="thomassmith@gmail.com", mobile="+917809654277"
    )
    template = (
        "[[firstName]] [[lastName]] [[email]] [[mobile]] \n\n"
        "Amazon Electronic Gadgets Sale 2016\n\nBuy your stuff online…"
    )
    sample_recipient(
        own_request(api_key, 6787084818838978000),
        recipient_id=6787084818838978001,
        member=member,
        phone=member.mobile,
        state="submitted",
        content=template,
    )
    response = client.get("/api/v1/messages/sms/content/6787084818838978001")
    assert response.status_code == 200, response.content
    assert response.json() == json.loads(CONTENT_SAMPLE_RESPONSE)


@pytest.mark.parametrize("sms_id", ["6787084818838978001", "abc", "99999999999999999999"])
def test_full_content_of_no_message_is_the_documented_400(client, sms_id):
    response = client.get(f"/api/v1/messages/sms/content/{sms_id}")
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "Invalid SMS ID. No message found with the provided ID"},
    )
