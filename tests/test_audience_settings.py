"""PUT /api/v1/admin (Volt MX "Modify Details (General)", voltmx-family.md section 2): the
reconciliation key and the page's SMS-side settings; the page's push keys are refused by name."""

import json

import pytest
from rest_framework.test import APIClient

from audiences.models import AudienceSettings, Member
from messaging.services.api_keys import api_key_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/admin"
HEADERS = {"content_type": "application/json;charset=UTF-8"}
# The page's sample as published: its lines miss their commas and a string runs over three lines.
PUBLISHED_SAMPLE = """{  
  "retriesPerNotification" : 9,  
  "reconciliationKey" : "Email",  
  "campaignExecutionIntervel" : 1,  
  "preferredTimeZone" : "GMT+05:30"
"keyId" : "5M80QD7GB2"
"teamId" : "DP7853I8YE"
"apnsProviderPrivateKey" : "MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQgQ
3iDy26Mx6diayfNhjUaANGv0k95tye45hWCC6wN/oOgCgYIKoZIzj0DAQehRANCAAQ6hwi1Iouod8gF
UG9+AD95RpQOpWrmbCGaB7HjSbXuyigkx2wlYVxiTgV//fqQZVGpXYrW0gUruiAe+Ej5JQxy"  
}
"""
SMS_SIDE = {
    "retriesPerNotification": 9,
    "reconciliationKey": "Email",
    "campaignExecutionIntervel": 1,
    "preferredTimeZone": "GMT+05:30",
}


@pytest.fixture
def config_client():
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=api_key_create(name="ops", scopes=["config", "audience:write"])[1])
    return api


def put(api, body):
    return api.generic("PUT", URL, body if isinstance(body, str) else json.dumps(body), **HEADERS)


def test_the_published_sample_is_not_json_and_changes_nothing(config_client):
    response = put(config_client, PUBLISHED_SAMPLE)
    assert (response.status_code, response.json()) == (400, {"id": "", "message": "Failed to parse the input request"})
    assert not AudienceSettings.objects.exists()


def test_the_samples_sms_settings_answer_as_documented_and_are_kept(config_client):
    response = put(config_client, SMS_SIDE)
    assert (response.status_code, response.json()) == (200, {"message": "Successfully Updated the details. ", "id": ""})
    stored = AudienceSettings.objects.get()
    assert (stored.reconciliation_key, stored.retries_per_notification) == ("email", 9)
    assert (stored.campaign_execution_interval, stored.preferred_time_zone) == (1, "GMT+05:30")


def test_the_samples_push_keys_are_refused_by_name(config_client):
    body = {**SMS_SIDE, "keyId": "5M80QD7GB2", "teamId": "DP7853I8YE"}
    response = put(config_client, body)
    assert response.status_code == 400
    assert response.json()["message"] == "push notification settings are not part of this gateway: keyId, teamId"
    assert not AudienceSettings.objects.exists()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Value for reconciliationKey can not be empty"),
        (None, "Value for reconciliationKey can not be empty"),
        ("phone", "Value for reconcilationKey should be one of : [email, mobile number]"),
    ],
)
def test_the_documented_reconciliation_key_errors(config_client, key, message):
    body = {**SMS_SIDE, "reconciliationKey": key} if key is not None else {"retriesPerNotification": 1}
    response = put(config_client, body)
    assert (response.status_code, response.json()["message"]) == (400, message)


def test_another_method_is_the_documented_400(config_client):
    response = config_client.get(URL)
    assert (response.status_code, response.json()["message"]) == (400, "Invalid request. Request method not allowed")


def test_unknown_keys_and_bad_values_are_refused(config_client):
    assert put(config_client, {**SMS_SIDE, "retries": 2}).json()["message"] == (
        "The request contains invalid attributes : retries"
    )
    assert put(config_client, {**SMS_SIDE, "retriesPerNotification": 11}).status_code == 400
    assert put(config_client, {**SMS_SIDE, "preferredTimeZone": "Mars/Olympus"}).status_code == 400


def test_a_key_without_the_config_scope_is_refused(config_client):
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=api_key_create(name="partner")[1])
    assert put(api, SMS_SIDE).status_code == 403


MEMBER = {"firstName": "Latha", "lastName": "Ganesh", "country": "India", "email": "latha@example.com"}


def test_with_mobile_number_as_the_key_every_new_member_needs_one(config_client):
    add = lambda body: config_client.generic("POST", "/api/v1/audience", json.dumps(body), **HEADERS)  # noqa: E731
    assert add({**MEMBER, "email": "first@example.com"}).status_code == 200  # no key yet: a mobile is optional
    assert put(config_client, {"reconciliationKey": "mobile number"}).status_code == 200
    refused = add(MEMBER)
    assert (refused.status_code, refused.json()["message"]) == (
        400,
        "Attribute 'mobileNumber' is a mandatory field. Please provide a valid value for the same",
    )
    assert add({**MEMBER, "mobileNumber": "+919876543210"}).status_code == 200
    assert Member.objects.count() == 2
