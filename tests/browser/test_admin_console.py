from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from messaging.models import Recipient
from ops.models import TrafficMinute
from tests.console_support import PASSWORD, failed_recipient, staff_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # slow: a real Chromium

SCREENSHOT = settings.BASE_DIR / "var" / "screenshots" / "dashboard.png"


def _log_in(page, group: str):
    user = staff_in(group)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#queue-dashboard")
    return user


def _traffic():
    now = timezone.now().replace(second=0, microsecond=0)
    rows = []
    for minute in range(0, 1440, 7):
        rows.append(
            TrafficMinute(
                minute=now - timedelta(minutes=minute),
                provider="smsc-a",
                state="submitted",
                messages=minute % 50,
                parts=minute % 50 * 2,
            )
        )
        rows.append(
            TrafficMinute(
                minute=now - timedelta(minutes=minute),
                provider="twilio",
                state="submitted",
                messages=(1440 - minute) % 30,
                parts=(1440 - minute) % 30,
            )
        )
    TrafficMinute.objects.bulk_create(rows)
    TrafficMinute.objects.create(minute=now, provider="", state="delivered", messages=12)


@pytest.mark.parametrize("group", ["marketing", "operator", "auditor"])
def test_each_group_sees_the_dashboard_with_its_chart_drawn(page, group):
    _traffic()
    _log_in(page, group)
    lines = page.locator("#parts-chart polyline.series")
    assert lines.count() == 2
    box = lines.first.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 10
    assert page.locator("#state-counts .state-delivered td").nth(1).inner_text() == "12"


def test_dashboard_screenshot_is_saved(page):
    _traffic()
    failed_recipient()
    _log_in(page, "operator")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#parts-chart").wait_for()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_operator_searches_a_request_and_resends_a_failed_recipient(page):
    failed = failed_recipient(state="undelivered", error_code="0x00000045")
    _log_in(page, "operator")
    page.goto("/admin/messaging/recipient/")
    page.fill("#searchbar", str(failed.message.request_id))
    page.press("#searchbar", "Enter")
    page.wait_for_url("**/recipient/?q=*")
    page.click(f"#result_list a[href*='/recipient/{failed.pk}/change/']")
    page.wait_for_selector("#resend-link")
    assert "0x00000045" in page.inner_text("#content")
    page.click("#resend-link")
    page.click("#confirm-resend")
    page.wait_for_selector(".messagelist")
    assert "1 resent, 0 skipped" in page.inner_text(".messagelist")
    attempt = Recipient.objects.get(resend_of=failed)
    assert page.url.endswith(f"/admin/messaging/recipient/{attempt.pk}/change/")
    assert "initial" in page.inner_text("fieldset")


def test_operator_resends_from_the_list_with_the_action(page):
    failed = failed_recipient()
    _log_in(page, "operator")
    page.goto(f"/admin/messaging/recipient/?q={failed.message.request_id}")
    page.check(f"input[name=_selected_action][value='{failed.pk}']")
    page.select_option("select[name=action]", "resend_selected")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "1 resent" in page.inner_text(".messagelist")
    page.goto(f"/admin/messaging/recipient/{failed.pk}/change/")
    assert page.locator("a.later-attempt").count() == 1


@pytest.mark.parametrize("group", ["marketing", "auditor"])
def test_a_group_without_resend_is_refused(page, group):
    failed = failed_recipient()
    _log_in(page, group)
    page.goto(f"/admin/messaging/recipient/{failed.pk}/change/")
    assert page.locator("#resend-link").count() == 0
    offered = page.locator("select[name=action] option").all_inner_texts()
    assert not any("Resend" in text for text in offered)
    response = page.goto(f"/admin/messaging/recipient/{failed.pk}/resend/")
    assert response.status == 403
    assert not Recipient.objects.filter(resend_of=failed).exists()
