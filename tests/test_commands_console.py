from datetime import UTC, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from messaging.models import Recipient
from tests.console_support import failed_recipient
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize("command", ["resend_sms", "cancel_sms", "expire_sms", "setup_groups"])
def test_each_command_explains_itself_in_help(command, capsys):
    with pytest.raises(SystemExit):
        call_command(command, "--help")
    assert "usage:" in capsys.readouterr().out


def test_resend_sms_resends_the_failed_recipients_of_a_request():
    failed = failed_recipient(state="undelivered")
    output = _run("resend_sms", "--request", str(failed.message.request_id))
    assert output.strip() == "1 resent, 0 skipped (0 opted out, 0 not failed, 0 already resent) of 1 selected."
    assert Recipient.objects.get(resend_of=failed).state == "initial"


def test_resend_sms_dry_run_prints_what_it_would_do_and_changes_nothing():
    failed = failed_recipient()
    output = _run("resend_sms", "--request", str(failed.message.request_id), "--dry-run")
    assert f"would resend request {failed.message.request_id}: 1 rejected via smpp-main" in output
    assert "Dry run, would have: 1 resent" in output
    assert not Recipient.objects.filter(resend_of=failed).exists()


def test_resend_sms_takes_only_the_states_asked_for():
    rejected = failed_recipient(state="rejected")
    failed_recipient(state="expired", message=rejected.message)
    _run("resend_sms", "--request", str(rejected.message.request_id), "--state", "rejected")
    assert list(Recipient.objects.filter(resend_of__isnull=False).values_list("resend_of_id", flat=True)) == [
        rejected.pk
    ]


def test_resend_sms_takes_a_time_range_of_failure():
    old = failed_recipient(final_at=timezone.now() - timedelta(days=3))
    recent = failed_recipient()
    _run("resend_sms", "--since", "1d")
    assert Recipient.objects.filter(resend_of=recent).exists()
    assert not Recipient.objects.filter(resend_of=old).exists()


def test_resend_sms_reads_a_time_without_a_zone_as_utc():
    old = failed_recipient(final_at=timezone.now() - timedelta(days=3))
    recent = failed_recipient()
    since = (timezone.now() - timedelta(days=1)).astimezone(UTC).replace(tzinfo=None)
    _run("resend_sms", "--since", since.isoformat(timespec="minutes"))
    assert Recipient.objects.filter(resend_of=recent).exists()
    assert not Recipient.objects.filter(resend_of=old).exists()


def test_resend_sms_takes_a_provider():
    wanted = failed_recipient(provider="p-one")
    failed_recipient(provider="p-two")
    output = _run("resend_sms", "--provider", "p-one")
    assert "of 1 selected" in output
    assert Recipient.objects.filter(resend_of=wanted).exists()


def test_resend_sms_refuses_to_run_without_a_selection():
    with pytest.raises(CommandError, match="Say what to resend"):
        _run("resend_sms")


def test_resend_sms_refuses_a_time_it_cannot_read():
    with pytest.raises(CommandError, match="Not a time"):
        _run("resend_sms", "--since", "yesterday-ish")


def test_cancel_sms_cancels_the_waiting_recipients_of_a_request():
    waiting = RecipientFactory()
    failed_recipient(message=waiting.message)
    output = _run("cancel_sms", "--request", str(waiting.message.request_id))
    waiting.refresh_from_db()
    assert waiting.state == "cancelled"
    assert output.strip() == "Cancelled 1 recipients not yet submitted."


def test_cancel_sms_dry_run_changes_nothing():
    waiting = RecipientFactory()
    output = _run("cancel_sms", "--request", str(waiting.message.request_id), "--dry-run")
    waiting.refresh_from_db()
    assert waiting.state == "initial"
    assert "1 recipients not yet submitted would be cancelled" in output


def test_cancel_sms_names_an_unknown_request():
    with pytest.raises(CommandError, match="No such request: 42"):
        _run("cancel_sms", "--request", "42")


def test_cancel_sms_cancels_single_recipients():
    waiting = RecipientFactory()
    _run("cancel_sms", "--recipient", str(waiting.pk))
    waiting.refresh_from_db()
    assert waiting.state == "cancelled"


def test_expire_sms_expires_what_is_past_its_expiry():
    past = RecipientFactory(
        expires_at=timezone.now() - timedelta(minutes=1), due_at=timezone.now() - timedelta(hours=1)
    )
    future = RecipientFactory(expires_at=timezone.now() + timedelta(hours=1))
    output = _run("expire_sms")
    past.refresh_from_db()
    future.refresh_from_db()
    assert (past.state, future.state) == ("expired", "initial")
    assert output.strip() == "Expired 1 recipients past their expiry time."


def test_setup_groups_can_run_twice():
    _run("setup_groups")
    assert "operator" in _run("setup_groups")
