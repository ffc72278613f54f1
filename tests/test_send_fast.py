"""The send route's lean path (messaging/api/send_fast.py) answers exactly as the DRF view: each
request is posted once with SMS_SEND_FAST_PATH on and once off, and the answers compared (status,
body, headers); the requests it must leave to the DRF view are seen to reach it."""

import json
import re

import pytest
from rest_framework.test import APIClient

from messaging.api import send_fast
from messaging.models import Recipient, SmsRequest
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory
from tests.helpers import one_message

URL = "/api/v1/message/sms"
VARYING = {"X-Request-ID", "Content-Length"}  # a fresh id each time; the body's id differs in length


XML = (
    "<smsServiceRequest><messages><message><priorityService>false</priorityService>"
    '<recipients><recipient mobile="+14155550100"/></recipients><content>Your code is 1234</content>'
    "</message></messages></smsServiceRequest>"
)


def body(*phones, content="Your code is 1234", **message):
    recipients = [{"mobile": phone} for phone in phones]
    return json.dumps(
        one_message(
            content=content,
            priorityService="false",
            recipients={"recipient": recipients[0] if len(recipients) == 1 else recipients},
            **message,
        )
    )


@pytest.fixture
def lean_calls(monkeypatch):
    """How many requests the lean path handed to the DRF view."""
    handed = []
    view = send_fast._drf_view
    monkeypatch.setattr(send_fast, "_drf_view", lambda request, *a, **k: handed.append(1) or view(request, *a, **k))
    return handed


def post(settings, fast, data, content_type="application/json", url=URL, **headers):
    settings.SMS_SEND_FAST_PATH = fast
    return APIClient().generic("POST", url, data, content_type=content_type, **headers)


def answers(settings, data, **options):
    """(lean, DRF) answers to the same request, as comparable tuples."""
    out = []
    for fast in (True, False):
        response = post(settings, fast, data, **options)
        content = json.loads(response.content) if response.content.startswith(b"{") else response.content
        if isinstance(content, dict) and content.get("id"):
            content["id"] = "<id>"
        if isinstance(content, bytes):  # an XML answer: its id is a new request's
            content = re.sub(rb"<id>\d+</id>", b"<id>new</id>", content)
        headers = {name: value for name, value in response.headers.items() if name not in VARYING}
        out.append((response.status_code, content, headers))
    return out


@pytest.fixture
def raw_key(db):
    return api_key_create(name="partner", daily_quota_parts=0, allowed_countries=[])[1]


