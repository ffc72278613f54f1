"""Every sample of the published page, posted byte for byte, with the outcome CONTRACT gives it."""

import pytest

from audiences.models import Segment
from messaging.models import Recipient, SmsMessage, SmsRequest
from tests.factories import MemberFactory, SegmentFactory
from tests.helpers import post_json, post_xml

BOTH_GIVEN = "Either recipient list or segment criteria is allowed, not both @ message :1"

# Copied byte for byte from the published page, odd indentation and trailing commas included.
XML_SAMPLE = (
    "\n"
    "\n"
    "<smsServiceRequest>\n"
    "\n"
    "<messages>\n"
    "\n"
    "<message>\n"
    "\n"
    "<startTimestamp>0</startTimestamp>\n"
    "\n"
    "<expiryTimestamp>0</expiryTimestamp>\n"
    "\n"
    "<priorityService>true</priorityService>\n"
    "\n"
    "<recipients>\n"
    "\n"
    '<recipient id="1"/>\n'
    "\n"
    '<segment criteria="##1##"/>\n'
    "\n"
    "</recipients>\n"
    "\n"
    "<content>sample sms message</content>\n"
    "\n"
    "</message>\n"
    "\n"
    "</messages>\n"
    "\n"
    "</smsServiceRequest>\n"
    "\n"
)

XML_VOICE_SAMPLE = (
    "\n"
    "\n"
    "<smsServiceRequest>\n"
    "\n"
    "<messages>\n"
    "\n"
    "<message>\n"
    "\n"
    "<channel>voicesms</channel>\n"
    "\n"
    "<startTimestamp>0</startTimestamp>\n"
    "\n"
    "<expiryTimestamp>0</expiryTimestamp>\n"
    "\n"
    "<priorityService>true</priorityService>\n"
    "\n"
    "<recipients>\n"
    "\n"
    '<recipient id="1"/>\n'
    "\n"
    '<segment criteria="##1##"/>\n'
    "\n"
    "</recipients>\n"
    "\n"
    "<content>sample sms message</content>\n"
    "\n"
    "</message>\n"
    "\n"
    "</messages>\n"
    "\n"
    "</smsServiceRequest>\n"
    "\n"
)

JSON_AUDIENCE_ID_SAMPLE = (
    "{\n"
    '"smsServiceRequest": {\n'
    '"messages": {\n'
    '"message": {\n'
    '"startTimestamp": "0",\n'
    '"expiryTimestamp": "0",\n'
    '"priorityService": "true",\n'
    '"recipients": {\n'
    '"recipient": {\n'
    '"id": "1"\n'
    "},\n"
    '"segment": {\n'
    '"criteria": "##4##"\n'
    "}\n"
    "},\n"
    '"content": "sample sms message",\n'
    "}\n"
    "}\n"
    "}\n"
    "}\n"
)

JSON_SEGMENT_ARRAY_SAMPLE = (
    "{\n"
    '"smsServiceRequest": {\n'
    '"messages": {\n'
    '"message": {\n'
    '"startTimestamp": "0",\n'
    '"expiryTimestamp": "0",\n'
    '"priorityService": "true",\n'
    '"recipients": {\n'
    "\n"
    '    \t\t\t\t"segment": {\n'
    '    \t\t\t\t\t"criteria": "##4##"\n'
    "    \t\t\t\t}\n"
    "    \t\t\t},\n"
    '    \t\t\t"content": "sample sms message",\t\t\t}\n'
    "    \t}\n"
    "    }\n"
    "\n"
    "}\n"
)

JSON_VOICE_SAMPLE = (
    "{\n"
    '"smsServiceRequest": {\n'
    '"messages": {\n'
    '"message": {\n'
    '"startTimestamp": "0",\n'
    '"expiryTimestamp": "0",\n'
    '"priorityService": "true",\n'
    '"recipients": {\n'
    '"recipient": {\n'
    '"id": "1"\n'
    "},\n"
    '"segment": {\n'
    '"criteria": "##4##"\n'
    "}\n"
    "},\n"
    '"content": "sample sms message",\n'
    "},\n"
    '"channel": "voicesms",\n'
    "}\n"
    "\n"
    "    }\n"
    "\n"
    "}\n"
    "}\n"
)


def xml_error(code, description):
    return f"<smsResponse><code>{code}</code><description>{description}</description></smsResponse>".encode()


def nothing_stored():
    return not SmsRequest.objects.exists() and not SmsMessage.objects.exists() and not Recipient.objects.exists()


@pytest.fixture
def member_1_and_segment_4(db):
    member = MemberFactory(id=1)
    segment = SegmentFactory(id=4, name="segment four")
    return member, segment


@pytest.mark.parametrize("sample", [XML_SAMPLE, XML_VOICE_SAMPLE], ids=["xml", "xml-voice"])
def test_the_xml_samples_are_refused_for_naming_recipient_and_segment(client, member_1_and_segment_4, sample):
    response = post_xml(client, sample)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.endswith(xml_error(400, BOTH_GIVEN))
    assert nothing_stored()


@pytest.mark.parametrize("sample", [XML_SAMPLE, XML_VOICE_SAMPLE], ids=["xml", "xml-voice"])
def test_the_xml_samples_are_refused_for_both_even_when_segment_1_is_missing(client, db, sample):
    Segment.objects.all().delete()
    response = post_xml(client, sample)
    assert response.status_code == 400
    assert response.content.endswith(xml_error(400, BOTH_GIVEN))


def test_the_json_sample_with_audience_id_is_refused_for_naming_recipient_and_segment(client, member_1_and_segment_4):
    response = post_json(client, JSON_AUDIENCE_ID_SAMPLE)
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": BOTH_GIVEN}
    assert nothing_stored()


def test_the_json_array_of_segment_sample_is_queued_once_segment_4_exists(client, member_1_and_segment_4):
    response = post_json(client, JSON_SEGMENT_ARRAY_SAMPLE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "Request Queued. "
    assert SmsMessage.objects.get().criteria == ["##4##"]
    assert SmsRequest.objects.get().id == int(body["id"])


def test_the_json_array_of_segment_sample_is_invalid_segment_criteria_without_segment_4(client, db):
    response = post_json(client, JSON_SEGMENT_ARRAY_SAMPLE)
    assert response.status_code == 400
    assert response.json() == {
        "id": "",
        "message": "Invalid request format, Error messages :[invalid segment criteria @ message :1]",
    }
    assert nothing_stored()


def test_the_json_voice_sample_with_its_extra_brace_fails_to_parse(client, member_1_and_segment_4):
    response = post_json(client, JSON_VOICE_SAMPLE)
    assert response.status_code == 400
    assert response.json() == {"id": "", "message": "Failed to parse the input request"}
    assert nothing_stored()


def test_the_published_content_type_with_charset_is_read(client, member_1_and_segment_4):
    response = client.generic(
        "POST", "/api/v1/message/sms", JSON_SEGMENT_ARRAY_SAMPLE, content_type="application/json;charset=UTF-8"
    )
    assert response.status_code == 200, response.content
