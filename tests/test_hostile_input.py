"""The hostile corpus through the real endpoint: every body an attacker or a careless partner can
send is a clear 4xx, answered fast, in bounded memory, with nothing stored.

The time and memory bounds are generous: they catch a hang or an expansion, not a slow path.
"""

import json
import time
import tracemalloc

import pytest

from messaging.models import SmsRequest
from tests.factories import MemberFactory

SEND_URL = "/api/v1/message/sms"
HANG_SECONDS = 5.0
MEMORY_BOUND = 64 * 1024 * 1024
MIB = 1024 * 1024


def xml_request(message_body):
    return f"<smsServiceRequest><messages><message>{message_body}</message></messages></smsServiceRequest>"


def json_request(**message):
    return json.dumps({"smsServiceRequest": {"messages": {"message": message}}})


QUADRATIC_BLOWUP = (
    '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "'
    + "x" * 50_000
    + '">]>'
    + xml_request("<content>" + "&a;" * 15_000 + "</content>")
)
XINCLUDE = xml_request(
    '<content><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/></content>'
)
XSLT_PI = '<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/x.xsl"?>' + xml_request("<content>x</content>")
DEEP_WIDE_XML = "<smsServiceRequest>" + "<a>" * 100_000 + "</a>" * 100_000 + "</smsServiceRequest>"
ENTITY_IN_ATTRIBUTE = '<!DOCTYPE s [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + xml_request(
    '<recipients><recipient mobile="&e;"/></recipients>'
)
MANY_ATTRIBUTES = "<smsServiceRequest " + " ".join(f'a{n}="{n}"' for n in range(40_000)) + "/>"
HUGE_NAME = "<" + "a" * 900_000 + "/>"
UNCLOSED = "<smsServiceRequest>" * 10
MANY_MESSAGES_XML = (
    "<smsServiceRequest><messages>"
    + "<message><content>x</content></message>" * 25_000
    + "</messages></smsServiceRequest>"
)
MANY_MOBILES_XML = xml_request(
    "<priorityService>false</priorityService><content>x</content><recipients>"
    + "".join(f'<recipient mobile="+1415555{n % 10000:04d}"/>' for n in range(28_000))
    + "</recipients>"
)
MANY_MOBILES_JSON = json_request(
    priorityService="false",
    content="x",
    recipients={"recipient": [{"mobile": f"+1415555{n % 10000:04d}"} for n in range(30_000)]},
)
DEEP_JSON = "[" * 400_000 + "]" * 400_000
HUGE_INTEGER_JSON = '{"smsServiceRequest": {"messages": {"message": {"startTimestamp": ' + "9" * 500_000 + "}}}}"
HUGE_EXPONENT_JSON = json_request(priorityService=1e308, startTimestamp=1e308, content="x")

