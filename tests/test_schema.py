"""The OpenAPI 3 schema at /api/schema/ with its Swagger UI, and a short schemathesis run against a
live server: no 500, and every response as the schema says (status, content type, body)."""

import base64
import json

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Credentials are proven in tests/test_access.py; `make fuzz` runs many more examples.
EXAMPLES_PER_OPERATION = 5


def staff_client():
    get_user_model().objects.create_superuser("ops", "ops@example.com", "right-horse-battery")
    api = APIClient()
    token = base64.b64encode(b"ops:right-horse-battery").decode()
    api.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return api


def served_schema():
    return json.loads(staff_client().get("/api/schema/?format=json").content)


@pytest.mark.django_db
def test_the_schema_is_openapi_3_and_lists_every_api_endpoint():
    schema = served_schema()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/message/sms", "/api/v1/message/sms/{request_id}", "/api/v1/messages/sms/{request_id}"} <= set(
        schema["paths"]
    )


@pytest.mark.django_db
def test_the_schema_lists_the_status_fetch_content_and_token_operations():
    paths = served_schema()["paths"]
    assert "post" in paths["/api/v1/status/sms"]
    assert "post" in paths["/api/v1/messages/sms/fetch"]
    assert "get" in paths["/api/v1/messages/sms/content/{sms_id}"]
    assert "get" in paths["/api/v1/oauth/accesstoken"]


@pytest.mark.django_db
def test_the_status_and_fetch_answers_are_described_with_their_documented_fields():
    paths = served_schema()["paths"]
    status_ok = paths["/api/v1/status/sms"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"not attempted", "opened", "total", "messages"} <= set(status_ok["required"])
    assert "smsId" in status_ok["properties"]["messages"]["items"]["required"]
    fetch_ok = paths["/api/v1/messages/sms/fetch"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert fetch_ok["required"] == ["totalMessages", "openedMessages", "messages", "submittedMessages"]


@pytest.mark.django_db
def test_the_access_token_headers_are_one_security_requirement_and_the_token_route_takes_basic_only():
    schema = served_schema()
    schemes = schema["components"]["securitySchemes"]
    assert (schemes["accessToken"]["name"], schemes["accessSecret"]["name"]) == ("AccessToken", "AccessSecret")
    assert {"accessToken": [], "accessSecret": []} in schema["paths"]["/api/v1/status/sms"]["post"]["security"]
    assert schema["paths"]["/api/v1/oauth/accesstoken"]["get"]["security"] == [{"gatewayBasic": []}]


@pytest.mark.django_db
def test_the_schema_is_served_to_an_access_token():
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("reader", password="reader-horse-battery")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"reader:reader-horse-battery").decode())
    pair = api.get("/api/v1/oauth/accesstoken").json()
    reader = APIClient()
    reader.credentials(HTTP_ACCESSTOKEN=pair["AccessToken"], HTTP_ACCESSSECRET=pair["AccessSecret"])
    assert reader.get("/api/schema/?format=json").status_code == 200


@pytest.mark.django_db
def test_the_send_operation_takes_json_and_xml_and_answers_the_contract_body():
    send = served_schema()["paths"]["/api/v1/message/sms"]
    assert set(send["post"]["requestBody"]["content"]) == {"application/json", "application/xml", "text/xml"}
    ok = send["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ContractBody"}


@pytest.mark.django_db
def test_the_swagger_ui_is_served():
    response = staff_client().get("/api/schema/swagger/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


@pytest.mark.django_db
def test_the_schema_needs_credentials_like_the_api():
    assert APIClient().get("/api/schema/").status_code == 401


def _live_schema(live_server, django_db_blocker):
    with django_db_blocker.unblock():
        raw_key = api_key_create(name="schemathesis")[1]
        MemberFactory.create_batch(3)
        schema = served_schema()
    loaded = schemathesis.openapi.from_dict(schema)
    loaded.config.update(base_url=live_server.url, headers={"X-VoltMX-App-API-Key": raw_key})
    # Generated examples only: the coverage phase alone sends hundreds of requests per operation.
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded


@pytest.fixture
def live_schema(live_server, django_db_blocker, transactional_db):
    return _live_schema(live_server, django_db_blocker)


schema = schemathesis.pytest.from_fixture("live_schema")


@pytest.mark.slow  # a live server and schemathesis
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_live_api_answers_as_its_schema_says(case):
    case.call_and_validate(checks=CHECKS)


@pytest.mark.django_db
def test_every_operation_has_its_own_operation_id_without_generator_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    schema = served_schema()
    ids = [op["operationId"] for ops in schema["paths"].values() for m, op in ops.items() if m != "parameters"]
    assert len(ids) == len(set(ids))
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
