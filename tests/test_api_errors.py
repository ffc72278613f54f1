"""Each error row of CONTRACT section 3, in JSON and in XML, with the index of the message."""

import json
from xml.sax.saxutils import escape

import pytest

from audiences.models import Segment
from messaging.models import Recipient, RecipientEvent, SmsMessage, SmsRequest
from tests.factories import MemberFactory
from tests.helpers import post_json, post_xml

PARSE_FAILED = "Failed to parse the input request"
NO_ACTIVE_MEMBERS = "No active audience members found"


def invalid(*problems):
    return f"Invalid request format, Error messages :[{', '.join(problems)}]"


def to_xml(tag, value):
    """The tree written as XML: keys become elements, lists repeated elements."""
    if isinstance(value, list):
        return "".join(to_xml(tag, item) for item in value)
    if isinstance(value, dict):
        return f"<{tag}>{''.join(to_xml(k, v) for k, v in value.items())}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def send_request(*messages):
    return {"smsServiceRequest": {"messages": {"message": list(messages)}}}


def post(client, fmt, tree_or_text):
    if fmt == "json":
        text = tree_or_text if isinstance(tree_or_text, str) else json.dumps(tree_or_text)
        return post_json(client, text)
    if isinstance(tree_or_text, str):
        text = tree_or_text
    else:
        ((root, body),) = tree_or_text.items()
        text = to_xml(root, body)
    return post_xml(client, text)


def answer_text(response, fmt):
    if fmt == "json":
        body = response.json()
        assert body["id"] == ""
        return body["message"]
    content = response.content.decode()
    assert content.startswith('<?xml version="1.0" encoding="utf-8"?>\n<smsResponse><code>')
    code = content.split("<code>", 1)[1].split("</code>", 1)[0]
    assert int(code) == response.status_code
    assert content.endswith("</description></smsResponse>")
    assert "<id>" not in content
    return content.split("<description>", 1)[1].split("</description>", 1)[0]


def nothing_stored():
    return not (
        SmsRequest.objects.exists()
        or SmsMessage.objects.exists()
        or Recipient.objects.exists()
        or RecipientEvent.objects.exists()
    )


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def message(member):
    def build(**changes):
        fields = {
            "startTimestamp": "0",
            "expiryTimestamp": "0",
            "priorityService": "true",
            "recipients": {"recipient": {"id": str(member.id)}},
            "content": "sample sms message",
        }
        fields.update(changes)
        return {name: value for name, value in fields.items() if value is not None}

    return build


