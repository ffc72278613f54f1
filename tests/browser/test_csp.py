"""The Content-Security-Policy in a real Chromium: the admin, the console's pages and Swagger UI
render under it without a single violation, and Swagger UI loads nothing from another origin."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import MemberFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # slow: a real Chromium

PASSWORD = "right-horse-battery"
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile);
});
"""


@pytest.fixture
def watched(page, live_server):
    """The page, logged in as a superuser, and what it saw: CSP violations, other origins, errors."""
    seen = {"console": [], "foreign": [], "csp_headers": []}

    def on_console(message):
        if message.type == "error":
            seen["console"].append(message.text)

    def on_request(request):
        if not request.url.startswith((live_server.url, "data:")):
            seen["foreign"].append(request.url)

    def on_response(response):
        if response.request.resource_type == "document":
            seen["csp_headers"].append(response.headers.get("content-security-policy"))

    page.on("console", on_console)
    page.on("request", on_request)
    page.on("response", on_response)
    page.add_init_script(RECORD_VIOLATIONS)
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#queue-dashboard")
    return page, seen


def _violations(page, seen):
    return page.evaluate("window.__violations") + [
        text for text in seen["console"] if "Content Security Policy" in text
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/messaging/recipient/",
        "/admin/messaging/provider/add/",
        "/admin/audiences/member/",
        "/admin/audiences/member/{member}/change/",
        "/admin/audiences/segment/add/",
        "/admin/audiences/member/import/",
    ],
)
def test_the_admin_renders_under_the_policy_without_a_violation(watched, path):
    page, seen = watched
    member = MemberFactory()
    page.goto(path.format(member=member.pk))
    page.wait_for_load_state("networkidle")
    header_colour = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header_colour not in ("", "rgba(0, 0, 0, 0)")  # the admin's stylesheet applied
    assert _violations(page, seen) == []
    assert all("default-src 'self'" in (header or "") for header in seen["csp_headers"])
    assert seen["foreign"] == []


def test_swagger_ui_renders_from_the_project_under_the_policy(watched):
    page, seen = watched
    page.goto("/api/schema/swagger/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "SMS gateway API" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 5
    assert _violations(page, seen) == []
    assert seen["foreign"] == []
    assert "default-src 'self'" in seen["csp_headers"][-1]
