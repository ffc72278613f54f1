import datetime as dt
import json

import pytest
from rest_framework.test import APIClient

from messaging.models import Recipient, SmsRequest
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory, SmsRequestFactory

URL = "/api/v1/status/sms"
pytestmark = pytest.mark.django_db


@pytest.fixture
def own_request(api_key):
    return SmsRequestFactory(client=f"key:{api_key[0].pk}", api_key=api_key[0])


def status(client, **fields):
    return client.generic("POST", URL, json.dumps(fields), content_type="application/json")


def recipients_of(sms_request, states):
    message = SmsMessageFactory(request=sms_request)
    return [RecipientFactory(message=message, state=state) for state in states]


def test_the_counters_count_each_state(client, own_request):
    recipients_of(own_request, ["initial", "submitted", "delivered", "delivered", "undelivered", "not attempted"])
    body = status(client, requestId=str(own_request.id)).json()
    counters = {key: body[key] for key in ("submitted", "initial", "delivered", "undelivered", "not attempted")}
    assert counters == {"submitted": 1, "initial": 1, "delivered": 2, "undelivered": 1, "not attempted": 1}


def test_every_counter_is_present_with_the_total(client, own_request):
    recipients_of(own_request, ["rejected"])
    body = status(client, requestId=str(own_request.id)).json()
    expected = ["submitted", "initial", "rejected", "opened", "not attempted", "undelivered", "cancelled"]
    extras = ["delivered", "expired"]
    assert list(body) == expected + extras + ["total", "messages"]
    assert [body[key] for key in expected + extras + ["total"]] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 1]


def test_the_messages_list_each_recipient_in_the_documented_fields(client, own_request):
    (recipient,) = recipients_of(own_request, ["submitted"])
    submitted_at = dt.datetime(2016, 9, 8, 6, 21, 13, 830000, tzinfo=dt.UTC)
    Recipient.objects.filter(pk=recipient.pk).update(provider="TWILIO", submitted_at=submitted_at)
    (message,) = status(client, requestId=str(own_request.id)).json()["messages"]
    assert message == {
        "sentDate": "1473315673830",
        "smsId": str(recipient.pk),
        "lastActivityDate": "1473315673830",
        "mobileNumber": recipient.phone,
        "requestId": str(own_request.id),
        "audienceId": "",
        "statusMessage": "SMS request sent to TWILIO Gateway",
        "status": "Submitted",
    }


def test_the_status_message_names_the_providers_kind(client, own_request):
    from messaging.models import Provider

    Provider.objects.create(name="carrier-a", kind="NEXMO")
    (recipient,) = recipients_of(own_request, ["submitted"])
    Recipient.objects.filter(pk=recipient.pk).update(provider="carrier-a")
    (message,) = status(client, requestId=str(own_request.id)).json()["messages"]
    assert message["statusMessage"] == "SMS request sent to NEXMO Gateway"


@pytest.mark.parametrize(
    ("state", "spelling"),
    [
        ("initial", "Initial"),
        ("submitted", "Submitted"),
        ("delivered", "Delivered"),
        ("undelivered", "Undelivered"),
        ("rejected", "Rejected"),
        ("cancelled", "Cancelled"),
        ("expired", "Expired"),
        ("not attempted", "Not Attempted"),
    ],
)
def test_each_state_has_its_volt_mx_spelling(client, own_request, state, spelling):
    recipients_of(own_request, [state])
    (message,) = status(client, requestId=str(own_request.id)).json()["messages"]
    assert message["status"] == spelling


def test_an_initial_message_says_initial(client, own_request):
    recipients_of(own_request, ["initial"])
    (message,) = status(client, requestId=str(own_request.id)).json()["messages"]
    assert (message["status"], message["statusMessage"]) == ("Initial", "Initial")


def test_a_message_not_attempted_says_why(client, own_request):
    (recipient,) = recipients_of(own_request, ["not attempted"])
    Recipient.objects.filter(pk=recipient.pk).update(error="opted out")
    (message,) = status(client, requestId=str(own_request.id)).json()["messages"]
    assert message["statusMessage"] == "Not attempted: opted out"


def test_another_callers_requests_are_not_shown(client, db):
    other = SmsRequestFactory(client="key:99999")
    recipients_of(other, ["delivered"])
    body = status(client, requestId=str(other.id)).json()
    assert (body["total"], body["messages"]) == (0, [])


def test_a_staff_user_sees_every_request(db, settings):
    from django.contrib.auth import get_user_model

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from tests.helpers import grant

    grant(
        get_user_model().objects.create_user("ops", password="pw-ops-123", is_staff=True), "messaging.view_smsrequest"
    )
    other = SmsRequestFactory(client="key:99999")
    recipients_of(other, ["delivered"])
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION="Basic b3BzOnB3LW9wcy0xMjM=")
    assert status(staff, requestId=str(other.id)).json()["total"] == 1


def test_the_filter_by_mobile_number(client, own_request):
    first, _ = recipients_of(own_request, ["delivered", "delivered"])
    body = status(client, mobileNumber=first.phone).json()
    assert [m["mobileNumber"] for m in body["messages"]] == [first.phone]


def test_the_filter_by_audience_id(client, own_request):
    member = MemberFactory()
    RecipientFactory(message=SmsMessageFactory(request=own_request, position=2), member=member, phone=member.mobile)
    recipients_of(own_request, ["initial"])
    body = status(client, audienceId=str(member.pk)).json()
    assert [m["audienceId"] for m in body["messages"]] == [str(member.pk)]


