"""Who may see what: partners see only their own requests, keys never appear in clear, the admin
locks out repeated failed logins, and every endpoint but the open ones asks for credentials."""

import base64
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from messaging.models import ApiKey, Recipient, RecipientState
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json

# Endpoints open by design: health and metrics (ops probes) and provider callbacks (their own check).
OPEN_ENDPOINT = re.compile(r"(^|/)(health\w*|ready\w*|live\w*|metrics)(/|$)|callback|receipt|dlr|webhook")
METHODS = ("get", "post", "put", "patch", "delete")


def partner_client(raw_key):
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    return api


def send_one(api):
    member = MemberFactory()
    response = post_json(
        api, one_message(priorityService="false", recipients={"recipient": {"id": str(member.id)}}, content="hi")
    )
    assert response.status_code == 200, response.content
    return response.json()["id"]


def sample_path(pattern: str) -> str:
    """A concrete path for a route, with each converter given a plausible value."""
    path = re.sub(r"<(?:\w+:)?request_id>", "4714177579502718932", pattern)
    path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def api_routes():
    """Every route of the URL resolver, outside the admin, as a concrete path."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                route = str(entry.pattern)
                if route.startswith("admin"):
                    continue
                walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted({sample_path(route) for route in found})


def routes_with_request_id():
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if not str(entry.pattern).startswith("admin"):
                    walk(entry.url_patterns, prefix + str(entry.pattern))
            elif "request_id" in str(entry.pattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


GUARDED = [path for path in api_routes() if not OPEN_ENDPOINT.search(path)]


def test_the_resolver_lists_the_send_read_and_cancel_endpoints():
    assert {"/api/v1/message/sms", "/api/v1/message/sms/4714177579502718932"} <= set(GUARDED)
    assert "/vpns/api/v1/messages/sms/4714177579502718932" in GUARDED


def test_the_resolver_lists_the_status_fetch_content_and_token_endpoints():
    for prefix in ("", "/vpns", "/kpns"):
        assert {
            f"{prefix}/api/v1/status/sms",
            f"{prefix}/api/v1/messages/sms/fetch",
            f"{prefix}/api/v1/messages/sms/content/1",
            f"{prefix}/api/v1/oauth/accesstoken",
        } <= set(GUARDED)


@pytest.mark.django_db
@pytest.mark.parametrize("path", GUARDED)
def test_every_guarded_endpoint_answers_401_without_credentials(path):
    anonymous = APIClient()
    answers = {method: getattr(anonymous, method)(path).status_code for method in METHODS}
    assert set(answers.values()) == {401}, answers


@pytest.mark.django_db
@pytest.mark.parametrize("path", GUARDED)
def test_every_guarded_endpoint_answers_401_to_a_wrong_key(path):
    stranger = partner_client("0123456789ab.not-a-key-of-ours")
    assert stranger.get(path).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("path", GUARDED)
def test_every_guarded_endpoint_answers_401_to_a_wrong_access_token(path):
    stranger = APIClient()
    stranger.credentials(HTTP_ACCESSTOKEN="0" * 48, HTTP_ACCESSSECRET="not-a-secret-of-ours")
    assert stranger.get(path).status_code == 401


@pytest.mark.django_db
def test_a_partner_cannot_read_another_partners_request(client):
    request_id = send_one(client)
    other = partner_client(api_key_create(name="other")[1])
    for route in routes_with_request_id():
        path = sample_path(route.replace("<str:request_id>", request_id).replace("<request_id>", request_id))
        assert other.get(path).status_code in (404, 405), path


@pytest.mark.django_db
def test_another_partners_request_looks_exactly_like_one_that_does_not_exist(client):
    request_id = send_one(client)
    other = partner_client(api_key_create(name="other")[1])
    for verb in ("get", "delete"):
        for prefix in ("", "/vpns", "/kpns"):
            kind = "message" if verb == "get" else "messages"
            theirs = getattr(other, verb)(f"{prefix}/api/v1/{kind}/sms/{request_id}")
            missing = getattr(other, verb)(f"{prefix}/api/v1/{kind}/sms/{int(request_id) + 1}")
            assert (theirs.status_code, theirs.content) == (404, missing.content)


@pytest.mark.django_db
def test_a_partner_cannot_cancel_another_partners_request(client):
    request_id = send_one(client)
    other = partner_client(api_key_create(name="other")[1])
    assert other.delete(f"/api/v1/messages/sms/{request_id}").status_code == 404
    assert Recipient.objects.get().state == RecipientState.INITIAL


@pytest.mark.django_db
def test_the_owner_still_reads_its_own_request(client):
    request_id = send_one(client)
    assert client.get(f"/api/v1/message/sms/{request_id}").status_code == 200


@pytest.mark.django_db
def test_a_key_is_not_stored_in_clear_in_any_column():
    api_key, raw_key = api_key_create(name="partner")
    secret = raw_key.partition(".")[2]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table} WHERE id = %s", [api_key.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret not in row
    assert raw_key not in row


@pytest.mark.django_db
def test_a_key_is_never_written_to_the_log(caplog):
    raw_key = api_key_create(name="partner")[1]
    wrong_key = raw_key[:-4] + "abcd"
    caplog.set_level(logging.DEBUG)
    good = partner_client(raw_key)
    send_one(good)
    good.get("/api/v1/message/sms/1")
    partner_client(wrong_key).post("/api/v1/message/sms", {}, format="json")
    partner_client("garbage-key").get("/api/v1/message/sms/1")
    logged = "\n".join(f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records)
    for secret in (raw_key, wrong_key, raw_key.partition(".")[2], wrong_key.partition(".")[2]):
        assert secret not in logged


@pytest.mark.django_db
def test_a_revoked_key_is_refused():
    api_key, raw_key = api_key_create(name="partner")
    from messaging.services.api_keys import api_key_revoke

    api_key_revoke(api_key=api_key)
    assert partner_client(raw_key).get("/api/v1/message/sms/1").status_code == 401


def admin_login(username, password):
    return Client().post("/admin/login/?next=/admin/", {"username": username, "password": password})


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "right-horse-battery")


def test_the_admin_signs_in_with_the_right_password(admin_user):
    assert admin_login("ops", "right-horse-battery").status_code == 302


def test_the_admin_locks_out_after_repeated_failed_logins(admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login("ops", "wrong")
    locked = admin_login("ops", "right-horse-battery")
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session


def test_a_failed_admin_login_below_the_limit_does_not_lock_out(admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login("ops", "wrong")
    assert admin_login("ops", "right-horse-battery").status_code == 302


def basic(username, password):
    api = APIClient()
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    api.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return api


def test_api_basic_auth_still_works_for_a_gateway_user(admin_user):
    assert basic("ops", "right-horse-battery").get("/api/v1/message/sms/1").status_code == 404


def test_api_basic_auth_of_a_locked_out_user_answers_401(admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert basic("ops", "wrong").get("/api/v1/message/sms/1").status_code == 401
    locked = basic("ops", "right-horse-battery").get("/api/v1/message/sms/1")
    assert locked.status_code == 401
    assert locked.json() == {"id": "", "message": "Unauthorized request"}
