"""XML in: attributes, repeated elements, the root, values kept as written, charsets, and the
attacks of OWASP's XML cheat sheet answered 400 before anything expands."""

import io

import pytest

from messaging.api.parsers import parse_xml_bytes
from messaging.models import Recipient, SmsMessage, SmsRequest
from tests.factories import MemberFactory, SegmentFactory
from tests.helpers import post_xml

PARSE_FAILED = b"<description>Failed to parse the input request</description>"


def sms_request_xml(recipients, content="sample sms message", extra=""):
    return (
        "<smsServiceRequest><messages><message>"
        f"<priorityService>false</priorityService>{extra}"
        f"<recipients>{recipients}</recipients><content>{content}</content>"
        "</message></messages></smsServiceRequest>"
    )


def test_an_attribute_is_read_as_a_child_element(client, db):
    member = MemberFactory()
    response = post_xml(client, sms_request_xml(f'<recipient id="{member.id}"/>'))
    assert response.status_code == 200, response.content
    assert Recipient.objects.get().member == member


def test_a_child_element_is_read_as_an_attribute_would_be(client, db):
    member = MemberFactory()
    response = post_xml(client, sms_request_xml(f"<recipient><id>{member.id}</id></recipient>"))
    assert response.status_code == 200, response.content
    assert Recipient.objects.get().member == member


def test_repeated_recipient_elements_are_a_list(client, db):
    members = MemberFactory.create_batch(3)
    recipients = "".join(f'<recipient id="{m.id}"/>' for m in members)
    response = post_xml(client, sms_request_xml(recipients))
    assert response.status_code == 200, response.content
    assert set(Recipient.objects.values_list("member_id", flat=True)) == {m.id for m in members}


def test_repeated_message_elements_are_a_list(client, db):
    member = MemberFactory()
    one = f'<message><priorityService>true</priorityService><recipients><recipient id="{member.id}"/></recipients><content>first</content></message>'  # noqa: E501
    two = one.replace("first", "second")
    body = f"<smsServiceRequest><messages>{one}{two}</messages></smsServiceRequest>"
    response = post_xml(client, body)
    assert response.status_code == 200, response.content
    assert list(SmsMessage.objects.order_by("position").values_list("content", flat=True)) == ["first", "second"]


def test_repeated_segment_elements_are_a_list(client, db):
    first, second = SegmentFactory(name="a"), SegmentFactory(name="b")
    segments = f'<segment criteria="##{first.id}##"/><segment><criteria>##{second.id}##</criteria></segment>'
    response = post_xml(client, sms_request_xml(segments))
    assert response.status_code == 200, response.content
    assert SmsMessage.objects.get().criteria == [f"##{first.id}##", f"##{second.id}##"]


def test_the_parser_keeps_the_root_element():
    assert parse_xml_bytes(b"<smsServiceRequest><messages/></smsServiceRequest>") == {
        "smsServiceRequest": {"messages": ""}
    }


def test_the_parser_keeps_phone_numbers_and_decimals_as_written():
    tree = parse_xml_bytes(b"<r><mobile>+254712345678</mobile><content>3.14</content><id>007</id></r>")
    assert tree == {"r": {"mobile": "+254712345678", "content": "3.14", "id": "007"}}


def test_a_mobile_and_a_decimal_text_reach_the_store_unchanged(client, db):
    body = sms_request_xml("<recipient><mobile>+254712345678</mobile></recipient>", content="3.14")
    response = post_xml(client, body, url="/api/v1/message/sms?checkUserExistence=false")
    assert response.status_code == 200, response.content
    recipient = Recipient.objects.get()
    assert recipient.phone == "+254712345678"
    assert recipient.message.content == "3.14"


def test_the_text_of_an_element_keeps_its_spaces(client, db):
    member = MemberFactory()
    response = post_xml(client, sms_request_xml(f'<recipient id="{member.id}"/>', content="  two  spaces "))
    assert response.status_code == 200, response.content
    assert SmsMessage.objects.get().content == "  two  spaces "


def test_a_root_element_other_than_sms_service_request_fails_to_parse(client, db):
    member = MemberFactory()
    body = sms_request_xml(f'<recipient id="{member.id}"/>').replace("smsServiceRequest", "smsRequest")
    response = post_xml(client, body)
    assert response.status_code == 400
    assert PARSE_FAILED in response.content


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml", "application/xml; charset=utf-8"])
def test_both_xml_media_types_are_read_and_answered_in_kind(client, db, content_type):
    member = MemberFactory()
    response = post_xml(client, sms_request_xml(f'<recipient id="{member.id}"/>'), content_type=content_type)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].split(";")[0] == content_type.split(";")[0]
    request_id = SmsRequest.objects.get().id
    assert response.content.endswith(
        f"<smsResponse><code>200</code><description>Request Queued. </description><id>{request_id}</id>"
        "</smsResponse>".encode()
    )