FORMATS = ["json", "xml"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_body_that_is_not_well_formed_fails_to_parse(client, member, fmt):
    text = '{"smsServiceRequest": {"messages": ' if fmt == "json" else "<smsServiceRequest><messages>"
    response = post(client, fmt, text)
    assert response.status_code == 400
    assert answer_text(response, fmt) == PARSE_FAILED
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_root_other_than_sms_service_request_fails_to_parse(client, message, fmt):
    response = post(client, fmt, {"smsRequest": {"messages": {"message": message()}}})
    assert response.status_code == 400
    assert answer_text(response, fmt) == PARSE_FAILED
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_message_with_recipient_and_segment_is_refused_with_its_index(client, message, member, fmt):
    both = message(recipients={"recipient": {"id": str(member.id)}, "segment": {"criteria": "##1##"}})
    response = post(client, fmt, send_request(message(), both))
    assert response.status_code == 400
    assert answer_text(response, fmt) == "Either recipient list or segment criteria is allowed, not both @ message :2"
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_message_with_neither_recipient_nor_segment_is_refused_with_its_index(client, message, fmt):
    response = post(client, fmt, send_request(message(), message(recipients=None)))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("recipients are required @ message :2")
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_recipients_count_as_neither(client, message, fmt):
    response = post(client, fmt, send_request(message(recipients={"recipient": []})))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("recipients are required @ message :1")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("criteria", ["##4## AND", "4", "##a##", "(##1##", "##1## XOR ##1##", ""])
def test_criteria_that_does_not_parse_is_invalid_segment_criteria(client, message, fmt, criteria):
    response = post(client, fmt, send_request(message(), message(recipients={"segment": {"criteria": criteria}})))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("invalid segment criteria @ message :2")
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_criteria_naming_a_missing_segment_is_invalid_segment_criteria(client, message, fmt):
    existing = Segment.objects.create(name="existing")
    criteria = f"##{existing.id}## AND NOT ##{existing.id + 1000}##"
    response = post(client, fmt, send_request(message(recipients={"segment": {"criteria": criteria}})))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("invalid segment criteria @ message :1")
    assert nothing_stored()


PROBLEMS = [
    ({"priorityService": None}, "priorityService is required"),
    ({"priorityService": "yes"}, "priorityService must be true or false"),
    ({"priorityService": ""}, "priorityService is required"),
    ({"startTimestamp": "tomorrow"}, "startTimestamp is not a time"),
    ({"expiryTimestamp": "12:00"}, "expiryTimestamp is not a time"),
    ({"startTimestamp": "99999999999999999999"}, "startTimestamp is out of range"),
    (
        {"startTimestamp": "1900000000000", "expiryTimestamp": "1800000000000"},
        "expiryTimestamp is not after startTimestamp",
    ),
    ({"expiryTimestamp": "1000"}, "expiryTimestamp is not after startTimestamp"),
    ({"channel": "fax"}, "unknown channel"),
    ({"recipients": {"recipient": {"mobile": "0712345678"}}}, "invalid mobile number"),
    ({"recipients": {"recipient": {"mobile": "+1555"}}}, "invalid mobile number"),
    ({"recipients": {"recipient": {"id": "abc"}}}, "invalid recipient id"),
    (
        {"recipients": {"recipient": {"name": "x"}}},
        "recipient needs an id or a mobile @ message :3, invalid attribute name",
    ),
    ({"sendVoiceSMSOnFailure": "true"}, "invalid attribute sendVoiceSMSOnFailure"),
    ({"recipients": {"recipient": {"id": "1", "Mobile": "+14155550123"}}}, "invalid attribute Mobile"),
    ({"recipients": {"segment": {"criteria": "##1##", "name": "x"}}}, "invalid attribute name"),
    ({"recipients": {"recipient": {"id": "1"}, "audience": "x"}}, "invalid attribute audience"),
    ({"content": None}, "content is required"),
    ({"sendVoiceSmsOnFailure": "maybe"}, "sendVoiceSmsOnFailure must be true or false"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("changes", "what"), PROBLEMS, ids=[what for _, what in PROBLEMS])
def test_an_invalid_field_names_the_problem_and_the_message(client, message, fmt, changes, what):
    """Unknown keys, at every level of a message, are named too: none is dropped silently."""
    response = post(client, fmt, send_request(message(), message(), message(**changes)))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid(f"{what} @ message :3")
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_problems_are_listed_together(client, message, fmt):
    first = message(priorityService=None, recipients={"recipient": {"mobile": "12"}})
    third = message(channel="fax")
    response = post(client, fmt, send_request(first, message(), third))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid(
        "priorityService is required @ message :1",
        "invalid mobile number @ message :1",
        "unknown channel @ message :3",
    )
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_recipients_that_are_no_active_subscribed_member_are_refused(client, message, fmt):
    inactive = MemberFactory(active=False)
    opted_out = MemberFactory(sms_subscription=False)
    recipients = {"recipient": [{"id": str(inactive.id)}, {"id": str(opted_out.id)}, {"id": "987654"}]}
    response = post(client, fmt, send_request(message(recipients=recipients)))
    assert response.status_code == 400
    assert answer_text(response, fmt) == NO_ACTIVE_MEMBERS
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_mobile_that_belongs_to_no_member_is_refused_by_default(client, message, fmt):
    response = post(client, fmt, send_request(message(recipients={"recipient": {"mobile": "+254712345678"}})))
    assert response.status_code == 400
    assert answer_text(response, fmt) == NO_ACTIVE_MEMBERS
    assert nothing_stored()


def test_one_unreachable_message_refuses_the_whole_request(client, message):
    inactive = MemberFactory(active=False)
    response = post(
        client, "json", send_request(message(), message(recipients={"recipient": {"id": str(inactive.id)}}))
    )
    assert response.status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_many_messages_are_refused(client, message, fmt, settings):
    settings.SMS_MAX_MESSAGES = 2
    response = post(client, fmt, send_request(message(), message(), message()))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("more than 2 messages")
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_many_recipients_are_refused(client, message, member, fmt, settings):
    settings.SMS_MAX_RECIPIENTS = 2
    recipients = {"recipient": [{"id": str(member.id)}] * 3}
    response = post(client, fmt, send_request(message(recipients=recipients)))
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("more than 2 recipients")
    assert nothing_stored()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_with_no_message_is_refused(client, fmt):
    response = post(client, fmt, {"smsServiceRequest": {"messages": {"channel": "text"}}})
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("message is required @ message :1")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_key_above_the_messages_is_refused(client, message, fmt):
    body = send_request(message())
    body["smsServiceRequest"]["sender"] = "x"
    body["smsServiceRequest"]["messages"]["priority"] = "true"
    response = post(client, fmt, body)
    assert response.status_code == 400
    assert answer_text(response, fmt) == invalid("invalid attribute sender, invalid attribute priority")
    assert nothing_stored()
