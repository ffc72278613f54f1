"""Priority recipients overtake normal ones at every step, even behind a very large request."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messaging.backends import locmem
from messaging.models import Recipient
from messaging.services.dispatch import dispatch_batch
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory
from tests.helpers import one_message, post_json

pytestmark = pytest.mark.django_db
LARGE = 100_000


def queue_large_request(size: int) -> None:
    """`size` normal recipients queued and due, written by the database itself."""
    message = SmsMessageFactory(start_at=timezone.now() - timedelta(minutes=1))
    moment = connection.ops.adapt_datetimefield_value(message.start_at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Recipient._meta.db_table} (
                message_id, phone, content, channel, state, priority, due_at, attempts, outcome_unknown,
                provider, provider_message_id, error_code, error, created_at, updated_at
            )
            WITH RECURSIVE serial(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM serial WHERE n < %s)
            SELECT %s, '+1415' || (1000000 + n), '', 'text', 'initial', %s, %s, 0, %s, '', '', '', '', %s, %s
            FROM serial
            """,
            [size - 1, message.pk, False, moment, False, moment, moment],
        )


def test_a_priority_request_posted_after_a_large_one_goes_in_the_next_batch(client):
    queue_large_request(LARGE)
    assert Recipient.objects.filter(state="initial").count() == LARGE
    member = MemberFactory(mobile="+14155559999")
    response = post_json(
        client,
        one_message(priorityService="true", recipients={"recipient": {"id": str(member.id)}}, content="Urgent"),
    )
    assert response.status_code == 200
    dispatch_batch(batch_size=500)
    assert locmem.outbox[0].phone == "+14155559999"


def test_a_priority_recipient_is_claimed_before_normal_ones_that_were_due_earlier():
    early = timezone.now() - timedelta(hours=1)
    RecipientFactory.create_batch(5, message__start_at=early)
    urgent = RecipientFactory(message__priority=True)
    dispatch_batch(batch_size=1)
    assert [sms.key for sms in locmem.outbox] == [urgent.pk]


def test_normal_recipients_go_once_the_priority_ones_are_sent():
    normal = RecipientFactory()
    urgent = RecipientFactory(message__priority=True)
    dispatch_batch(batch_size=1)
    dispatch_batch(batch_size=1)
    assert [sms.key for sms in locmem.outbox] == [urgent.pk, normal.pk]


def test_a_batch_is_no_larger_than_two_seconds_of_the_providers_throughput(db):
    from messaging.models import Provider
    from messaging.services.providers import routing

    routing.providers_forget()
    Provider.objects.create(name="slow", kind="CONSOLE", properties={"Throughput": "3"})
    RecipientFactory.create_batch(10)
    report = dispatch_batch(batch_size=500)
    routing.providers_forget()
    assert report.submitted == 6
