"""The smaller holes of a hostile probe: forged log lines, what /readyz tells a stranger, admin
searches past the integer columns, the pages' Content-Security-Policy, the Swagger UI's origin and
the default SECRET_KEY outside DEBUG."""

import json
import logging
import socket
import sys

import pytest
from django.test import Client

from smsgateway.logging import JsonFormatter, KeyValueFormatter, RequestContextFilter

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
