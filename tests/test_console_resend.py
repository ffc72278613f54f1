from datetime import timedelta

import pytest
from django.utils import timezone

from audiences.models import Member
from messaging.models import Recipient, RecipientEvent
from messaging.services.resend import recipients_failed, recipients_resend
from tests.console_support import failed_recipient
from tests.factories import MemberFactory, RecipientFactory

pytestmark = pytest.mark.django_db


def test_resend_adds_a_new_attempt_linked_to_the_original():
    original = failed_recipient()
    report = recipients_resend(recipient_ids=[original.pk])
    attempt = Recipient.objects.get(resend_of=original)
    assert report.resent == 1
    assert (attempt.message_id, attempt.phone, attempt.state) == (original.message_id, original.phone, "initial")


def test_resend_makes_the_attempt_due_now():
    original = failed_recipient()
    before = timezone.now()
    recipients_resend(recipient_ids=[original.pk])
    assert Recipient.objects.get(resend_of=original).due_at >= before


def test_resend_keeps_the_request_and_message_as_they_were():
    original = failed_recipient()
    recipients_resend(recipient_ids=[original.pk])
    assert Recipient.objects.filter(message__request=original.message.request).count() == 2
    assert original.message.request.messages.count() == 1


def test_resend_records_the_attempt_in_its_history():
    original = failed_recipient()
    report = recipients_resend(recipient_ids=[original.pk], by="ops")
    event = RecipientEvent.objects.get(recipient_id=report.new_ids[0])
    assert (event.state, event.detail) == ("initial", f"resend of recipient {original.pk} by ops")


def test_resend_skips_a_member_who_unsubscribed_since():
    member = MemberFactory(sms_subscription=False)
    original = failed_recipient(member=member, phone=member.mobile)
    report = recipients_resend(recipient_ids=[original.pk])
    assert (report.resent, report.opted_out) == (0, 1)
    assert not Recipient.objects.filter(resend_of=original).exists()


def test_resend_skips_a_member_made_inactive_since():
    member = MemberFactory()
    original = failed_recipient(member=member, phone=member.mobile)
    Member.objects.filter(pk=member.pk).update(active=False)
    assert recipients_resend(recipient_ids=[original.pk]).opted_out == 1


def test_resend_skips_recipients_that_did_not_fail():
    delivered = RecipientFactory(state="delivered")
    report = recipients_resend(recipient_ids=[delivered.pk])
    assert (report.resent, report.not_failed) == (0, 1)


def test_resend_twice_makes_one_attempt():
    original = failed_recipient()
    recipients_resend(recipient_ids=[original.pk])
    second = recipients_resend(recipient_ids=[original.pk])
    assert second.already_resent == 1
    assert Recipient.objects.filter(resend_of=original).count() == 1


def test_resend_drops_an_expiry_that_has_passed():
    original = failed_recipient(state="expired", expires_at=timezone.now() - timedelta(hours=1))
    recipients_resend(recipient_ids=[original.pk])
    assert Recipient.objects.get(resend_of=original).expires_at is None


def test_dry_run_resend_writes_nothing():
    original = failed_recipient()
    report = recipients_resend(recipient_ids=[original.pk], dry_run=True)
    assert report.resent == 1
    assert not Recipient.objects.filter(resend_of=original).exists()


def test_failed_selection_takes_only_the_latest_attempt_of_a_chain():
    original = failed_recipient(state="undelivered")
    recipients_resend(recipient_ids=[original.pk])
    attempt = Recipient.objects.get(resend_of=original)
    Recipient.objects.filter(pk=attempt.pk).update(state="rejected")
    assert list(recipients_failed(request_id=original.message.request_id)) == [attempt.pk]


def test_failed_selection_filters_by_provider_and_state():
    rejected = failed_recipient(state="rejected")
    failed_recipient(state="undelivered")
    failed_recipient(state="rejected", provider="other")
    assert list(recipients_failed(states=["rejected"], provider="smpp-main")) == [rejected.pk]
