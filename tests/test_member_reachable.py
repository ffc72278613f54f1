"""Member reachability: one rule (audiences.selectors), the same in Python and in SQL, and read
by the send, the expansion, the resend and the voice fallback."""

import itertools

import pytest

from audiences.models import Member
from audiences.selectors import member_reachable, members_reachable
from messaging.models import Channel, RecipientState
from messaging.services.resend import recipient_opted_out
from tests.factories import MemberFactory, RecipientFactory

# (active, sms, voice, mobile, channel, reachable, consents: sent again to the row's number)
CASES = [
    (True, True, True, "+14155550100", "text", True, True),
    (True, True, False, "+14155550100", "text", True, True),
    (True, False, True, "+14155550100", "text", False, False),
    (True, True, False, "+14155550100", "voice", False, False),
    (True, False, True, "+14155550100", "voice", True, True),
    (False, True, True, "+14155550100", "text", False, False),
    (False, True, True, "+14155550100", "voice", False, False),
    (True, True, True, None, "text", False, True),
    (True, True, True, None, "voice", False, True),
]


@pytest.mark.parametrize(("active", "sms", "voice", "mobile", "channel", "reachable", "consents"), CASES)
def test_a_member_is_reachable_as_the_one_rule_says(active, sms, voice, mobile, channel, reachable, consents):
    member = Member(active=active, sms_subscription=sms, voice_subscription=voice, mobile=mobile)
    assert member_reachable(member, channel=channel) is reachable
    assert member_reachable(member, channel=channel, needs_mobile=False) is consents


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["text", "voice"])
def test_the_queryset_holds_exactly_the_members_the_python_rule_reaches(channel):
    members = [
        MemberFactory(active=active, sms_subscription=sms, voice_subscription=voice, mobile=mobile)
        for index, (active, sms, voice, has_mobile) in enumerate(itertools.product([True, False], repeat=4))
        for mobile in [f"+1415555{index:04d}" if has_mobile else None]
    ]
    expected = {member.pk for member in members if member_reachable(member, channel=channel)}
    assert set(members_reachable(channel=channel).values_list("pk", flat=True)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("active", "sms", "voice", "mobile", "channel", "reachable", "consents"), CASES)
def test_a_resend_skips_the_member_who_no_longer_consents(active, sms, voice, mobile, channel, reachable, consents):
    member = MemberFactory(active=active, sms_subscription=sms, voice_subscription=voice, mobile=mobile)
    recipient = RecipientFactory(member=member, channel=channel, state=RecipientState.UNDELIVERED)
    assert recipient_opted_out(recipient) is not consents


@pytest.mark.django_db
def test_a_resend_of_a_bare_number_has_no_member_to_ask():
    assert recipient_opted_out(RecipientFactory(member=None, channel=Channel.TEXT)) is False
