"""JSON in: one object or a list, string booleans, numbers and strings either way, the channel at
`messages` level, the voice fallback, checkUserExistence, and the response format."""

import json

import pytest

from messaging.backends import locmem
from messaging.models import Recipient, SmsMessage, SmsRequest
from messaging.services.dispatch import dispatch_due_run
from tests.factories import MemberFactory, SegmentFactory
from tests.helpers import one_message, post_json, post_xml


@pytest.fixture
def member(db):
    return MemberFactory(first_name="Ada")


def queued(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "Request Queued. "
    return SmsRequest.objects.get(id=int(body["id"]))


def test_message_recipient_and_segment_may_be_lists(client, member, db):
    other = MemberFactory()
    segment = SegmentFactory(name="vip", conditions=[("state", "Equal", "nowhere")])
    messages = [
        {"priorityService": "false", "content": "a", "recipients": [{"recipient": [{"id": member.id}]}]},
        {"priorityService": "false", "content": "b", "recipients": {"recipient": {"id": str(other.id)}}},
        {"priorityService": "false", "content": "c", "recipients": {"segment": [{"criteria": f"##{segment.id}##"}]}},
    ]
    queued(
        post_json(client, {"smsServiceRequest": {"messages": [{"message": messages[:2]}, {"message": messages[2]}]}})
    )
    assert list(SmsMessage.objects.order_by("position").values_list("content", flat=True)) == ["a", "b", "c"]
    assert Recipient.objects.count() == 2


@pytest.mark.parametrize(("written", "priority"), [("true", True), ("TRUE", True), ("False", False), (True, True)])
def test_priority_service_takes_string_booleans_in_any_case(client, member, written, priority):
    queued(
        post_json(
            client, one_message(priorityService=written, recipients={"recipient": {"id": member.id}}, content="x")
        )
    )
    assert SmsMessage.objects.get().priority is priority


@pytest.mark.parametrize("written", ["voice", "VoiceSMS", "voicesms"])
def test_the_channel_may_stand_at_messages_level(client, db, written):
    member = MemberFactory()
    message = {"priorityService": "true", "recipients": {"recipient": {"id": member.id}}, "content": "x"}
    queued(post_json(client, {"smsServiceRequest": {"messages": {"channel": written, "message": message}}}))
    assert SmsMessage.objects.get().channel == "voice"
    assert Recipient.objects.get().channel == "voice"


def test_the_channel_of_a_message_overrides_that_of_messages(client, member):
    message = {"priorityService": "true", "recipients": {"recipient": {"id": member.id}}, "content": "x"}
    message["channel"] = "TextSMS"
    queued(post_json(client, {"smsServiceRequest": {"messages": {"channel": "voice", "message": message}}}))
    assert SmsMessage.objects.get().channel == "text"


@pytest.mark.parametrize(("written", "stored"), [("True", True), ("false", False), (None, False)])
def test_send_voice_sms_on_failure_is_stored(client, member, written, stored):
    fields = {"priorityService": "true", "recipients": {"recipient": {"id": member.id}}, "content": "x"}
    if written is not None:
        fields["sendVoiceSmsOnFailure"] = written
    queued(post_json(client, one_message(**fields)))
    assert SmsMessage.objects.get().voice_on_failure is stored


def test_check_user_existence_false_sends_to_a_mobile_with_no_member(client, db):
    body = one_message(priorityService="true", recipients={"recipient": {"mobile": "+254712345678"}}, content="hi")
    queued(post_json(client, body, url="/api/v1/message/sms?checkUserExistence=false"))
    recipient = Recipient.objects.get()
    assert (recipient.phone, recipient.member, recipient.state) == ("+254712345678", None, "initial")
    dispatch_due_run(seconds=5)
    assert [(sms.phone, sms.text) for sms in locmem.outbox] == [("+254712345678", "hi")]


def test_check_user_existence_false_still_honours_an_opted_out_member(client, db):
    opted_out = MemberFactory(sms_subscription=False)
    body = one_message(priorityService="true", recipients={"recipient": {"mobile": opted_out.mobile}}, content="hi")
    response = post_json(client, body, url="/api/v1/message/sms?checkUserExistence=false")
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": "No active audience members found"}


def test_unreachable_recipients_beside_a_reachable_one_are_stored_as_not_attempted(client, member):
    inactive = MemberFactory(active=False)
    recipients = {"recipient": [{"id": member.id}, {"id": inactive.id}]}
    queued(post_json(client, one_message(priorityService="true", recipients=recipients, content="x")))
    assert dict(Recipient.objects.values_list("member_id", "state")) == {
        member.id: "initial",
        inactive.id: "not attempted",
    }


def test_a_member_named_twice_is_sent_once(client, member):
    recipients = {"recipient": [{"id": member.id}, {"id": str(member.id)}, {"mobile": member.mobile}]}
    queued(post_json(client, one_message(priorityService="true", recipients=recipients, content="x")))
    assert Recipient.objects.count() == 1


def test_numbers_may_come_as_strings_and_strings_as_numbers(client, member):
    body = one_message(
        priorityService=True,
        startTimestamp=0,
        expiryTimestamp=4102444800000,
        recipients={"recipient": {"id": member.id}},
        content=3.14,
    )
    queued(post_json(client, body))
    message = SmsMessage.objects.get()
    assert message.content == "3.14"
    assert message.expires_at.year == 2100


def test_timestamps_may_be_epoch_milliseconds_or_iso_8601(client, member):
    body = one_message(
        priorityService="true",
        startTimestamp="4102444800000",
        expiryTimestamp="2100-01-02T00:00:00+00:00",
        recipients={"recipient": {"id": member.id}},
        content="x",
    )
    queued(post_json(client, body))
    message = SmsMessage.objects.get()
    assert (message.start_at.isoformat(), message.expires_at.isoformat()) == (
        "2100-01-01T00:00:00+00:00",
        "2100-01-02T00:00:00+00:00",
    )


def test_trailing_commas_in_objects_and_lists_are_accepted(client, member):
    text = (
        '{"smsServiceRequest": {"messages": {"message": [{"priorityService": "true", '
        f'"recipients": {{"recipient": [{{"id": "{member.id}"}},]}}, "content": "a, }}",}},],}},}},}}'
    )
    queued(post_json(client, text))
    assert SmsMessage.objects.get().content == "a, }"


@pytest.mark.parametrize(
    "text",
    [
        "{'smsServiceRequest': {}}",
        '{"smsServiceRequest": {"messages": NaN}}',
        '{"smsServiceRequest": {}} // comment',
        '{"smsServiceRequest": {,}}',
        "",
        "[" * 100000 + "]" * 100000,
    ],
    ids=["single-quotes", "nan", "comment", "lone-comma", "empty", "deep"],
)
def test_anything_else_beyond_strict_json_fails_to_parse(client, db, text):
    response = post_json(client, text)
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": "Failed to parse the input request"}


def test_a_latin_1_json_body_is_read_by_its_charset(client, member):
    body = json.dumps(
        one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content="Olá"),
        ensure_ascii=False,
    )
    response = client.generic(
        "POST", "/api/v1/message/sms", body.encode("iso-8859-1"), content_type="application/json; charset=ISO-8859-1"
    )
    queued(response)
    assert SmsMessage.objects.get().content == "Olá"


