import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import PendingReceipt, Recipient, RecipientEvent, SmsMessage, SmsRequest
from messaging.services import retention
from messaging.tasks import purge_old_sms
from tests.factories import RecipientFactory, SmsMessageFactory, SmsRequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pause(settings):
    settings.SMS_RETENTION_PAUSE_SECONDS = 0


def aged_request(*, days: float, states=("delivered",), client="key:0", **request_fields) -> SmsRequest:
    """A request of one message whose recipients are in `states`, last active `days` ago."""
    at = timezone.now() - timedelta(days=days)
    sms_request = SmsRequestFactory(client=client, **request_fields)
    message = SmsMessageFactory(request=sms_request)
    for state in states:
        recipient = RecipientFactory(message=message, state=state)
        RecipientEvent.objects.create(recipient=recipient, state=state, at=at)
    SmsRequest.objects.filter(pk=sms_request.pk).update(created_at=at)
    SmsMessage.objects.filter(pk=message.pk).update(created_at=at)
    Recipient.objects.filter(message=message).update(created_at=at, updated_at=at, final_at=at)
    return sms_request


def purge(days: float = 90, **options) -> retention.PurgeReport:
    return retention.sms_purge(cutoff=timezone.now() - timedelta(days=days), **options)


def exists(sms_request) -> bool:
    return SmsRequest.objects.filter(pk=sms_request.pk).exists()


def test_it_deletes_old_final_requests_whole():
    old = aged_request(days=100, states=["delivered", "undelivered", "rejected", "expired"])
    report = purge()
    assert not exists(old)
    assert not SmsMessage.objects.filter(request_id=old.pk).exists()
    assert not Recipient.objects.filter(message__request_id=old.pk).exists()
    assert RecipientEvent.objects.count() == 0
    assert (report.requests, report.messages, report.recipients, report.events) == (1, 1, 4, 4)


def test_it_keeps_requests_younger_than_the_cutoff():
    young = aged_request(days=30)
    purge()
    assert exists(young)
    assert Recipient.objects.filter(message__request_id=young.pk).count() == 1


def test_a_request_with_one_waiting_recipient_stays_whole():
    for waiting in ("initial", "submitted"):
        sms_request = aged_request(days=200, states=["delivered", "delivered", waiting])
        report = purge()
        assert exists(sms_request)
        assert Recipient.objects.filter(message__request_id=sms_request.pk).count() == 3
        assert RecipientEvent.objects.filter(recipient__message__request_id=sms_request.pk).count() == 3
        assert report.recipients == 0 and report.requests == 0


def test_an_old_request_with_recent_activity_stays_whole():
    sms_request = aged_request(days=200, states=["delivered", "delivered"])
    Recipient.objects.filter(message__request=sms_request).order_by("id").filter(
        pk=Recipient.objects.filter(message__request=sms_request).order_by("id").values("pk")[:1]
    ).update(updated_at=timezone.now(), final_at=timezone.now())
    purge()
    assert Recipient.objects.filter(message__request_id=sms_request.pk).count() == 2


def test_a_message_still_expanding_keeps_its_request():
    sms_request = aged_request(days=200)
    SmsMessage.objects.filter(request=sms_request).update(expansion_done=False)
    purge()
    assert exists(sms_request)
    assert Recipient.objects.filter(message__request_id=sms_request.pk).count() == 1


def test_a_resend_waiting_in_another_message_keeps_only_its_own_request():
    original_request = aged_request(days=200, states=["undelivered"])
    original = Recipient.objects.get(message__request=original_request)
    waiting_request = aged_request(days=200, states=["initial"])
    Recipient.objects.filter(message__request=waiting_request).update(resend_of=original)
    purge()
    assert not exists(original_request)
    assert Recipient.objects.get(message__request=waiting_request).resend_of_id is None


def test_old_pending_receipts_leave_and_recent_ones_stay():
    old = PendingReceipt.objects.create(provider_ref="a1", provider_message_id="A1", delivered=True)
    recent = PendingReceipt.objects.create(provider_ref="b2", provider_message_id="B2", delivered=True)
    PendingReceipt.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=100))
    report = purge()
    assert list(PendingReceipt.objects.values_list("pk", flat=True)) == [recent.pk]
    assert report.pending_receipts == 1


def test_a_dry_run_deletes_nothing_and_counts_what_a_purge_deletes():
    aged_request(days=100, states=["delivered"] * 3)
    aged_request(days=120, states=["rejected", "expired"])
    aged_request(days=120, states=["delivered", "submitted"])
    aged_request(days=10)
    PendingReceipt.objects.create(provider_ref="a1", provider_message_id="A1", delivered=True)
    PendingReceipt.objects.update(received_at=timezone.now() - timedelta(days=100))
    before = (SmsRequest.objects.count(), Recipient.objects.count(), RecipientEvent.objects.count())

    dry = purge(dry_run=True)

    assert (SmsRequest.objects.count(), Recipient.objects.count(), RecipientEvent.objects.count()) == before
    assert PendingReceipt.objects.count() == 1
    assert (dry.requests, dry.messages, dry.recipients, dry.events, dry.pending_receipts) == (2, 2, 5, 5, 1)
    real = purge()
    assert (real.requests, real.messages, real.recipients, real.events, real.pending_receipts) == (2, 2, 5, 5, 1)


