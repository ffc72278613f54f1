import base64
import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from messaging.backends.console import ConsoleBackend
from messaging.backends.locmem import LocmemBackend
from messaging.backends.twilio import TwilioBackend
from messaging.models import Provider
from messaging.services.providers import configuration, routing
from tests.helpers import grant

URL = "/api/v1/smsconfig"

TWILIO = {
    "provider": "TWILIO",
    "name": "twilio-main",
    "enabled": "true",
    "order": "2",
    "properties": [
        {"key": "Account SID", "value": "AC123"},
        {"key": "Auth Token", "value": "secret-token"},
        {"key": "Host URL", "value": "http://127.0.0.1:9"},
        {"key": "Throughput", "value": "10"},
        {"key": "From", "value": "+15005550006"},
        {"key": "Voice", "value": "true"},
    ],
}


@pytest.fixture
def staff(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    user = get_user_model().objects.create_user("ops", password="ops-password", is_staff=True)
    grant(user, "messaging.view_provider", "messaging.add_provider", "messaging.change_provider")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"ops:ops-password").decode())
    api.user = user
    return api


@pytest.fixture(autouse=True)
def _fresh_registry():
    routing.providers_forget()
    routing.provider_circuits_reset()
    yield
    routing.providers_forget()
    routing.provider_circuits_reset()


def post(api, body):
    return api.generic("POST", URL, json.dumps(body), content_type="application/json")


def test_posting_a_provider_answers_its_id(staff):
    response = post(staff, TWILIO)
    assert response.status_code == 200, response.content
    assert response.json() == {"id": str(Provider.objects.get().pk), "message": "Details updated successfully"}


def test_posting_a_provider_stores_its_properties(staff):
    post(staff, TWILIO)
    provider = Provider.objects.get(name="twilio-main")
    assert (provider.kind, provider.order, provider.properties["Account SID"]) == ("TWILIO", 2, "AC123")


def test_posting_the_same_name_updates_the_provider(staff):
    post(staff, TWILIO)
    post(staff, {**TWILIO, "enabled": "false", "properties": [{"key": "Throughput", "value": "5"}]})
    provider = Provider.objects.get()
    assert (provider.enabled, provider.properties["Throughput"], provider.properties["Auth Token"]) == (
        False,
        "5",
        "secret-token",
    )


def test_an_unknown_property_key_is_refused(staff):
    body = {**TWILIO, "properties": TWILIO["properties"] + [{"key": "System ID", "value": "x"}]}
    response = post(staff, body)
    assert (response.status_code, response.json()["message"]) == (400, "Invalid keys provided")


def test_a_missing_required_key_is_refused(staff):
    body = {"provider": "SMPP", "name": "carrier-a", "properties": [{"key": "Host", "value": "10.0.0.5"}]}
    response = post(staff, body)
    assert (response.status_code, response.json()["message"]) == (400, "Invalid keys provided")


def test_an_unknown_kind_is_refused(staff):
    response = post(staff, {**TWILIO, "provider": "CARRIER-PIGEON"})
    assert (response.status_code, response.json()["message"]) == (400, "Invalid keys provided")


def test_a_property_without_a_value_is_refused(staff):
    response = post(staff, {**TWILIO, "properties": [{"key": "Auth Token"}]})
    assert (response.status_code, response.json()["message"]) == (400, "Invalid keys provided")


def test_a_throughput_that_is_not_a_number_is_refused(staff):
    response = post(staff, {**TWILIO, "properties": [{"key": "Throughput", "value": "fast"}]})
    assert response.status_code == 400


def test_the_listing_masks_secrets(staff):
    post(staff, TWILIO)
    listed = staff.get(URL).json()["providers"][0]
    values = {item["key"]: item["value"] for item in listed["properties"]}
    assert (values["Auth Token"], values["Account SID"]) == ("********", "AC123")


def test_posting_the_masked_listing_back_keeps_the_secret(staff):
    post(staff, TWILIO)
    listed = staff.get(URL).json()["providers"][0]
    post(staff, {key: listed[key] for key in ("provider", "name", "enabled", "order", "properties")})
    assert Provider.objects.get().properties["Auth Token"] == "secret-token"


def test_a_partner_key_may_not_configure_providers(client):
    response = post(client, TWILIO)
    assert response.status_code == 403


def test_an_anonymous_caller_is_unauthorized(db):
    response = post(APIClient(), TWILIO)
    assert (response.status_code, response.json()["message"]) == (401, "Unauthorized request")


def test_with_no_enabled_provider_the_settings_backend_carries_everything(db):
    Provider.objects.create(name="off", kind="CONSOLE", enabled=False)
    routes = routing.routes_active()
    assert [type(route.backend) for route in routes] == [LocmemBackend]


