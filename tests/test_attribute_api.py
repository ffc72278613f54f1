"""The audience attribute API (/api/v1/admin/attributes) beyond its samples: who may call it,
unknown keys, pick lists, and attributes in use keeping their name and type."""

import json

import pytest
from rest_framework.test import APIClient

from audiences.models import AttributeType, AudienceAttribute
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory, SegmentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/admin/attributes"


def partner(*scopes):
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=api_key_create(name="p", scopes=list(scopes))[1])
    return api


@pytest.fixture
def configurer():
    return partner("config", "audience:read")


def post(api, url, body):
    return api.generic("POST", url, json.dumps(body), content_type="application/json")


def test_declaring_an_attribute_needs_the_config_scope():
    response = post(partner("audience:read", "audience:write"), URL, {"attributeName": "a", "attributeType": "String"})
    assert response.status_code == 403
    assert not AudienceAttribute.objects.exists()


def test_reading_attributes_needs_audience_read():
    AudienceAttribute.objects.create(name="tier")
    assert partner("audience:read").get(URL).status_code == 200
    assert partner("send", "status").get(URL).status_code == 403


def test_an_unknown_key_is_a_400_that_names_it(configurer):
    response = post(configurer, URL, {"attributeName": "a", "attributeType": "String", "label": "A"})
    assert response.json() == {"id": "", "message": "The request contains invalid attributes : label"}


def test_a_pick_list_takes_its_allowed_values_separated_by_commas(configurer):
    post(configurer, URL, {"attributeName": "Tier", "attributeType": "Pick List", "allowedValues": "gold, silver"})
    attribute = AudienceAttribute.objects.get()
    assert (attribute.type, attribute.choices) == (AttributeType.PICK_LIST, ["gold", "silver"])
    assert configurer.get(f"{URL}/{attribute.id}").json()["allowedValues"] == "gold,silver"


def test_a_pick_list_without_values_is_a_400(configurer):
    response = post(configurer, URL, {"attributeName": "Tier", "attributeType": "Pick List"})
    assert response.status_code == 400


def test_a_name_that_is_a_member_field_is_a_400(configurer):
    response = post(configurer, URL, {"attributeName": "mobileNumber", "attributeType": "String"})
    assert response.status_code == 400
    assert "member field" in response.json()["message"]


def test_names_differing_only_in_case_clash(configurer):
    post(configurer, URL, {"attributeName": "Tier", "attributeType": "String"})
    response = post(configurer, URL, {"attributeName": "tier", "attributeType": "String"})
    assert response.json()["message"] == "Attribute already exists with this name"


def test_a_missing_attribute_is_a_400(configurer):
    for path in (f"{URL}/999", f"{URL}/x", f"{URL}/999/modify"):
        response = configurer.get(path) if "modify" not in path else post(configurer, path, {})
        assert response.status_code == 400
        assert response.json()["message"] == "Invalid Attribute ID provided or no attribute found with given ID"


def test_an_attribute_members_hold_keeps_its_name_and_type(configurer):
    attribute = AudienceAttribute.objects.create(name="score", type="number")
    MemberFactory(attributes={"score": 3})
    response = post(configurer, f"{URL}/{attribute.id}/modify", {"attributeName": "points", "attributeType": "Number"})
    assert response.status_code == 400
    attribute.refresh_from_db()
    assert attribute.name == "score"


def test_an_attribute_a_segment_names_keeps_its_type(configurer):
    attribute = AudienceAttribute.objects.create(name="score", type="number")
    SegmentFactory().conditions.create(number=99, attribute="score", operator="GreaterThan", value="3")
    response = post(configurer, f"{URL}/{attribute.id}/modify", {"attributeName": "score", "attributeType": "String"})
    assert response.status_code == 400


def test_an_attribute_in_use_may_become_required(configurer):
    attribute = AudienceAttribute.objects.create(name="score", type="number")
    MemberFactory(attributes={"score": 3})
    body = {"attributeName": "score", "attributeType": "Number", "attributeRequired": True}
    assert post(configurer, f"{URL}/{attribute.id}/modify", body).status_code == 200
    attribute.refresh_from_db()
    assert attribute.required is True


def test_at_most_thirty_attributes_are_declared(configurer):
    AudienceAttribute.objects.bulk_create(AudienceAttribute(name=f"a{n}") for n in range(30))
    response = post(configurer, URL, {"attributeName": "one more", "attributeType": "String"})
    assert response.status_code == 400