# (id, content type, body, status)
CORPUS = [
    ("xml-quadratic-blowup", "text/xml", QUADRATIC_BLOWUP, 400),
    ("xml-xinclude", "text/xml", XINCLUDE, 400),
    ("xml-stylesheet-instruction", "text/xml", XSLT_PI, 400),
    ("xml-nested-100k-deep", "text/xml", DEEP_WIDE_XML, 400),
    ("xml-external-entity-in-attribute", "text/xml", ENTITY_IN_ATTRIBUTE, 400),
    ("xml-40k-attributes", "text/xml", MANY_ATTRIBUTES, 400),
    ("xml-900k-element-name", "text/xml", HUGE_NAME, 400),
    ("xml-unclosed", "text/xml", UNCLOSED, 400),
    ("xml-25k-messages", "text/xml", MANY_MESSAGES_XML, 400),
    ("xml-28k-mobiles", "text/xml", MANY_MOBILES_XML, 400),
    ("xml-utf-16-declared-utf-8-sent", "text/xml; charset=utf-16", xml_request("<content>x</content>"), 400),
    ("xml-declaration-names-unknown-encoding", "text/xml", '<?xml version="1.0" encoding="klingon"?><a/>', 400),
    ("xml-declaration-utf-32-body-utf-8", "text/xml", '<?xml version="1.0" encoding="utf-32"?><a/>', 400),
    ("xml-nul-byte", "text/xml", xml_request("<content>a\x00b</content>"), 400),
    ("xml-charset-is-a-bytes-codec", "application/xml; charset=base64", xml_request("<content>x</content>"), 400),
    ("json-nested-400k-deep", "application/json", DEEP_JSON, 400),
    ("json-500k-digit-integer", "application/json", HUGE_INTEGER_JSON, 400),
    ("json-huge-exponents", "application/json", HUGE_EXPONENT_JSON, 400),
    ("json-30k-mobiles", "application/json", MANY_MOBILES_JSON, 400),
    ("json-invalid-utf-8", "application/json", b'{"smsServiceRequest": {"\xff\xfe": "\xc3\x28"}}', 400),
    ("json-overlong-utf-8-slash", "application/json", b'{"smsServiceRequest": "\xc0\xaf"}', 400),
    ("json-utf-16-declared-utf-8-sent", "application/json; charset=utf-16", json_request(content="x"), 400),
    ("json-charset-is-a-text-transform", "application/json; charset=rot13", json_request(content="x"), 400),
    ("json-nan", "application/json", '{"smsServiceRequest": {"messages": {"message": {"priorityService": NaN}}}}', 400),
    ("json-root-is-a-string", "application/json", '"smsServiceRequest"', 400),
    ("json-empty-body", "application/json", "", 400),
    (
        "json-mobile-as-a-number",
        "application/json",
        json_request(priorityService="false", content="x", recipients={"recipient": {"mobile": 14155550100}}),
        400,
    ),
    (
        "json-id-as-a-float",
        "application/json",
        json_request(priorityService="false", content="x", recipients={"recipient": {"id": 1.5}}),
        400,
    ),
    (
        "json-id-as-a-negative-string",
        "application/json",
        json_request(priorityService="false", content="x", recipients={"recipient": {"id": "-1"}}),
        400,
    ),
    (
        "json-priority-as-a-number",
        "application/json",
        json_request(priorityService=1, content="x", recipients={"recipient": {"id": "1"}}),
        400,
    ),
    (
        "json-content-as-an-object",
        "application/json",
        json_request(priorityService="true", content={"a": 1}, recipients={"recipient": {"id": "1"}}),
        400,
    ),
    (
        "json-timestamp-30-digits",
        "application/json",
        json_request(
            priorityService="true", content="x", startTimestamp="9" * 30, recipients={"recipient": {"id": "1"}}
        ),
        400,
    ),
    (
        "json-timestamp-negative",
        "application/json",
        json_request(priorityService="true", content="x", startTimestamp="-5", recipients={"recipient": {"id": "1"}}),
        400,
    ),
    (
        "json-criteria-as-a-list",
        "application/json",
        json_request(priorityService="true", content="x", recipients={"segment": {"criteria": ["##1##"]}}),
        400,
    ),
    (
        "json-criteria-deeply-bracketed",
        "application/json",
        json_request(
            priorityService="true",
            content="x",
            recipients={"segment": {"criteria": "(" * 50_000 + "##1##" + ")" * 50_000}},
        ),
        400,
    ),
    ("body-over-the-limit", "application/json", b"{" + b" " * (MIB + 10) + b"}", 413),
    ("unsupported-media-type", "application/x-www-form-urlencoded", "smsServiceRequest=1", 415),
    ("multipart-body", "multipart/form-data; boundary=x", "--x\r\n\r\n--x--", 415),
]


def post_raw(client, content_type, body):
    return client.generic("POST", SEND_URL, body, content_type=content_type)


CASES = {
    "argnames": ("content_type", "body", "status"),
    "argvalues": [c[1:] for c in CORPUS],
    "ids": [c[0] for c in CORPUS],
}


@pytest.mark.parametrize(**CASES)
def test_hostile_body_is_a_clear_4xx_with_the_contract_body_and_stores_nothing(client, db, content_type, body, status):
    MemberFactory(id=1)
    started = time.monotonic()
    response = post_raw(client, content_type, body)
    elapsed = time.monotonic() - started
    assert response.status_code == status, response.content[:300]
    if "json" in response["Content-Type"]:
        assert set(json.loads(response.content)) == {"id", "message"}
    else:
        assert b"<smsResponse><code>" in response.content
    assert elapsed < HANG_SECONDS
    assert not SmsRequest.objects.exists()


# Bodies whose cost is CPU rather than memory are left out: tracemalloc makes them slow to run.
MEMORY_CASES = [c for c in CORPUS if "mobiles" not in c[0]]


@pytest.mark.parametrize(
    ("content_type", "body", "status"), [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES]
)
def test_hostile_body_is_answered_in_bounded_memory(client, db, content_type, body, status):
    tracemalloc.start()
    try:
        post_raw(client, content_type, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND
