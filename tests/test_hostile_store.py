"""Values that parse but that the store or the text layout cannot hold, and requests whose size is
refused only after the costly work: defects found by the hostile corpus."""

import json

import pytest

from messaging.models import Recipient
from tests.factories import MemberFactory
from tests.test_hostile_input import json_request, post_raw

LEAVES_THAT_THE_STORE_CANNOT_HOLD = [
    ("nul-in-content", {"content": "a\x00b"}),
    ("lone-surrogate-in-content", {"content": "a\ud800b"}),
    ("nul-in-mobile", {"mobile": "+1415555\x000100"}),
    ("lone-surrogate-in-criteria", {"criteria": "##1##\udfff"}),
]


@pytest.mark.parametrize(
    "leaf",
    [c[1] for c in LEAVES_THAT_THE_STORE_CANNOT_HOLD],
    ids=[c[0] for c in LEAVES_THAT_THE_STORE_CANNOT_HOLD],
)
def test_a_character_the_store_cannot_hold_is_a_400_not_a_500(client, db, leaf):
    MemberFactory(id=1)
    recipients = {"recipient": {"id": "1"}}
    if "mobile" in leaf:
        recipients = {"recipient": {"mobile": leaf["mobile"]}}
    if "criteria" in leaf:
        recipients = {"segment": {"criteria": leaf["criteria"]}}
    body = json_request(priorityService="false", content=leaf.get("content", "x"), recipients=recipients)
    response = post_raw(client, "application/json", body)
    assert response.status_code == 400, response.content[:300]
    assert not Recipient.objects.exists()


def test_a_request_past_the_recipient_limit_is_refused_before_any_number_is_parsed(client, db, settings, monkeypatch):
    import phonenumbers

    settings.SMS_MAX_RECIPIENTS = 10
    parsed = []
    real_parse = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", lambda *a, **k: parsed.append(a) or real_parse(*a, **k))
    recipients = {"recipient": [{"mobile": f"+1415555{n:04d}"} for n in range(1000)]}
    response = post_raw(
        client, "application/json", json_request(priorityService="false", content="x", recipients=recipients)
    )
    assert response.status_code == 400
    assert (
        json.loads(response.content)["message"] == "Invalid request format, Error messages :[more than 10 recipients]"
    )
    assert parsed == []