@pytest.mark.parametrize("content_type", ["application/json; charset=klingon-8", "application/json; charset=utf-8"])
def test_a_body_that_does_not_match_its_charset_is_a_400(client, db, content_type):
    response = client.generic("POST", "/api/v1/message/sms", b'{"a": "\xff\xfe"}', content_type=content_type)
    assert response.status_code == 400
    assert response.json()["message"] == "Failed to parse the input request"


def test_a_json_body_over_the_limit_is_a_413(client, db, settings):
    settings.SMS_MAX_BODY_BYTES = 1000
    response = post_json(client, one_message(priorityService="true", content="x" * 2000))
    assert response.status_code == 413
    assert response.json() == {"id": "", "message": "Request body larger than 1000 bytes"}


def test_an_unsupported_content_type_is_a_415(client, db):
    response = client.generic("POST", "/api/v1/message/sms", b"a=b", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["id"] == ""


def test_a_json_request_is_answered_in_xml_when_accept_asks_for_it(client, member):
    body = one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content="x")
    response = post_json(client, body, HTTP_ACCEPT="application/xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert b"<description>Request Queued. </description>" in response.content


def test_an_xml_request_is_answered_in_json_when_accept_asks_for_it(client, member):
    xml = (
        "<smsServiceRequest><messages><message><priorityService>true</priorityService>"
        f'<recipients><recipient id="{member.id}"/></recipients><content>x</content>'
        "</message></messages></smsServiceRequest>"
    )
    response = post_xml(client, xml, HTTP_ACCEPT="application/json")
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["message"] == "Request Queued. "


@pytest.mark.parametrize("accept", ["*/*", "application/json, application/xml", ""])
def test_an_accept_that_names_neither_or_both_follows_the_request(client, db, accept):
    response = post_xml(client, "<smsServiceRequest>", HTTP_ACCEPT=accept)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/xml")


def test_an_error_follows_accept_too(client, db):
    response = post_json(client, "{", HTTP_ACCEPT="text/xml")
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.endswith(
        b"<smsResponse><code>400</code><description>Failed to parse the input request</description></smsResponse>"
    )


@pytest.mark.parametrize("prefix", ["/vpns", "/kpns"])
def test_the_old_context_paths_answer_the_same(client, member, prefix):
    body = one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content="x")
    request = queued(post_json(client, body, url=f"{prefix}/api/v1/message/sms"))
    detail = client.get(f"{prefix}/api/v1/message/sms/{request.id}")
    assert detail.json()["counts"]["initial"] == 1
    cancelled = client.delete(f"{prefix}/api/v1/messages/sms/{request.id}")
    assert cancelled.json()["message"] == f"Cancelled 1 message entries of the Message with ID : {request.id}"


@pytest.mark.parametrize("prefix", ["/vpns", "/kpns"])
def test_the_old_context_paths_give_the_same_errors(client, db, prefix):
    response = post_json(client, "{", url=f"{prefix}/api/v1/message/sms")
    assert response.json() == {"id": "", "message": "Failed to parse the input request"}


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({"recipients": {"recipient": {"id": "²"}}}, "invalid recipient id"),
        ({"startTimestamp": "²"}, "startTimestamp is not a time"),
        ({"content": "a\x00b"}, "content holds a NUL character"),
    ],
)
def test_digits_outside_ascii_and_nul_characters_are_a_400(client, member, changes, what):
    fields = {"priorityService": "true", "recipients": {"recipient": {"id": member.id}}, "content": "x", **changes}
    response = post_json(client, one_message(**fields))
    assert response.status_code == 400
    assert response.json()["message"] == f"Invalid request format, Error messages :[{what} @ message :1]"


def test_a_request_id_with_digits_outside_ascii_or_past_63_bits_is_not_found(client, db):
    assert client.get("/api/v1/message/sms/²").status_code == 404
    assert client.get(f"/api/v1/message/sms/{2**63}").status_code == 404
