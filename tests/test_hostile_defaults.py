"""The smaller holes of a hostile probe: forged log lines, what /readyz tells a stranger, admin
searches past the integer columns, the pages' Content-Security-Policy, the Swagger UI's origin and
the default SECRET_KEY outside DEBUG."""

import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from smsgateway.logging import JsonFormatter, KeyValueFormatter, RequestContextFilter

ROOT = Path(__file__).resolve().parent.parent
FORGED = "hi\n2026-12-01 10:00:00,000 level=INFO logger=ops request_id=- admin logged in"


def _record(message, *args, exc_info=None):
    record = logging.LogRecord("messaging", logging.INFO, __file__, 1, message, args, exc_info)
    RequestContextFilter().filter(record)
    return record


@pytest.mark.parametrize("sender", [FORGED, "a\rb", "a\u2028b", "a\x85b", "a\x1b[31mb"])
def test_an_inbound_field_cannot_forge_a_key_value_log_line(sender):
    line = KeyValueFormatter().format(_record("inbound from %s", sender))
    assert len(line.splitlines()) == 1
    assert "\x1b" not in line


def test_a_key_value_line_shows_the_escaped_newline():
    line = KeyValueFormatter().format(_record("inbound text %s", "a\nb"))
    assert line.endswith("inbound text a\\nb")


def test_a_traceback_cannot_forge_a_key_value_line_either():
    try:
        raise ValueError(FORGED)
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    lines = KeyValueFormatter().format(record).split("\n")
    assert len(lines) > 2
    assert all(line.startswith("\t") for line in lines[1:])


@pytest.mark.parametrize("sender", [FORGED, "a\u2028b", "a\x85b", "a\x7fb"])
def test_an_inbound_field_cannot_forge_a_json_log_line(sender):
    line = JsonFormatter().format(_record("inbound from %s", sender))
    assert len(line.splitlines()) == 1
    assert json.loads(line)["message"] == f"inbound from {sender}"


@pytest.fixture
def refusing_smsc(db):
    """An enabled SMPP provider whose port refuses connections."""
    from messaging.models import Provider

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: a connect is refused
        Provider.objects.create(name="smsc", kind="SMPP", properties={"Host": "127.0.0.1", "Port": str(port)})
        yield port


def test_readyz_tells_a_stranger_only_whether_it_is_ready(refusing_smsc, settings):
    settings.METRICS_TOKEN = "s3cret"
    response = Client().get("/readyz", HTTP_AUTHORIZATION="Bearer wrong")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})
    assert str(refusing_smsc) not in response.content.decode()


def test_readyz_shows_no_details_when_no_token_is_set(refusing_smsc, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/readyz").json() == {"status": "unavailable"}


def test_readyz_shows_the_checks_with_the_metrics_token(refusing_smsc, settings):
    settings.METRICS_TOKEN = "s3cret"
    checks = Client().get("/readyz", HTTP_AUTHORIZATION="Bearer s3cret").json()["checks"]
    assert checks["provider:smsc"]["ok"] is False
    assert "ConnectionRefusedError" in checks["provider:smsc"]["detail"]


def test_readyz_dials_an_smsc_once_within_the_cache_time(refusing_smsc, monkeypatch):
    from ops import health

    dials = []
    real = health.provider_check
    monkeypatch.setattr(health, "provider_check", lambda provider: dials.append(provider.name) or real(provider))
    for _ in range(20):
        assert Client().get("/readyz").status_code == 503
    assert dials == ["smsc"]


HUGE_TERMS = [
    "99999999999999999999",
    "9223372036854775808",
    "9999999999999999999",
    "-9223372036854775809",
    "member:99999999999999999999",
    "member:9223372036854775808",
    "+99999999999999999999",
    "１２３",
]


def _changelists():
    from django.contrib import admin

    return sorted(f"{model._meta.app_label}_{model._meta.model_name}" for model in admin.site._registry)


@pytest.mark.parametrize("changelist", _changelists())
@pytest.mark.parametrize("term", HUGE_TERMS)
def test_an_admin_search_for_a_huge_number_is_not_a_500(admin_client, changelist, term):
    from django.urls import reverse

    response = admin_client.get(reverse(f"admin:{changelist}_changelist"), {"q": term})
    assert response.status_code == 200


def _integers_compared(where):
    for child in where.children:
        if hasattr(child, "children"):
            yield from _integers_compared(child)
            continue
        rhs = getattr(child, "rhs", None)  # a NothingNode (queryset.none()) compares nothing
        values = rhs if isinstance(rhs, (list, tuple, set)) else [rhs]
        yield from (value for value in values if isinstance(value, int) and not isinstance(value, bool))


@pytest.mark.parametrize("changelist", _changelists())
@pytest.mark.parametrize("term", HUGE_TERMS)
def test_an_admin_search_never_compares_a_number_past_the_64_bit_key(admin_user, rf, changelist, term):
    """On PostgreSQL Django answers such a comparison with no rows; SQLite raises OverflowError."""
    from django.contrib import admin

    from messaging.ids import MAX_ID

    model_admin = next(
        ma for model, ma in admin.site._registry.items() if changelist.endswith(f"_{model._meta.model_name}")
    )
    request = rf.get("/", {"q": term})
    request.user = admin_user
    queryset, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), term)
    assert all(-MAX_ID - 1 <= value <= MAX_ID for value in _integers_compared(queryset.query.where))


def _gateway_process(*args, **environment):
    env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="smsgateway.settings", **environment)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow  # a manage.py process
def test_the_process_refuses_to_start_without_a_secret_key_outside_debug():
    started = _gateway_process("check")
    assert started.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in started.stderr


@pytest.mark.slow  # a manage.py process
def test_the_process_refuses_the_public_development_key_outside_debug(settings):
    started = _gateway_process("check", SECRET_KEY=settings.DEVELOPMENT_SECRET_KEY)
    assert "ImproperlyConfigured: SECRET_KEY is not set" in started.stderr


@pytest.mark.slow  # a manage.py process
def test_check_deploy_names_the_development_key_under_debug():
    checked = _gateway_process("check", "--deploy", DEBUG="true")
    assert "security.W009" in checked.stderr + checked.stdout


@pytest.mark.parametrize("path", ["/admin/login/", "/healthz", "/api/v1/message/sms/1", "/no-such-page"])
def test_every_response_carries_the_content_security_policy(path):
    policy = Client().get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_swagger_ui_comes_from_the_project_with_no_inline_script(admin_client):
    page = admin_client.get("/api/schema/swagger/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "https://" not in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None and "<style" not in page
    script = admin_client.get("/api/schema/swagger/?script=")
    assert script["Content-Type"].startswith("application/javascript") and b"SwaggerUIBundle" in script.content


def _project_templates():
    return sorted(
        path
        for folder in ("templates", "audiences/templates", "messaging/templates", "ops/templates")
        for path in (ROOT / folder).rglob("*.html")
    )


@pytest.mark.parametrize("template", _project_templates(), ids=lambda path: str(path.relative_to(ROOT)))
def test_a_console_template_has_no_inline_script_or_style(template):
    """The policy refuses them; the console's styles live in ops/static/console/."""
    text = template.read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)", text) is None
    assert re.search(r"<style\b|\sstyle=|\son[a-z]+=", text) is None
