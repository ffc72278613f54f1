"""Personalisation in message content: the gateway's [[firstName]] and the Volt MX templates'
##First Name## (voltmx-family.md difference 7), with ##<digits>## left as segment criteria syntax."""

import pytest

from audiences.models import Member, Segment
from messaging.backends import locmem
from messaging.models import Recipient, RecipientState, SmsMessage
from messaging.personalise import has_tags, recipient_text, render
from messaging.services.dispatch import dispatch_due_run
from messaging.services.expansion import message_expand
from messaging.services.voice import recipients_fall_back_to_voice
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory
from tests.helpers import one_message, post_json

VALUES = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "mobile": "+14155550100",
    "country": "United States",
    "state": "CA",
    "Street Address": "1 Main St",
}


@pytest.mark.parametrize(
    ("template", "text"),
    [
        ("Hi ##First Name## ##Last Name##", "Hi Ada Lovelace"),
        ("##First Name####Last Name##", "AdaLovelace"),
        ("##Email## ##Mobile Number## ##Country## ##State##", "ada@example.com +14155550100 United States CA"),
        ("at ##Street Address##", "at 1 Main St"),
        ("##first name## and [[firstName]]", "Ada and Ada"),
        ("Hi ##Nickname##!", "Hi !"),
        ("offer ##12## stays", "offer ##12## stays"),
    ],
)
def test_both_tag_syntaxes_are_rendered(template, text):
    assert render(template, VALUES) == text


def test_digits_alone_are_not_a_tag():
    assert not has_tags("segment ##12## and ## 7 ##")
    assert has_tags("Hi ##First Name##")


@pytest.mark.django_db
def test_a_segment_message_renders_the_volt_mx_tags_per_member(client):
    MemberFactory(first_name="Ada", last_name="Lovelace")
    everyone = Segment.objects.get(name=Segment.ALL_USERS)
    response = post_json(
        client,
        one_message(
            priorityService="false",
            recipients={"segment": {"criteria": f"##{everyone.id}##"}},
            content="Hi ##First Name## ##Last Name##",
        ),
    )
    assert response.status_code == 200, response.content
    message = SmsMessage.objects.get()
    assert message.personalised
    message_expand(message_id=message.id)
    dispatch_due_run(seconds=5)
    assert [sms.text for sms in locmem.outbox] == ["Hi Ada Lovelace"]


# (stored on the row, the message's text, whether it has tags, the member's first name or no member)
TEXT_AS_SENT = [
    ("Stored text", "Hi [[firstName]]", True, "Ada", "Stored text"),
    ("", "Plain text", False, "Ada", "Plain text"),
    ("", "Hi [[firstName]]", True, "Ada", "Hi Ada"),
    ("", "Hi [[firstName,customer]]", True, "", "Hi customer"),
    ("", "Hi ##First Name##", True, "Ada", "Hi Ada"),
    ("", "To [[mobile]] [[firstName]]", True, None, "To +14155550199 "),
    ("", "Hi [[firstName]]", False, "Ada", "Hi [[firstName]]"),  # the message says it has no tags
]


@pytest.mark.parametrize(("stored", "content", "personalised", "first_name", "text"), TEXT_AS_SENT)
def test_the_text_as_sent_is_the_rows_else_the_message_personalised(stored, content, personalised, first_name, text):
    member = None if first_name is None else Member(first_name=first_name, mobile="+14155550100", attributes={})
    message = SmsMessage(content=content, personalised=personalised)
    recipient = Recipient(message=message, member=member, phone="+14155550199", content=stored)
    assert recipient_text(recipient) == text


@pytest.mark.django_db
@pytest.mark.parametrize(("stored", "content", "personalised", "first_name", "text"), TEXT_AS_SENT)
def test_a_voice_fallback_calls_with_the_text_as_sent(stored, content, personalised, first_name, text):
    member = None if first_name is None else MemberFactory(first_name=first_name)
    message = SmsMessageFactory(content=content, personalised=personalised, voice_on_failure=True)
    failed = RecipientFactory(
        message=message, member=member, phone="+14155550199", content=stored, state=RecipientState.UNDELIVERED
    )
    assert recipients_fall_back_to_voice(recipient_ids=[failed.pk]) == 1
    call = Recipient.objects.get(resend_of=failed)
    assert recipient_text(call) == text
