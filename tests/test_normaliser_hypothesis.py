"""The request normaliser and the parsers under trees and bytes of random shape: a list of message
specs or the contract's error, never anything else."""

import os
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from messaging.api.normaliser import normalise_send_request
from messaging.api.parsers import parse_json_text, parse_xml_bytes
from messaging.errors import ContractError
from messaging.specs import MessageSpec

pytestmark = pytest.mark.slow  # long hypothesis runs

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# `make fuzz` runs these with many more examples.
SCALE = float(os.environ.get("HYPOTHESIS_SCALE", "1"))


def examples(count):
    return int(count * SCALE)


KEYS = [
    "smsServiceRequest",
    "messages",
    "message",
    "recipients",
    "recipient",
    "segment",
    "criteria",
    "id",
    "mobile",
    "content",
    "priorityService",
    "startTimestamp",
    "expiryTimestamp",
    "channel",
    "sendVoiceSmsOnFailure",
    "#text",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "true",
            "FALSE",
            "0",
            "1700000000000",
            "99999999999999999999",
            "2026-11-25T10:00:00",
            "2026-13-45",
            "+14155550100",
            "+254712345678",
            "+1",
            "12345",
            "text",
            "VOICE",
            "fax",
            "##1##",
            "##1## AND (##2## OR NOT ##3##)",
            "##",
            "((##1##",
            "[[firstName,customer]]",
            "\x00",
            " ",
        ]
    ),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEY, children, max_size=5)),
    max_leaves=40,
)


def known_segments(ids):
    return ids & {1, 2, 3}


def message_shaped(message):
    return st.fixed_dictionaries(
        {"smsServiceRequest": st.fixed_dictionaries({"messages": st.fixed_dictionaries({"message": message})})}
    )


MESSAGE = st.dictionaries(
    st.sampled_from(KEYS[3:]),
    st.one_of(
        TREES,
        st.fixed_dictionaries({"recipient": st.lists(st.dictionaries(st.sampled_from(["id", "mobile"]), SCALARS))}),
        st.fixed_dictionaries({"segment": st.dictionaries(st.just("criteria"), SCALARS)}),
    ),
    max_size=8,
)
SEND_TREES = st.one_of(TREES, message_shaped(st.one_of(MESSAGE, st.lists(MESSAGE, max_size=3))))


def normalised_or_refused(tree):
    try:
        specs = normalise_send_request(tree, now=NOW, existing_segment_ids=known_segments)
    except ContractError as refused:
        assert refused.status_code == 400
        assert refused.message
        return None
    assert isinstance(specs, list) and specs
    assert all(isinstance(spec, MessageSpec) for spec in specs)
    return specs


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SEND_TREES)
def test_any_json_like_tree_gives_specs_or_the_contract_error(tree):
    normalised_or_refused(tree)


@settings(max_examples=examples(150), deadline=None)
@given(SEND_TREES)
def test_every_accepted_spec_has_content_recipients_and_a_time(tree):
    specs = normalised_or_refused(tree)
    for spec in specs or []:
        assert spec.content.strip()
        assert spec.recipients or spec.criteria
        assert spec.expires_at is None or spec.expires_at > spec.start_at


XML_NAMES = st.one_of(
    st.sampled_from([k for k in KEYS if k != "#text"]), st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,6}", fullmatch=True)
)
XML_TEXT = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    SCALARS.map(lambda value: "".join(ch for ch in str(value) if ch >= " " and ch not in "\ufffe\uffff")),
)


@st.composite
def xml_elements(draw, depth=0):
    name = draw(XML_NAMES)
    attrs = draw(st.dictionaries(XML_NAMES, XML_TEXT, max_size=3))
    attributes = "".join(f" {key}={quoteattr(value)}" for key, value in attrs.items())
    if depth >= 5 or draw(st.booleans()):
        return f"<{name}{attributes}>{escape(draw(XML_TEXT))}</{name}>"
    children = draw(st.lists(xml_elements(depth=depth + 1), max_size=4))
    return f"<{name}{attributes}>{escape(draw(XML_TEXT))}{''.join(children)}</{name}>"


@st.composite
def xml_send_requests(draw):
    messages = draw(st.lists(xml_elements(depth=2), max_size=3))
    return f"<smsServiceRequest><messages><message>{''.join(messages)}</message></messages></smsServiceRequest>"


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(xml_elements(), xml_send_requests()))
def test_any_xml_element_tree_gives_specs_or_the_contract_error(document):
    tree = parse_xml_bytes(document.encode())
    normalised_or_refused(tree)


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_xml_parse_or_raise_a_parse_error(body):
    try:
        tree = parse_xml_bytes(body)
    except ParseError:
        return
    normalised_or_refused(tree)


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.text(max_size=200), TREES.map(lambda tree: __import__("json").dumps(tree)[:-1] + ",}")))
def test_any_text_as_json_parses_or_raises_a_parse_error(text):
    try:
        tree = parse_json_text(text)
    except ParseError:
        return
    normalised_or_refused(tree)


# Requests built to be valid: each is accepted, and its specs say what it asked for.
MOBILES = ["+14155550100", "+14155550123", "+254712345678", "+447911123456", "+33612345678"]
VALID_RECIPIENTS = st.one_of(
    st.fixed_dictionaries(
        {
            "recipient": st.lists(
                st.one_of(
                    st.fixed_dictionaries({"id": st.integers(1, 10**12).map(str)}),
                    st.fixed_dictionaries({"mobile": st.sampled_from(MOBILES)}),
                ),
                min_size=1,
                max_size=5,
            )
        }
    ),
    st.fixed_dictionaries({"segment": st.sampled_from([{"criteria": "##1##"}, {"criteria": "##1## AND NOT ##2##"}])}),
)
VALID_MESSAGE = st.fixed_dictionaries(
    {
        "priorityService": st.sampled_from(["true", "false", "TRUE", True, False]),
        "content": st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200).filter(
            str.strip
        ),
        "recipients": VALID_RECIPIENTS,
    },
    optional={
        "startTimestamp": st.sampled_from(["0", "", "1900000000000", "2030-01-01T00:00:00+00:00"]),
        "channel": st.sampled_from(["text", "SMS", "voice", "VoiceSMS"]),
    },
)


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(VALID_MESSAGE, min_size=1, max_size=3))
def test_a_valid_request_is_accepted_with_what_it_asked_for(messages):
    specs = normalised_or_refused({"smsServiceRequest": {"messages": {"message": messages}}})
    assert specs is not None, messages
    assert [spec.content for spec in specs] == [message["content"] for message in messages]
    for spec, message in zip(specs, messages, strict=True):
        assert spec.priority == (str(message["priorityService"]).lower() == "true")
        assert spec.by_segment == ("segment" in message["recipients"])
        if not spec.by_segment:
            assert len(spec.recipients) == len(message["recipients"]["recipient"])
