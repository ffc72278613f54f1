"""The request's rows written by one statement on PostgreSQL (requests._store_listed) are the rows
the ORM path (requests._store, kept for SQLite and for segment messages) writes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from messaging.models import ApiKeyDailyUsage, Recipient, SmsMessage, SmsRequest
from messaging.services import request_orm
from messaging.services import requests as requests_service
from messaging.services.api_keys import api_key_create
from messaging.services.quotas import QuotaNeedsLock, api_key_parts_used_today
from messaging.specs import MessageSpec, RecipientRef
from tests.factories import MemberFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the one statement is PostgreSQL's")

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def specs(member_ids, personalised):
    return [
        MessageSpec(
            position=1,
            content="Hello ##First Name## €" if personalised else "Hello €",
            channel="text",
            priority=True,
            start_at=START,
            expires_at=START + timedelta(hours=1),
            voice_on_failure=True,
            recipients=[RecipientRef(mobile="+14155550100"), RecipientRef(mobile="+14155550100")]
            + [RecipientRef(member_id=pk) for pk in member_ids],
        ),
        MessageSpec(
            position=2,
            content="x" * 200,
            channel="text",
            priority=False,
            start_at=START,
            expires_at=None,
            voice_on_failure=False,
            recipients=[RecipientRef(mobile="+14155550101"), RecipientRef(mobile="+254712345678")],
        ),
    ]


def stored(request_id):
    request = model_to_dict(SmsRequest.objects.get(pk=request_id), exclude=["id"])
    messages = [model_to_dict(m, exclude=["id", "request"]) for m in SmsMessage.objects.filter(request_id=request_id)]
    recipients = sorted(
        (
            {k: v for k, v in model_to_dict(r, exclude=["id", "message"]).items()}
            | {"position": r.message.position, "final": r.final_at is not None}
            for r in Recipient.objects.filter(message__request_id=request_id)
        ),
        key=lambda row: (row["position"], row["phone"]),
    )
    for row in recipients:
        row.pop("final_at")
    return request, messages, recipients


@pytest.mark.parametrize("personalised", [False, True])
def test_the_one_statement_writes_what_the_orm_writes(db, personalised):
    api_key, _ = api_key_create(name="partner", daily_quota_parts=1000, allowed_countries=[])
    active = MemberFactory(mobile="+14155550102", first_name="Ann")
    gone = MemberFactory(mobile="+14155550103", active=False)
    written = []
    for store in (request_orm.store_by_orm, requests_service._store_listed):
        request_specs = specs([active.pk, gone.pk], personalised)
        arguments = dict(
            specs=request_specs,
            client=f"key:{api_key.pk}",
            api_key=api_key,
            user=None,
            request_format="json",
            body_hash="h",
            idempotency_key=None,
            check_user_existence=False,
        )
        try:
            result = store(**arguments)
        except QuotaNeedsLock:  # the key's first request of the day: counted with its day locked
            result = store(**arguments, locked=True)
        written.append(stored(result if isinstance(result, int) else result.id))
    assert written[0] == written[1]
    assert [row["state"] for row in written[1][2]] == ["initial", "initial", "not attempted", "initial", "initial"]
    # Both booked on the key's shards of the day what the day's exact count holds.
    booked = ApiKeyDailyUsage.objects.aggregate(parts=Sum("parts"))["parts"]
    assert booked == api_key_parts_used_today(api_key=api_key) > 0


def test_one_recipient_is_stored_by_one_statement_after_the_member_lookup(db, client):
    from tests.helpers import one_message, post_json

    _, raw_key = api_key_create(name="partner", daily_quota_parts=1000)
    body = one_message(priorityService="false", content="x", recipients={"recipient": {"mobile": "+14155550100"}})
    url = "/api/v1/message/sms?checkUserExistence=false"
    assert post_json(client, body, url=url, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert post_json(client, body, url=url, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SELECT", "SAVEPOINT", "RELEASE"))]
    # The key's quota booked first, only when it fits the shard; the rows written only then.
    assert len(writes) == 1 and writes[0].startswith("WITH booked AS (UPDATE")
    assert "req AS (INSERT INTO" in writes[0]
    assert Recipient.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_request_is_one_statement_without_begin_or_commit():
    """In autocommit (as gunicorn serves it) the statement is the request's whole write: no
    BEGIN and COMMIT round trips; a request past the quota writes nothing, and is refused whole."""
    from rest_framework.test import APIClient

    from tests.helpers import one_message, post_json

    _, raw_key = api_key_create(name="partner", daily_quota_parts=3)
    url = "/api/v1/message/sms?checkUserExistence=false"
    client = APIClient()

    def send(*phones):
        recipients = {"recipient": [{"mobile": phone} for phone in phones]}
        body = one_message(priorityService="false", content="x", recipients=recipients)
        return post_json(client, body, url=url, HTTP_X_VOLTMX_APP_API_KEY=raw_key)

    assert send("+14155550100").status_code == 200  # the day's first: counted with the day locked
    with CaptureQueriesContext(connection) as queries:
        assert send("+14155550101").status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in statements if sql.upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT"))]
    assert [sql for sql in statements if not sql.startswith("SELECT")][0].startswith("WITH booked AS (UPDATE")
    refused = send("+14155550102", "+14155550103")
    assert refused.status_code == 429, refused.content
    assert SmsRequest.objects.count() == 2 and Recipient.objects.count() == 2
    assert api_key_parts_used_today(api_key=SmsRequest.objects.first().api_key) == 2


def test_every_column_without_a_database_default_is_written():
    """A column added to a model later is written by the statement (by its Python default), or
    has a database default: none is left to a NOT NULL failure."""
    for model, skip in ((SmsRequest, ()), (SmsMessage, ("request",)), (Recipient, ("message",))):
        for field in model._meta.concrete_fields:
            if field.name in skip or getattr(field, "db_returning", False) or field.has_db_default():
                continue
            assert (
                field.null
                or field.has_default()
                or field.name
                in {
                    "id",
                    "format",
                    "body_hash",
                    "client",
                    "created_at",
                    "updated_at",
                    "position",
                    "content",
                    "start_at",
                    "encoding",
                    "parts",
                    "member",
                    "phone",
                    "due_at",
                    "criteria",
                }
            ), field.name