def test_each_enabled_provider_gets_its_backend_in_failover_order(staff):
    post(staff, TWILIO)
    post(staff, {"provider": "CONSOLE", "name": "console", "order": "1"})
    routes = routing.routes_active()
    assert [(route.name, type(route.backend)) for route in routes] == [
        ("console", ConsoleBackend),
        ("twilio-main", TwilioBackend),
    ]


def test_a_backend_is_built_once_per_process(staff):
    post(staff, TWILIO)
    first = routing.routes_active()[0].backend
    assert routing.routes_active()[0].backend is first


def test_a_changed_provider_row_gets_a_new_backend(staff):
    post(staff, TWILIO)
    first = routing.routes_active()[0].backend
    moved = [{"key": "Host URL", "value": "http://127.0.0.1:10"}, {"key": "Auth Token", "value": "secret-token"}]
    post(staff, {**TWILIO, "properties": moved})
    second = routing.routes_active()[0].backend
    assert second is not first and second.client.api.base_url == "http://127.0.0.1:10"


def test_the_route_carries_throughput_sender_and_voice(staff):
    post(staff, TWILIO)
    route = routing.routes_active()[0]
    assert (route.throughput, route.sender, route.voice) == (10.0, "+15005550006", True)


def test_an_smpp_provider_maps_its_properties_to_backend_options(db):
    provider = Provider.objects.create(
        name="carrier-a",
        kind="SMPP",
        properties={
            "Host": "10.0.0.5",
            "Port": "2775",
            "System ID": "gw",
            "Password": "pw",
            "Binds": "2",
            "Window": "50",
            "Throughput": "100",
            "From": "ACME",
        },
    )
    options = configuration.provider_options(provider)
    assert options == {
        "name": "carrier-a",
        "host": "10.0.0.5",
        "port": 2775,
        "system_id": "gw",
        "password": "pw",
        "binds": 2,
        "window": 50,
        "throughput": 100.0,
        "sender": "ACME",
    }


def test_a_port_out_of_range_is_refused(staff):
    body = {"provider": "SMPP", "properties": [{"key": "Host", "value": "h"}, {"key": "Port", "value": "99999999"}]}
    response = post(staff, {**body, "properties": body["properties"] + [{"key": "System ID", "value": "gw"}]})
    assert (response.status_code, response.json()["message"]) == (400, "Invalid value for Port")


def test_an_order_too_large_for_the_store_is_refused(staff):
    response = post(staff, {**TWILIO, "order": "99999999999999999999"})
    assert response.status_code == 400


def test_a_body_that_is_not_an_object_is_refused(staff):
    response = post(staff, ["TWILIO"])
    assert (response.status_code, response.json()["message"]) == (400, "Invalid keys provided")


def test_a_provider_in_xml_is_taken(staff):
    body = (
        "<smsConfig><provider>CONSOLE</provider><name>dev</name><order>3</order>"
        "<properties><key>From</key><value>ACME</value></properties></smsConfig>"
    )
    response = staff.generic("POST", URL, body, content_type="text/xml")
    assert (response.status_code, Provider.objects.get().properties) == (200, {"From": "ACME"})


def test_several_properties_in_xml_are_taken(staff):
    body = (
        "<smsConfig><provider>CONSOLE</provider><name>dev</name><properties>"
        "<property><key>From</key><value>ACME</value></property>"
        "<property><key>Throughput</key><value>5</value></property>"
        "</properties></smsConfig>"
    )
    staff.generic("POST", URL, body, content_type="text/xml")
    assert Provider.objects.get().properties == {"From": "ACME", "Throughput": "5"}


def test_digits_outside_ascii_in_a_number_are_refused(staff):
    response = post(staff, {**TWILIO, "order": "²"})
    assert response.status_code == 400


SMPP_WITH_ID_BASES = {
    "provider": "SMPP",
    "name": "carrier-hex",
    "properties": [
        {"key": "Host", "value": "127.0.0.1"},
        {"key": "Port", "value": "2775"},
        {"key": "System ID", "value": "gw"},
        {"key": "Submit ID Base", "value": "16"},
        {"key": "Receipt ID Base", "value": "10"},
    ],
}


def test_an_smpp_provider_takes_the_id_bases_of_its_smsc(staff):
    assert post(staff, SMPP_WITH_ID_BASES).status_code == 200
    (route,) = routing.routes_active()
    assert (route.backend.config.submit_id_base, route.backend.config.receipt_id_base) == (16, 10)


def test_an_id_base_other_than_10_or_16_is_refused(staff):
    body = {
        **SMPP_WITH_ID_BASES,
        "properties": SMPP_WITH_ID_BASES["properties"][:3] + [{"key": "Receipt ID Base", "value": "12"}],
    }
    response = post(staff, body)
    assert (response.status_code, response.json()["message"]) == (400, "Invalid value for Receipt ID Base")