CASES = {
    "one recipient": dict(data=body("+14155550100"), query="?checkUserExistence=false"),
    "a hundred recipients": dict(
        data=body(*[f"+1415555{n:04d}" for n in range(100, 200)]), query="?checkUserExistence=false"
    ),
    "a sample with trailing commas": dict(
        data='{"smsServiceRequest": {"messages": {"message": {"content": "x", "recipients": '
        '{"recipient": {"mobile": "+14155550100",},},},},},}',
        query="?checkUserExistence=false",
    ),
    "not JSON": dict(data="{not json", query=""),
    "not UTF-8": dict(data=b'{"a": "\xff"}', query=""),
    "an unknown charset": dict(data=body("+14155550100"), query="", content_type="application/json; charset=nope"),
    "a latin-1 charset": dict(
        data=body("+14155550100").encode("latin-1"),
        query="?checkUserExistence=false",
        content_type="application/json; charset=latin-1",
    ),
    "an invalid message": dict(data=json.dumps(one_message(content="", recipients={})), query=""),
    "an unknown key": dict(
        data=json.dumps(one_message(content="x", bogus="1", recipients={"recipient": {"mobile": "+14155550100"}})),
        query="",
    ),
    "a stranger to the audience": dict(data=body("+14155550100"), query=""),
    "a bad checkUserExistence": dict(data=body("+14155550100"), query="?checkUserExistence=maybe"),
    "a premium-rate number": dict(data=body("+19005550100"), query="?checkUserExistence=false"),
    "XML": dict(data=XML, query="?checkUserExistence=false", content_type="application/xml"),
    "text/xml with its charset": dict(
        data=XML, query="?checkUserExistence=false", content_type="text/xml;charset=UTF-8"
    ),
    "XML not well-formed": dict(data="<smsServiceRequest><messages>", query="", content_type="application/xml"),
    "XML with a DTD": dict(data='<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', query="", content_type="text/xml"),
    "an XML answer to JSON": dict(
        data=body("+14155550100"), query="?checkUserExistence=false", HTTP_ACCEPT="application/xml"
    ),
    "a text/xml answer to a refusal": dict(data="{not json", query="", HTTP_ACCEPT="text/xml"),
    "a JSON answer to XML": dict(
        data=XML, query="?checkUserExistence=false", content_type="text/xml", HTTP_ACCEPT="application/json"
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_lean_path_answers_as_the_drf_view(settings, raw_key, lean_calls, case):
    options = dict(CASES[case])
    query = options.pop("query")
    lean, drf = answers(settings, url=URL + query, HTTP_X_VOLTMX_APP_API_KEY=raw_key, **options)
    assert lean == drf
    assert lean_calls == [1]  # only the second post, with the lean path off, reached the DRF view


def test_an_opted_out_member_is_not_attempted_alike(settings, raw_key, lean_calls):
    MemberFactory(mobile="+14155550100", sms_subscription=False)
    MemberFactory(mobile="+14155550101")
    data = body("+14155550100", "+14155550101")
    lean, drf = answers(settings, data, HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    assert lean == drf and lean[0] == 200
    assert sorted(Recipient.objects.values_list("state", flat=True)) == ["initial"] * 2 + ["not attempted"] * 2


def test_a_replay_answers_the_first_id_on_both_paths(settings, raw_key):
    data = body("+14155550100")
    key = {"HTTP_X_VOLTMX_APP_API_KEY": raw_key, "HTTP_IDEMPOTENCY_KEY": "abc-1"}
    first = post(settings, True, data, url=URL + "?checkUserExistence=false", **key)
    again = [post(settings, fast, data, url=URL + "?checkUserExistence=false", **key) for fast in (True, False)]
    assert [r.status_code for r in [first, *again]] == [200, 200, 200]
    assert {json.loads(r.content)["id"] for r in [first, *again]} == {json.loads(first.content)["id"]}
    changed = post(settings, True, body("+14155550101"), url=URL + "?checkUserExistence=false", **key)
    assert changed.status_code == 409
    assert SmsRequest.objects.count() == 1


def test_past_the_rate_limit_both_answer_429_with_retry_after(settings, db):
    _, limited = api_key_create(name="limited", rate_limit_per_minute=1, daily_quota_parts=0)
    data = body("+14155550100")
    url = URL + "?checkUserExistence=false"
    assert post(settings, True, data, url=url, HTTP_X_VOLTMX_APP_API_KEY=limited).status_code == 200
    lean, drf = answers(settings, data, url=url, HTTP_X_VOLTMX_APP_API_KEY=limited)
    assert lean[0] == 429 and "Retry-After" in lean[2]
    lean[2].pop("Retry-After"), drf[2].pop("Retry-After")  # seconds left, read a moment apart
    lean[1]["message"] = drf[1]["message"] = "<wait>"
    assert lean == drf
    assert SmsRequest.objects.count() == 1


def test_past_the_daily_quota_both_answer_429(settings, db):
    _, small = api_key_create(name="small", daily_quota_parts=1, allowed_countries=[])
    url = URL + "?checkUserExistence=false"
    lean, drf = answers(settings, body("+14155550100", "+14155550101"), url=url, HTTP_X_VOLTMX_APP_API_KEY=small)
    assert lean == drf and lean[0] == 429


@pytest.mark.parametrize("case", ["no key", "a wrong key", "a form body", "no body", "a GET"])
def test_what_the_lean_path_leaves_to_the_drf_view(settings, raw_key, lean_calls, case):
    options = {
        "no key": dict(),
        "a wrong key": dict(HTTP_X_VOLTMX_APP_API_KEY="0123456789ab.not-a-key"),
        "a form body": dict(HTTP_X_VOLTMX_APP_API_KEY=raw_key, content_type="application/x-www-form-urlencoded"),
        "no body": dict(HTTP_X_VOLTMX_APP_API_KEY=raw_key, data=""),
        "a GET": dict(HTTP_X_VOLTMX_APP_API_KEY=raw_key),
    }[case]
    data = options.pop("data", body("+14155550100"))
    settings.SMS_SEND_FAST_PATH = True
    method = "GET" if case == "a GET" else "POST"
    content_type = options.pop("content_type", "application/json")
    response = APIClient().generic(method, URL, data, content_type=content_type, **options)
    assert lean_calls == [1], response.content
    expected = {"no key": 401, "a wrong key": 401, "a form body": 415, "a GET": 405, "no body": 400}[case]
    assert response.status_code == expected


def test_a_key_without_the_send_scope_is_left_to_the_drf_view(settings, db, lean_calls):
    _, reader = api_key_create(name="reader", scopes=["status"])
    response = post(settings, True, body("+14155550100"), HTTP_X_VOLTMX_APP_API_KEY=reader)
    assert response.status_code == 403 and lean_calls == [1]