def test_each_transaction_deletes_at_most_one_batch_of_recipients(monkeypatch):
    aged_request(days=100, states=["delivered"] * 10)
    deleted = []
    batch_delete = retention._recipients_delete_batch

    def spy(**kwargs):
        with CaptureQueriesContext(connection) as queries:
            counts = batch_delete(**kwargs)
        statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
        deleted.append((counts[0], len(statements)))
        return counts

    monkeypatch.setattr(retention, "_recipients_delete_batch", spy)
    report = purge(batch=3)
    assert [rows for rows, _ in deleted] == [3, 3, 3, 1]
    # (on PostgreSQL SET LOCAL synchronous_commit,) select the ids, delete them, unlink later
    # attempts, delete their events
    assert all(statements <= 5 for _, statements in deleted)
    assert report.recipients == 10 and Recipient.objects.count() == 0


def test_requests_are_examined_in_rounds(monkeypatch):
    for _ in range(5):
        aged_request(days=100)
    rounds = []
    report = purge(round_requests=2, on_progress=lambda examined, recipients: rounds.append((examined, recipients)))
    assert rounds == [(2, 2), (2, 2), (1, 1)]
    assert report.requests == 5


def test_requests_created_at_the_same_moment_are_each_examined_once():
    requests = [aged_request(days=100) for _ in range(5)]
    SmsRequest.objects.update(created_at=timezone.now() - timedelta(days=100))
    SmsRequest.objects.filter(pk=requests[2].pk).update(created_at=timezone.now() - timedelta(days=120))
    report = purge(round_requests=2)
    assert (report.examined, report.requests) == (5, 5)
    assert SmsRequest.objects.count() == 0


def test_a_purged_request_id_answers_404_like_a_missing_one(client, api_key):
    sms_request = aged_request(days=100, client=f"key:{api_key[0].pk}", api_key=api_key[0])
    assert client.get(f"/api/v1/message/sms/{sms_request.pk}").status_code == 200
    purge()
    gone = client.get(f"/api/v1/message/sms/{sms_request.pk}")
    never = client.get(f"/api/v1/message/sms/{sms_request.pk + 999}")
    assert gone.status_code == never.status_code == 404
    assert gone.json() == never.json()


def test_a_purged_request_id_reads_in_the_status_fetch_like_a_missing_one(client, api_key):
    sms_request = aged_request(days=100, client=f"key:{api_key[0].pk}", api_key=api_key[0])
    purge()

    def fetch(request_id):
        body = json.dumps({"requestId": str(request_id)})
        response = client.generic("POST", "/api/v1/status/sms", body, content_type="application/json")
        return response.status_code, response.json()

    assert fetch(sms_request.pk) == fetch(sms_request.pk + 999)


def test_the_command_purges_by_days_or_hours_and_says_how_many():
    aged_request(days=100)
    aged_request(days=3)
    out = StringIO()
    call_command("purge_sms", "--older-than", "90d", stdout=out)
    assert out.getvalue().startswith("Deleted 1 requests, 1 messages, 1 recipients")
    call_command("purge_sms", "--older-than", "48h", stdout=out)
    assert SmsRequest.objects.count() == 0


def test_the_purge_pauses_after_each_transaction(monkeypatch):
    aged_request(days=100, states=["delivered"] * 4)
    pauses = []
    monkeypatch.setattr(retention.time, "sleep", pauses.append)
    report = purge(batch=2, pause=0.25)
    # three recipient batches (2, 2, none left) and the messages' and request's: each followed by a pause
    assert pauses == [0.25] * 4
    assert report.recipients == 4


def test_the_command_dry_run_deletes_nothing():
    aged_request(days=100, states=["delivered", "delivered"])
    out = StringIO()
    call_command("purge_sms", "--older-than", "90d", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would delete 1 requests, 1 messages, 2 recipients")
    assert Recipient.objects.count() == 2


def test_the_command_refuses_an_age_inside_the_idempotency_window():
    with pytest.raises(CommandError, match="idempotency window"):
        call_command("purge_sms", "--older-than", "2h")
    with pytest.raises(CommandError, match="Not an age"):
        call_command("purge_sms", "--older-than", "ninety")


def test_the_beat_task_does_nothing_when_retention_is_off(settings):
    settings.SMS_RETENTION_DAYS = 0
    old = aged_request(days=10_000)
    with CaptureQueriesContext(connection) as queries:
        purge_old_sms()
    assert exists(old)
    assert len(queries.captured_queries) == 0


def test_the_beat_task_purges_past_the_retention_days(settings):
    settings.SMS_RETENTION_DAYS = 30
    old, young = aged_request(days=31), aged_request(days=29)
    purge_old_sms()
    assert not exists(old) and exists(young)


def test_the_beat_schedule_has_the_purge_only_when_retention_is_on():
    from smsgateway import settings as gateway_settings

    assert ("purge-old-sms" in gateway_settings.CELERY_BEAT_SCHEDULE) == (gateway_settings.SMS_RETENTION_DAYS > 0)