def test_the_filter_by_dates(client, api_key):
    client_tag = f"key:{api_key[0].pk}"
    june = SmsRequestFactory(client=client_tag)
    july = SmsRequestFactory(client=client_tag)
    SmsRequest.objects.filter(pk=june.pk).update(created_at=dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC))
    SmsRequest.objects.filter(pk=july.pk).update(created_at=dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC))
    recipients_of(june, ["delivered"])
    recipients_of(july, ["delivered", "delivered"])
    body = status(client, sentDate="07/01/2026", endDate="07/15/2026").json()
    assert body["total"] == 2


def test_the_list_is_paged_from_a_0_based_start(client, own_request):
    recipients = recipients_of(own_request, ["initial"] * 5)
    body = status(client, requestId=str(own_request.id), startElement="2", elementsPerPage="2").json()
    assert ([m["smsId"] for m in body["messages"]], body["total"]) == (
        [str(recipients[2].pk), str(recipients[1].pk)],
        5,
    )


def test_a_date_that_is_not_mm_dd_yyyy_is_a_400(client):
    response = status(client, sentDate="2026-07-01")
    assert (response.status_code, response.json()["message"]) == (
        400,
        "Invalid request format, Error messages :[sentDate must be mm/dd/yyyy]",
    )


def test_a_page_size_over_the_limit_is_a_400(client):
    response = status(client, elementsPerPage="100000")
    assert response.status_code == 400


def test_start_element_0_is_the_newest_message(client, own_request):
    recipients = recipients_of(own_request, ["initial"] * 3)
    body = status(client, requestId=str(own_request.id), startElement="0", elementsPerPage="1").json()
    assert [m["smsId"] for m in body["messages"]] == [str(recipients[-1].pk)]


def test_ids_and_paging_may_be_numbers(client, own_request):
    member = MemberFactory()
    RecipientFactory(message=SmsMessageFactory(request=own_request), member=member, phone=member.mobile)
    body = status(
        client,
        requestId=own_request.id,
        audienceId=member.pk,
        mobileNumber=int(member.mobile.lstrip("+")),
        startElement=0,
        elementsPerPage=20,
    ).json()
    assert [m["audienceId"] for m in body["messages"]] == [str(member.pk)]


@pytest.mark.parametrize("request_id", ["abc", "12a", "-5", "1.5", "7058 003", "²"])
def test_a_request_id_that_is_not_digits_is_the_documented_400(client, request_id):
    response = status(client, requestId=request_id)
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "Request ID should not contain alphabets or special characters"},
    )


def test_an_end_date_without_a_sent_date_is_the_documented_400(client):
    response = status(client, endDate="07/01/2026")
    assert (response.status_code, response.json()) == (400, {"id": "", "message": "Please provide sent date"})


def test_an_unknown_key_is_the_documented_400_naming_it(client, own_request):
    recipients_of(own_request, ["delivered"])
    response = status(client, requestId=str(own_request.id), requestID="1", pageSize="5")
    assert (response.status_code, response.json()) == (
        400,
        {"id": "", "message": "The Request Contains Invalid keys: requestID, pageSize"},
    )


def test_an_end_date_before_the_start_date_is_a_400(client):
    response = status(client, sentDate="07/02/2026", endDate="07/01/2026")
    assert response.status_code == 400


def test_status_needs_credentials():
    response = status(APIClient(), requestId="1")
    assert response.status_code == 401


def test_a_query_under_a_root_element_is_read(client, own_request):
    recipients_of(own_request, ["delivered"])
    response = client.generic(
        "POST",
        URL,
        json.dumps({"smsStatusRequest": {"requestId": str(own_request.id)}}),
        content_type="application/json",
    )
    assert response.json()["total"] == 1


def test_another_key_of_the_same_partner_name_sees_nothing(own_request):
    recipients_of(own_request, ["delivered"])
    _, raw = api_key_create(name="partner")
    other = APIClient()
    other.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw)
    assert status(other, requestId=str(own_request.id)).json()["total"] == 0


def test_a_request_id_beyond_64_bits_is_a_400(client):
    response = status(client, requestId="9999999999999999999")
    assert response.status_code == 400


def test_the_unknown_key_check_comes_before_the_values(client):
    response = status(client, requestId="abc", smsId="1")
    assert response.json()["message"] == "The Request Contains Invalid keys: smsId"


def test_a_start_element_too_far_is_a_400(client):
    response = status(client, startElement="99999999999")
    assert response.status_code == 400


def test_digits_outside_ascii_are_a_400(client):
    response = status(client, requestId="²", startElement="١")
    assert response.status_code == 400


def test_a_query_in_xml_is_read_and_answered_in_xml(client, own_request):
    from tests.helpers import post_xml

    recipients_of(own_request, ["delivered"])
    body = f"<smsStatusRequest><requestId>{own_request.id}</requestId><startElement>0</startElement></smsStatusRequest>"
    response = post_xml(client, body, url=URL)
    assert response.status_code == 200
    assert b"<total>1</total>" in response.content
    assert b"<status>Delivered</status>" in response.content


def test_an_empty_xml_query_asks_for_everything(client, own_request):
    from tests.helpers import post_xml

    recipients_of(own_request, ["delivered"])
    response = post_xml(client, "<smsStatusRequest/>", url=URL)
    assert (response.status_code, b"<total>1</total>" in response.content) == (200, True)


def test_an_unknown_key_in_xml_is_refused_by_name(client):
    from tests.helpers import post_xml

    response = post_xml(client, "<smsStatusRequest><requestID>1</requestID></smsStatusRequest>", url=URL)
    assert response.status_code == 400
    assert b"<description>The Request Contains Invalid keys: requestID</description>" in response.content
