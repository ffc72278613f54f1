"""The Volt MX authentication page (APIs_for_VoltMX_Messaging_Services/Authentication_API.md): its
Basic sample, the OAuth access token (GET /api/v1/oauth/accesstoken with Basic, then the
AccessToken and AccessSecret headers on any route, acting as the user), and the claims-token login
the gateway does not provide (voltmx-family.md difference 4)."""

import base64
import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.api.access import Access, caller_may
from messaging.models import AccessToken
from messaging.services.access_tokens import access_token_revoke
from messaging.services.api_keys import api_key_create
from tests.factories import RecipientFactory, SmsMessageFactory, SmsRequestFactory
from tests.helpers import grant

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/oauth/accesstoken"
STATUS_URL = "/api/v1/status/sms"
# The page's Basic sample: Aladdin / open sesame.
BASIC_SAMPLE = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
# The page's headers, as printed (a charset twice).
TOKEN_CONTENT_TYPE = "application/json;charset=UTF-8;charset=UTF8"
CALL_CONTENT_TYPE = "application/json;charset=UTF-8;charset=UTF-8"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def aladdin(db):
    user = get_user_model().objects.create_user("Aladdin", password="open sesame")
    return grant(user, "messaging.view_smsrequest")


def basic_client(header=BASIC_SAMPLE):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    return api


def token_pair(api=None):
    response = (api or basic_client()).get(TOKEN_URL, CONTENT_TYPE=TOKEN_CONTENT_TYPE)
    assert response.status_code == 200, response.content
    return response.json()


def token_client(pair):
    api = APIClient()
    api.credentials(HTTP_ACCESSTOKEN=pair["AccessToken"], HTTP_ACCESSSECRET=pair["AccessSecret"])
    return api


def status_of(api, **fields):
    return api.generic("POST", STATUS_URL, json.dumps(fields), content_type=CALL_CONTENT_TYPE)


def test_the_basic_sample_header_signs_in_the_user_it_names(aladdin):
    response = status_of(basic_client(), startElement="0")
    assert response.status_code == 200, response.content


def test_the_token_sample_answers_the_access_token_and_secret(aladdin):
    pair = token_pair()
    assert set(pair) == {"AccessToken", "AccessSecret"}
    assert all(isinstance(value, str) and len(value) >= 32 for value in pair.values())


def test_the_token_headers_are_accepted_as_the_user(aladdin):
    response = status_of(token_client(token_pair()), startElement="0")
    assert response.status_code == 200, response.content


def test_the_token_is_accepted_on_every_prefix(aladdin):
    api = token_client(token_pair())
    for prefix in ("", "/vpns", "/kpns"):
        assert api.get(f"{prefix}/api/v1/message/sms/1").status_code == 404


def test_the_token_carries_the_users_permissions_and_no_more(db):
    get_user_model().objects.create_user("Aladdin", password="open sesame")
    api = token_client(token_pair())
    assert status_of(api).status_code == 403
    assert api.get("/api/v1/smsconfig").status_code == 403


def test_the_token_sees_what_its_user_may_see(aladdin):
    own = SmsRequestFactory(client=f"user:{aladdin.pk}", user=aladdin)
    RecipientFactory(message=SmsMessageFactory(request=own))
    other = SmsRequestFactory(client="key:99999")
    RecipientFactory(message=SmsMessageFactory(request=other))
    api = token_client(token_pair())
    # messaging.view_smsrequest reads every request, the token as much as Basic.
    assert {message["requestId"] for message in status_of(api).json()["messages"]} == {str(own.pk), str(other.pk)}
    aladdin.user_permissions.clear()
    assert status_of(api).status_code == 403


def test_only_the_secrets_hash_is_stored(aladdin):
    pair = token_pair()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AccessToken._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert pair["AccessToken"] in stored
    assert pair["AccessSecret"] not in stored


def test_a_token_lives_as_long_as_the_setting_says(aladdin, settings):
    settings.VOLTMX_ACCESS_TOKEN_SECONDS = 600
    with time_machine.travel("2026-07-01 12:00:00+00:00", tick=False):
        api = token_client(token_pair())
        assert AccessToken.objects.get().expires_at == timezone.now() + timedelta(seconds=600)
    with time_machine.travel("2026-07-01 12:09:59+00:00", tick=False):
        assert status_of(api).status_code == 200
    with time_machine.travel("2026-07-01 12:10:00+00:00", tick=False):
        response = status_of(api)
        assert (response.status_code, response.json()) == (401, {"id": "", "message": "Unauthorized request"})


def test_the_default_lifetime_is_one_hour(aladdin):
    token_pair()
    token = AccessToken.objects.get()
    assert abs(token.expires_at - token.created_at - timedelta(hours=1)) < timedelta(seconds=5)


def test_a_revoked_token_is_refused(aladdin):
    api = token_client(token_pair())
    access_token_revoke(access_token=AccessToken.objects.get())
    assert status_of(api).status_code == 401


def test_a_token_revoked_in_the_database_is_refused(aladdin):
    api = token_client(token_pair())
    AccessToken.objects.update(revoked_at=timezone.now())
    assert status_of(api).status_code == 401


