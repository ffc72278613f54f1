"""Phone numbers to E.164: one rule (audiences/phones.py), read three ways by its parameters."""

import pytest
from django.test import override_settings

from audiences import values
from audiences.phones import phone_e164
from messaging.api.normaliser import _Invalid, parse_mobile
from messaging.services.inbound import phone_e164 as inbound_phone_e164

# (text, sent to: no region, as a partner writes it; a member's, read in KE; reported by a provider)
CASES = [
    ("+14155550123", "+14155550123", "+14155550123", "+14155550123"),
    ("  +14155550123 ", "+14155550123", "+14155550123", "+14155550123"),
    ("+1 (415) 555-0123", "+14155550123", "+14155550123", "+14155550123"),
    ("+254712345678", "+254712345678", "+254712345678", "+254712345678"),
    ("0712 345678", None, "+254712345678", "+254712345678"),  # national: a member's, or a sender's
    ("0712345678", None, "+254712345678", "+254712345678"),
    ("14155550123", None, "+14155550123", "+14155550123"),  # digits alone: international
    ("254712345678", None, "+254712345678", "+254712345678"),
    ("+1415555012", None, None, None),  # too short for +1
    ("+11415555010", None, None, "+11415555010"),  # possible (the right length), not valid
    ("+0123", None, None, None),
    ("not a number", None, None, None),
    ("", None, None, None),
]


@override_settings(SMS_DEFAULT_REGION="KE")
@pytest.mark.parametrize(("text", "sent_to", "member", "reported"), CASES)
def test_a_phone_reads_as_the_one_rule_says_for_each_kind_of_reader(text, sent_to, member, reported):
    assert phone_e164(text) == sent_to
    assert phone_e164(text, region="KE") == member
    assert phone_e164(text, reported=True) == reported


@override_settings(SMS_DEFAULT_REGION="KE")
@pytest.mark.parametrize(("text", "sent_to", "member", "reported"), CASES)
def test_each_reader_of_phones_answers_as_the_rule(text, sent_to, member, reported):
    try:
        assert parse_mobile(text) == sent_to
    except _Invalid:
        assert sent_to is None
    try:
        assert values.mobile_clean(text, region="KE") == member
    except ValueError:
        assert member is None
    assert inbound_phone_e164(text) == reported
