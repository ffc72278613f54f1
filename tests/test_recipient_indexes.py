"""The recipient table's diet: the partial indexes still serve the queries that need them, and a
link without its database constraint is read safely when it names nothing."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client

from audiences.services.members import member_delete
from messaging.admin import RecipientAdmin
from messaging.models import Recipient
from messaging.personalise import recipient_text
from messaging.services.receipts import recipients_with_refs
from tests.console_support import staff_in
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    """The plan PostgreSQL takes when it may not walk the table nor the primary key in order:
    a partial index whose condition the query does not imply leaves it a sequential scan."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("index plans are PostgreSQL's")


def test_the_receipt_lookup_uses_the_partial_provider_ref_index_past_100_refs():
    refs = [f"{n:x}" for n in range(1, 2001)]

    plan = _plan(recipients_with_refs(refs))

    assert "recipient_provider_ref" in plan
    assert "Seq Scan" not in plan


def test_the_console_search_by_provider_id_uses_the_partial_provider_ref_index():
    queryset, _ = RecipientAdmin(Recipient, admin.site).get_search_results(None, Recipient.objects.all(), "ABC123")

    plan = _plan(queryset)

    assert "recipient_provider_ref" in plan
    assert "Seq Scan" not in plan


def test_the_console_search_by_provider_id_finds_the_row_by_its_exact_id():
    wanted = RecipientFactory(provider_message_id="00ABC123", state="submitted")
    RecipientFactory(provider_message_id="abc123", state="submitted")
    browser = Client()
    browser.force_login(staff_in("auditor"))

    response = browser.get("/admin/messaging/recipient/", {"q": "00ABC123"})

    assert list(response.context["cl"].result_list) == [wanted]


@pytest.mark.parametrize("state", ["rejected", "cancelled", "delivered"])
def test_the_console_state_filter_uses_the_partial_state_index(state):
    plan = _plan(Recipient.objects.filter(state=state).order_by("-id")[:100])

    assert "recipient_state_id" in plan
    assert "Seq Scan" not in plan


def test_the_console_filter_of_waiting_rows_uses_the_queue_index():
    plan = _plan(Recipient.objects.filter(state="initial").order_by("-id")[:100])

    assert "recipient_queue" in plan
    assert "Seq Scan" not in plan


def test_a_members_messages_use_the_partial_member_index():
    plan = _plan(Recipient.objects.filter(member_id=42).order_by("-id"))

    assert "recipient_member" in plan


def test_the_attempts_after_a_row_use_the_partial_resend_index():
    plan = _plan(Recipient.objects.filter(resend_of_id__in=[1, 2, 3]))

    assert "recipient_resend_of" in plan


def test_a_new_row_is_written_to_no_index_of_a_column_it_leaves_empty():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass AND indpred IS NULL",
            [Recipient._meta.db_table],
        )
        full = {name for (name,) in cursor.fetchall()}

    assert full == {
        "messaging_recipient_pkey",
        "messaging_recipient_message_id_5e7aff5e",
        "recipient_phone",
    }


def test_a_deleted_member_still_clears_the_link_of_its_recipients():
    member = MemberFactory()
    recipient = RecipientFactory(member=member)

    member_delete(member_id=member.pk, caller=None)

    recipient.refresh_from_db()
    assert recipient.member_id is None


def test_a_member_id_that_names_no_member_reads_as_none():
    message = SmsMessageFactory(content="Hi [[firstName,friend]]", personalised=True)
    recipient = RecipientFactory(message=message, member_id=987654321, phone="+14155550100")

    assert recipient_text(Recipient.objects.get(pk=recipient.pk)) == "Hi friend"
    assert Recipient.objects.select_related("member").get(pk=recipient.pk).member is None


def test_the_console_shows_a_recipient_whose_links_name_nothing():
    recipient = RecipientFactory(member_id=987654321, resend_of_id=987654322)
    browser = Client()
    browser.force_login(staff_in("auditor"))

    response = browser.get(f"/admin/messaging/recipient/{recipient.pk}/change/")

    assert response.status_code == 200
