"""CONTRACT section 7: API keys in either header, HTTP Basic for gateway users, revocation,
the per-key rate limit, and keys issued by `manage.py create_api_key`."""

import base64
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from messaging.models import ApiKey, SmsRequest
from messaging.services.api_keys import api_key_create, api_key_revoke
from tests.factories import MemberFactory
from tests.helpers import grant, one_message, post_json, post_xml

UNAUTHORIZED_XML = b"<smsResponse><code>401</code><description>Unauthorized request</description></smsResponse>"


@pytest.fixture
def send_body(db):
    member = MemberFactory()
    return one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content="x")


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_no_credentials_is_401_in_json(send_body):
    response = post_json(APIClient(), send_body)
    assert response.status_code == 401
    assert response.json() == {"id": "", "message": "Unauthorized request"}
    assert not SmsRequest.objects.exists()


def test_no_credentials_is_401_in_xml(db):
    response = post_xml(APIClient(), "<smsServiceRequest/>")
    assert response.status_code == 401
    assert response.content.endswith(UNAUTHORIZED_XML)


@pytest.mark.parametrize("header", ["HTTP_X_VOLTMX_APP_API_KEY", "HTTP_X_KONY_APP_API_KEY"])
def test_a_wrong_key_is_401(send_body, header):
    _, raw_key = api_key_create(name="partner")
    response = post_json(APIClient(), send_body, **{header: raw_key[:-2] + "zz"})
    assert response.status_code == 401
    assert response.json() == {"id": "", "message": "Unauthorized request"}


@pytest.mark.parametrize("header", ["HTTP_X_VOLTMX_APP_API_KEY", "HTTP_X_KONY_APP_API_KEY"])
def test_a_wrong_key_is_401_in_xml(db, header):
    response = post_xml(APIClient(), "<smsServiceRequest/>", **{header: "nonsense"})
    assert response.status_code == 401
    assert response.content.endswith(UNAUTHORIZED_XML)


@pytest.mark.parametrize("header", ["HTTP_X_VOLTMX_APP_API_KEY", "HTTP_X_KONY_APP_API_KEY"])
def test_either_key_header_is_accepted(send_body, header):
    _, raw_key = api_key_create(name="partner")
    response = post_json(APIClient(), send_body, **{header: raw_key})
    assert response.status_code == 200, response.content


def test_a_revoked_key_is_refused(send_body):
    api_key, raw_key = api_key_create(name="partner")
    api_key_revoke(api_key=api_key)
    response = post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    assert response.status_code == 401
    assert not SmsRequest.objects.exists()


def test_basic_with_a_gateway_user_works(send_body):
    user = grant(get_user_model().objects.create_user("operator", password="s3cret-pass"), "messaging.add_smsrequest")
    response = post_json(APIClient(), send_body, HTTP_AUTHORIZATION=basic("operator", "s3cret-pass"))
    assert response.status_code == 200, response.content
    assert SmsRequest.objects.get().user == user


def test_basic_with_a_gateway_user_without_the_send_permission_is_403(send_body):
    get_user_model().objects.create_user("operator", password="s3cret-pass")
    response = post_json(APIClient(), send_body, HTTP_AUTHORIZATION=basic("operator", "s3cret-pass"))
    assert (response.status_code, response.json()) == (403, {"id": "", "message": "Forbidden"})
    assert not SmsRequest.objects.exists()


def test_basic_with_a_wrong_password_is_401(send_body):
    get_user_model().objects.create_user("operator", password="s3cret-pass")
    response = post_json(APIClient(), send_body, HTTP_AUTHORIZATION=basic("operator", "wrong"))
    assert response.status_code == 401
    assert response.json() == {"id": "", "message": "Unauthorized request"}


def test_basic_for_an_inactive_user_is_401(send_body):
    get_user_model().objects.create_user("operator", password="s3cret-pass", is_active=False)
    response = post_json(APIClient(), send_body, HTTP_AUTHORIZATION=basic("operator", "s3cret-pass"))
    assert response.status_code == 401


def test_a_401_asks_for_basic(db):
    response = post_json(APIClient(), "{}")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_credentials_are_checked_before_the_body_is_read(db):
    response = post_json(APIClient(), "{not json")
    assert response.status_code == 401


@time_machine.travel(datetime(2030, 1, 1, 12, 0, 15, tzinfo=UTC), tick=False)
def test_a_key_past_its_rate_limit_gets_429_with_retry_after(send_body):
    _, raw_key = api_key_create(name="partner", rate_limit_per_minute=2)
    client = APIClient()
    client.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    assert [post_json(client, send_body).status_code for _ in range(2)] == [200, 200]
    response = post_json(client, send_body)
    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert SmsRequest.objects.count() == 2


@time_machine.travel(datetime(2030, 1, 1, 12, 0, 15, tzinfo=UTC), tick=False)
def test_the_rate_limit_counts_each_key_apart(send_body):
    _, first = api_key_create(name="first", rate_limit_per_minute=1)
    _, second = api_key_create(name="second", rate_limit_per_minute=1)
    assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=first).status_code == 200
    assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=second).status_code == 200


def test_the_rate_limit_opens_again_in_the_next_minute(send_body):
    _, raw_key = api_key_create(name="partner", rate_limit_per_minute=1)
    with time_machine.travel(datetime(2030, 1, 1, 12, 0, 15, tzinfo=UTC), tick=False) as clock:
        assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
        assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 429
        clock.shift(60)
        assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200


def test_create_api_key_prints_the_key_alone_on_its_last_line_and_the_key_works(send_body):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "partner-x", stdout=out, stderr=err)
    raw_key = out.getvalue().splitlines()[-1]
    assert raw_key.strip() == raw_key and " " not in raw_key
    response = post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    assert response.status_code == 200, response.content
    assert SmsRequest.objects.get().api_key.name == "partner-x"


def test_a_key_is_stored_only_as_a_hash(db):
    api_key, raw_key = api_key_create(name="partner")
    assert raw_key not in (api_key.key_hash, api_key.prefix)
    assert raw_key.split(".", 1)[1] not in api_key.key_hash


def test_a_key_is_verified_once_and_a_revocation_elsewhere_is_honoured_within_the_cache_time(send_body, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.API_KEY_CACHE_SECONDS = 5
    api_key, raw_key = api_key_create(name="partner")
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC), tick=False) as clock:
        assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
        assert not any('FROM "messaging_apikey"' in query["sql"] for query in queries.captured_queries)
        # Revoked by another process (no signal here): this one trusts its copy for the cache time.
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=datetime(2026, 12, 1, 12, 0, 1, tzinfo=UTC))
        clock.shift(4.9)
        assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
        clock.shift(0.2)
        assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 401


def test_a_key_revoked_in_this_process_is_refused_at_once(send_body):
    api_key, raw_key = api_key_create(name="partner")
    assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
    api_key_revoke(api_key=api_key)
    assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 401


def test_no_cache_when_the_setting_is_zero(send_body, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    api_key, raw_key = api_key_create(name="partner")
    assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 200
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert post_json(APIClient(), send_body, HTTP_X_VOLTMX_APP_API_KEY=raw_key).status_code == 401
