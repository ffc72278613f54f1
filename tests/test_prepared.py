"""The send path's prepared statements (smsgateway/prepared.py): prepared on the connection,
logged as written, and the request's first read standing in for Django's health check."""

import json

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from messaging.models import SmsRequest
from messaging.services.api_keys import api_key_create
from tests.helpers import one_message

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/message/sms?checkUserExistence=false"


def send(raw_key, phone="+14155550100"):
    message = one_message(content="x", priorityService="false", recipients={"recipient": {"mobile": phone}})
    return APIClient().generic(
        "POST", URL, json.dumps(message), content_type="application/json", HTTP_X_VOLTMX_APP_API_KEY=raw_key
    )


@pytest.fixture
def raw_key():
    return api_key_create(name="partner", daily_quota_parts=0)[1]


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_member_read_and_the_store_are_prepared_once_and_logged_as_written(raw_key):
    assert send(raw_key).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert send(raw_key, "+14155550101").status_code == 200
    statements = prepared_statements()
    assert any('FROM "audiences_member"' in s for s in statements)
    assert any(s.startswith("WITH ") and "messaging_recipient" in s for s in statements)
    assert all(query["sql"] for query in queries.captured_queries)  # no None in the log


def test_a_kept_connection_is_checked_by_the_first_read_not_by_a_select_1(raw_key, monkeypatch):
    assert send(raw_key).status_code == 200
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_done = False  # as at the start of the next request
    assert send(raw_key, "+14155550101").status_code == 200
    assert checks == [] and connection.health_check_done


def test_a_connection_broken_between_requests_is_replaced_and_the_request_stored(raw_key):
    assert send(raw_key).status_code == 200
    backend = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    finally:
        other.close()
    connection.health_check_done = False  # as at the start of the next request
    response = send(raw_key, "+14155550101")
    assert response.status_code == 200, response.content
    assert connection.connection.info.backend_pid != backend
    assert SmsRequest.objects.count() == 2


def test_with_prepared_statements_off_nothing_is_prepared(raw_key, settings):
    settings.SMS_PREPARED_STATEMENTS = False
    connection.close()
    assert send(raw_key).status_code == 200
    assert prepared_statements() == []