def test_revoke_access_tokens_revokes_every_live_token_of_the_user(aladdin):
    import io

    from django.core.management import call_command

    first, second = token_client(token_pair()), token_client(token_pair())
    out = io.StringIO()
    call_command("revoke_access_tokens", "Aladdin", stdout=out)
    assert out.getvalue().strip() == "2 access token(s) of Aladdin revoked"
    assert (status_of(first).status_code, status_of(second).status_code) == (401, 401)
    assert status_of(token_client(token_pair())).status_code == 200


def test_the_token_of_a_user_made_inactive_is_refused(aladdin):
    api = token_client(token_pair())
    get_user_model().objects.filter(pk=aladdin.pk).update(is_active=False)
    assert status_of(api).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ACCESSTOKEN": "wrong"},
        {"HTTP_ACCESSSECRET": "wrong"},
        {"HTTP_ACCESSTOKEN": "0" * 48, "HTTP_ACCESSSECRET": "wrong"},
        {"HTTP_ACCESSTOKEN": "", "HTTP_ACCESSSECRET": ""},
    ],
)
def test_a_wrong_or_half_token_is_401(aladdin, headers):
    api = APIClient()
    api.credentials(**headers)
    response = status_of(api)
    assert (response.status_code, response.json()) == (401, {"id": "", "message": "Unauthorized request"})


def test_the_right_token_with_another_tokens_secret_is_401(aladdin):
    first, second = token_pair(), token_pair()
    response = status_of(token_client({"AccessToken": first["AccessToken"], "AccessSecret": second["AccessSecret"]}))
    assert response.status_code == 401


def test_any_active_gateway_user_gets_a_token_whatever_their_permissions(db):
    get_user_model().objects.create_user("Aladdin", password="open sesame")
    assert set(token_pair()) == {"AccessToken", "AccessSecret"}


def test_a_token_needs_basic_credentials(db):
    response = APIClient().get(TOKEN_URL)
    assert (response.status_code, response.json()) == (401, {"id": "", "message": "Unauthorized request"})


def test_a_wrong_password_gets_no_token(aladdin):
    token = base64.b64encode(b"Aladdin:open sesame!").decode()
    assert basic_client(f"Basic {token}").get(TOKEN_URL).status_code == 401
    assert not AccessToken.objects.exists()


def test_an_inactive_user_gets_no_token(aladdin):
    get_user_model().objects.filter(pk=aladdin.pk).update(is_active=False)
    assert basic_client().get(TOKEN_URL).status_code == 401


def test_a_partner_key_gets_no_token(api_key):
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=api_key[1])
    assert api.get(TOKEN_URL).status_code == 401
    assert not AccessToken.objects.exists()


def test_a_token_cannot_renew_itself(aladdin):
    assert token_client(token_pair()).get(TOKEN_URL).status_code == 401
    assert AccessToken.objects.count() == 1


def test_a_users_expired_tokens_are_dropped_when_a_new_one_is_issued(aladdin):
    token_pair()
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    token_pair()
    assert AccessToken.objects.count() == 1


def test_the_token_route_is_get_only(aladdin):
    assert basic_client().post(TOKEN_URL).status_code == 405


def test_the_claims_token_login_is_not_served(db):
    body = """{
	"userid": "USERID / EMAIL",
	"password": "PASSWORD",
	"provider": "Provider name",
	"domain": "Domain name"
}"""
    response = APIClient().generic("POST", "/authService/accounts/login", body, content_type=CALL_CONTENT_TYPE)
    assert response.status_code == 404


# --- The access rule for a route open to any gateway user -------------------------------------


def test_a_route_open_to_any_user_admits_an_active_user_without_permissions(db):
    user = get_user_model().objects.create_user("plain", password="pw")
    assert caller_may(user, Access(None, (), any_user=True))


def test_a_route_open_to_any_user_refuses_an_inactive_user(db):
    user = get_user_model().objects.create_user("plain", password="pw", is_active=False)
    assert not caller_may(user, Access(None, (), any_user=True))


def test_a_route_open_to_any_user_refuses_a_partner_key_without_its_scope(db):
    from messaging.api.authentication import PartnerSystem

    partner = PartnerSystem(api_key_create(name="partner")[0])
    assert not caller_may(partner, Access(None, (), any_user=True))


def test_a_route_names_a_permission_or_opens_to_any_user_but_not_both():
    with pytest.raises(ValueError):
        Access(None, ())
    with pytest.raises(ValueError):
        Access(None, ("messaging.view_smsrequest",), any_user=True)


def test_a_token_revoked_in_the_admin_is_refused(aladdin):
    from django.test import Client

    api = token_client(token_pair())
    assert status_of(api).status_code == 200
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    console = Client()
    console.force_login(root)
    page = console.get("/admin/messaging/accesstoken/")
    assert page.status_code == 200 and b"AccessSecret" not in page.content
    token = AccessToken.objects.get()
    console.post("/admin/messaging/accesstoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert AccessToken.objects.get().revoked_at is not None
    assert status_of(api).status_code == 401
