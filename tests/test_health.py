import logging
import socket

import pytest
from django.test import Client, override_settings

from messaging.models import Provider
from ops.traffic import traffic_aggregate
from smsgateway.logging import JsonFormatter, RequestContextFilter, mask_phones, request_id_var
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db


def readyz():
    """/readyz with its details: they need the metrics token."""
    with override_settings(METRICS_TOKEN="s3cret"):
        return Client().get("/readyz", HTTP_AUTHORIZATION="Bearer s3cret")


def test_healthz_answers_without_login():
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_checks_database_and_broker():
    response = readyz()
    checks = response.json()["checks"]
    assert response.status_code == 200
    assert checks["database"]["ok"] and checks["broker"]["ok"]


def test_readyz_reaches_an_smpp_provider_listening_on_loopback():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        Provider.objects.create(name="smsc", kind="SMPP", properties={"Host": "127.0.0.1", "Port": str(port)})
        response = readyz()
    assert response.json()["checks"]["provider:smsc"]["ok"] is True


def test_readyz_is_unavailable_when_an_smpp_provider_refuses():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: a connect is refused
        Provider.objects.create(name="smsc", kind="SMPP", properties={"Host": "127.0.0.1", "Port": str(port)})
        response = readyz()
    assert response.status_code == 503
    assert response.json()["checks"]["provider:smsc"]["ok"] is False


def test_readyz_reports_an_http_provider_as_configured():
    Provider.objects.create(name="twilio", kind="TWILIO", properties={})
    assert readyz().json()["checks"]["provider:twilio"]["detail"] == "configured"


def test_disabled_providers_are_not_checked():
    Provider.objects.create(name="old", kind="SMPP", enabled=False, properties={"Host": "127.0.0.1", "Port": "1"})
    assert "provider:old" not in readyz().json()["checks"]


def test_metrics_expose_recipients_by_state_and_provider_from_the_buckets():
    recipient = RecipientFactory(state="submitted", provider="smsc")
    recipient.events.create(state="submitted", at=recipient.due_at)
    traffic_aggregate(settle=False)
    body = Client().get("/metrics").content.decode()
    assert 'smsgw_recipients_total{provider="smsc",state="submitted"} 1.0' in body
    assert "smsgw_queue_depth " in body
    assert "smsgw_dispatch_latency_seconds_count" in body


def test_metrics_count_send_api_outcomes():
    Client().post("/api/v1/message/sms", "{}", content_type="application/json")
    body = Client().get("/metrics").content.decode()
    assert 'smsgw_api_requests_total{outcome="refused"}' in body


def test_metrics_want_the_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "s3cret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_a_response_carries_the_request_id_it_was_given():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_an_unusable_request_id_is_replaced():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\n<script>")
    assert len(response["X-Request-ID"]) == 32


def test_phone_numbers_are_masked_but_request_ids_are_not():
    assert mask_phones("to +14155550101 for 7399188731234567890") == "to +*********01 for 7399188731234567890"


def test_log_lines_carry_the_request_id_and_masked_numbers():
    record = logging.LogRecord("messaging", logging.INFO, __file__, 1, "sent to %s", ("+254712345678",), None)
    token = request_id_var.set("req-9")
    try:
        RequestContextFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter().format(record)
    assert '"request_id": "req-9"' in line
    assert "+**********78" in line


def test_metrics_with_a_multiprocess_directory_still_serve_the_database_figures(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert "smsgw_queue_depth " in response.content.decode()


def test_dashboard_shows_the_last_readiness_check_of_a_provider():
    from ops.selectors import provider_state

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        provider = Provider.objects.create(
            name="smsc", kind="SMPP", properties={"Host": "127.0.0.1", "Port": str(port)}
        )
        readyz()
    assert "unreachable (ConnectionRefusedError" in provider_state(provider)


def test_the_line_django_writes_about_a_refused_request_carries_its_id(caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        Client().post("/healthz", HTTP_X_REQUEST_ID="trace-77")
    assert any(getattr(record, "request_id", None) == "trace-77" for record in caplog.records)