def test_a_latin_1_body_is_read_by_its_charset(client, db):
    member = MemberFactory()
    body = sms_request_xml(f'<recipient id="{member.id}"/>', content="Café niño €").replace("€", "")
    response = post_xml(client, body.encode("iso-8859-1"), content_type="text/xml; charset=ISO-8859-1")
    assert response.status_code == 200, response.content
    assert SmsMessage.objects.get().content == "Café niño "


def test_an_xml_declaration_gives_the_encoding_when_the_header_does_not(client, db):
    member = MemberFactory()
    body = '<?xml version="1.0" encoding="ISO-8859-1"?>' + sms_request_xml(f'<recipient id="{member.id}"/>', "Olá")
    response = post_xml(client, body.encode("iso-8859-1"), content_type="application/xml")
    assert response.status_code == 200, response.content
    assert SmsMessage.objects.get().content == "Olá"


def test_an_unknown_charset_is_a_400(client, db):
    response = post_xml(client, sms_request_xml('<recipient id="1"/>'), content_type="text/xml; charset=klingon-8")
    assert response.status_code == 400
    assert PARSE_FAILED in response.content


def test_a_body_that_is_not_utf_8_is_a_400(client, db):
    body = sms_request_xml('<recipient id="1"/>', content="caf\xe9").encode("iso-8859-1")
    response = post_xml(client, body, content_type="text/xml; charset=UTF-8")
    assert response.status_code == 400
    assert PARSE_FAILED in response.content


def test_a_body_that_is_not_utf_8_and_names_no_charset_is_a_400(client, db):
    body = sms_request_xml('<recipient id="1"/>', content="caf\xe9").encode("iso-8859-1")
    response = post_xml(client, body, content_type="application/xml")
    assert response.status_code == 400


def test_deep_nesting_is_a_400(client, db):
    body = "<smsServiceRequest>" + "<a>" * 5000 + "</a>" * 5000 + "</smsServiceRequest>"
    response = post_xml(client, body)
    assert response.status_code == 400
    assert PARSE_FAILED in response.content


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<smsServiceRequest><messages><message><content>&lol9;</content></message></messages></smsServiceRequest>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<smsServiceRequest><messages><message><content>&xxe;</content></message></messages></smsServiceRequest>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE smsServiceRequest SYSTEM "http://127.0.0.1:9/evil.dtd">
<smsServiceRequest><messages/></smsServiceRequest>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<smsServiceRequest/>"""

PLAIN_DOCTYPE = """<?xml version="1.0"?>
<!DOCTYPE smsServiceRequest>
<smsServiceRequest><messages/></smsServiceRequest>"""

ATTACKS = {
    "billion-laughs": BILLION_LAUGHS,
    "external-entity": EXTERNAL_ENTITY,
    "external-dtd": EXTERNAL_DTD,
    "parameter-entity": PARAMETER_ENTITY,
    "any-doctype": PLAIN_DOCTYPE,
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_document_type_declaration_is_a_400(client, db, attack):
    response = post_xml(client, attack)
    assert response.status_code == 400
    assert PARSE_FAILED in response.content
    assert not SmsRequest.objects.exists()


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_the_parser_stops_at_the_doctype_before_any_entity_is_declared(attack):
    """Refused at the DOCTYPE itself: an entity declared later is never reached, let alone expanded."""
    from xml.etree.ElementTree import ParseError as ExpatError

    from defusedxml import DTDForbidden
    from rest_framework.exceptions import ParseError

    with pytest.raises(ParseError) as raised:
        parse_xml_bytes(attack.encode())
    assert isinstance(raised.value.__context__, (DTDForbidden,)) or "DTDForbidden" in str(raised.value.detail)
    assert not isinstance(raised.value.__context__, ExpatError)


def test_a_body_over_the_limit_is_a_413(client, db, settings):
    settings.SMS_MAX_BODY_BYTES = 1000
    body = sms_request_xml('<recipient id="1"/>', content="x" * 2000)
    response = post_xml(client, body)
    assert response.status_code == 413
    assert response.content.endswith(
        b"<smsResponse><code>413</code><description>Request body larger than 1000 bytes</description></smsResponse>"
    )


def test_a_chunked_body_over_the_limit_is_a_413(client, db, settings):
    settings.SMS_MAX_BODY_BYTES = 1000
    body = sms_request_xml('<recipient id="1"/>', content="x" * 2000).encode()
    streamed = {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
    }
    response = post_xml(client, body, **streamed)
    assert response.status_code == 413
    assert not SmsRequest.objects.exists()


def test_a_chunked_body_within_the_limit_is_read(client, db):
    member = MemberFactory()
    body = sms_request_xml(f'<recipient id="{member.id}"/>').encode()
    streamed = {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
    }
    response = post_xml(client, body, **streamed)
    assert response.status_code == 200, response.content


def test_the_parser_caps_what_it_reads_whatever_the_header_said(settings):
    from messaging.api.errors import RequestTooLarge
    from messaging.api.parsers import SafeXMLParser

    settings.SMS_MAX_BODY_BYTES = 100
    with pytest.raises(RequestTooLarge):
        SafeXMLParser().parse(io.BytesIO(b"<a>" + b"x" * 200 + b"</a>"))
