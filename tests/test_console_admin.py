import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from messaging.models import Provider, Recipient
from ops.models import TrafficMinute, TrafficTotal
from tests.console_support import failed_recipient, staff_in
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db

RECIPIENTS = "/admin/messaging/recipient/"


def _client(group: str) -> Client:
    browser = Client()
    browser.force_login(staff_in(group))
    return browser


def _action(browser: Client, url: str, action: str, ids: list[int]):
    return browser.post(url, {"action": action, "_selected_action": [str(pk) for pk in ids]}, follow=True)


def test_groups_exist_after_migrate():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"marketing", "operator", "auditor"}


def test_dashboard_is_the_admin_front_page_with_the_chart():
    TrafficMinute.objects.create(
        minute=timezone.now().replace(second=0, microsecond=0), provider="p1", state="submitted", parts=4
    )
    page = _client("auditor").get("/admin/").content.decode()
    assert 'id="parts-chart"' in page
    assert 'data-provider="p1"' in page


def test_dashboard_shows_a_request_still_expanding():
    recipient = RecipientFactory(message__expansion_done=False, message__expected_total=200, message__expanded_count=50)
    page = _client("auditor").get("/admin/").content.decode()
    assert "50 of 200" in page
    assert str(recipient.message.request_id) in page


def test_recipient_search_finds_a_request_by_its_id():
    wanted = RecipientFactory()
    RecipientFactory()
    response = _client("auditor").get(RECIPIENTS, {"q": str(wanted.message.request_id)})
    assert list(response.context["cl"].result_list) == [wanted]


def test_recipient_search_finds_a_mobile():
    wanted = RecipientFactory(phone="+14155550199")
    RecipientFactory()
    response = _client("auditor").get(RECIPIENTS, {"q": "+14155550199"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_recipient_search_finds_a_provider_message_id():
    wanted = failed_recipient()
    RecipientFactory()
    response = _client("auditor").get(RECIPIENTS, {"q": "abc123"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_recipient_search_finds_a_member():
    from tests.factories import MemberFactory

    member = MemberFactory()
    wanted = RecipientFactory(member=member, phone=member.mobile)
    RecipientFactory()
    response = _client("auditor").get(RECIPIENTS, {"q": f"member:{member.pk}"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_recipient_list_filters_by_state():
    failed_recipient()
    RecipientFactory()
    response = _client("auditor").get(RECIPIENTS, {"state__exact": "rejected"})
    assert [row.state for row in response.context["cl"].result_list] == ["rejected"]


def test_recipient_list_filters_by_created_within():
    RecipientFactory()
    response = _client("auditor").get(RECIPIENTS, {"created": "hour"})
    assert len(response.context["cl"].result_list) == 1


def test_recipient_list_offers_configured_providers_and_those_that_sent():
    Provider.objects.create(name="smsc-configured", kind="SMPP", enabled=False)
    TrafficTotal.objects.create(provider="locmem-sent", state="submitted", messages=1)
    failed_recipient()
    response = _client("auditor").get(RECIPIENTS)
    provider_filter = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "parameter_name", "") == "provider"
    )
    assert {"smsc-configured", "locmem-sent"} <= {value for value, _ in provider_filter.lookup_choices}


def test_recipient_page_shows_history_and_content_as_sent():
    recipient = failed_recipient(error_code="0x00000045")
    page = _client("auditor").get(f"{RECIPIENTS}{recipient.pk}/change/").content.decode()
    assert "0x00000045" in page
    assert recipient.message.content in page
    assert "GSM 03.38" in page


def test_operator_resends_selected_recipients_and_sees_the_counts():
    failed = failed_recipient()
    delivered = RecipientFactory(state="delivered")
    response = _action(_client("operator"), RECIPIENTS, "resend_selected", [failed.pk, delivered.pk])
    assert "1 resent, 1 skipped" in response.content.decode()
    assert Recipient.objects.filter(resend_of=failed).count() == 1


def test_operator_resends_the_failed_recipients_of_a_request():
    failed = failed_recipient(state="undelivered")
    url = "/admin/messaging/smsrequest/"
    _action(_client("operator"), url, "resend_failed", [failed.message.request_id])
    assert Recipient.objects.filter(resend_of=failed).exists()


def test_operator_cancels_what_is_not_yet_submitted():
    waiting = RecipientFactory()
    failed = failed_recipient()
    response = _action(_client("operator"), RECIPIENTS, "cancel_selected", [waiting.pk, failed.pk])
    waiting.refresh_from_db()
    assert waiting.state == "cancelled"
    assert "Cancelled 1 recipients" in response.content.decode()


def test_marketing_is_not_offered_the_resend_action():
    response = _client("marketing").get(RECIPIENTS)
    assert response.status_code == 200
    assert b"resend_selected" not in response.content


def test_auditor_posting_a_resend_action_changes_nothing():
    failed = failed_recipient()
    _action(_client("auditor"), RECIPIENTS, "resend_selected", [failed.pk])
    assert not Recipient.objects.filter(resend_of=failed).exists()


def test_auditor_is_refused_the_resend_page():
    failed = failed_recipient()
    response = _client("auditor").post(reverse("admin:messaging_recipient_resend", args=[failed.pk]))
    assert response.status_code == 403


def test_operator_resend_page_opens_the_new_attempt():
    failed = failed_recipient()
    response = _client("operator").post(reverse("admin:messaging_recipient_resend", args=[failed.pk]))
    attempt = Recipient.objects.get(resend_of=failed)
    assert response["Location"] == reverse("admin:messaging_recipient_change", args=[attempt.pk])


def test_queue_pages_are_read_only():
    recipient = RecipientFactory()
    response = _client("operator").post(f"{RECIPIENTS}{recipient.pk}/change/", {"state": "delivered"})
    recipient.refresh_from_db()
    assert recipient.state == "initial"
    assert response.status_code in (200, 403)


def test_request_search_with_text_finds_nothing_instead_of_failing():
    response = _client("auditor").get("/admin/messaging/smsrequest/", {"q": "not-a-number"})
    assert response.status_code == 200


def test_a_filtered_list_says_more_than_when_its_count_hits_the_bound(monkeypatch):
    monkeypatch.setattr("messaging.admin.console.BOUNDED_COUNT", 2)
    RecipientFactory.create_batch(3)
    page = _client("auditor").get(RECIPIENTS, {"state__exact": "initial"}).content.decode()
    assert "more than 2 recipients" in page
