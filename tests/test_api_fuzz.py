"""Whatever a client sends, the answer is a contract body with a 2xx or 4xx, never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.models import Member
from tests.helpers import post_json, post_xml

pytestmark = pytest.mark.slow  # long hypothesis runs

FIELDS = [
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
    "channel",
    "priorityService",
    "startTimestamp",
    "expiryTimestamp",
    "sendVoiceSmsOnFailure",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["1", "true", "FALSE", "voice", "##1##", "##1## AND NOT (##2##", "+254712345678", "²", "0", "a\x00b"]
    ),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(FIELDS), children, max_size=5)
    ),
    max_leaves=25,
)


def member_one():
    Member.objects.get_or_create(id=1, defaults={"first_name": "A", "last_name": "B", "mobile": "+14155550001"})


def in_envelope(tree):
    return {"smsServiceRequest": {"messages": {"message": tree}}}


def to_xml(tag, value):
    if isinstance(value, list):
        return "".join(to_xml(tag, item) for item in value)
    if isinstance(value, dict):
        return f"<{tag}>{''.join(to_xml(k, v) for k, v in value.items())}</{tag}>"
    text = "" if value is None else str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f"<{tag}>{''.join(ch for ch in text if ch >= ' ')}</{tag}>"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=TREES, wrap=st.booleans())
def test_no_json_tree_gets_a_server_error(client, db, tree, wrap):
    member_one()
    response = post_json(client, json.dumps(in_envelope(tree) if wrap else tree))
    assert response.status_code in (200, 400), response.content
    body = response.json()
    assert set(body) == {"id", "message"}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=TREES)
def test_no_xml_tree_gets_a_server_error(client, db, tree):
    member_one()
    response = post_xml(client, to_xml("smsServiceRequest", {"messages": {"message": tree}}))
    assert response.status_code in (200, 400), response.content
    assert b"<smsResponse><code>" in response.content


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_no_byte_string_gets_a_server_error(client, db, body):
    for post in (post_json, post_xml):
        response = post(client, body)
        assert response.status_code in (200, 400), response.content
