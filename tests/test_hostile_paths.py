"""Ids in paths and query strings written with digits that are not ASCII (superscripts, Arabic-Indic,
mathematical): str.isdigit() takes them, int() does not. Every route the resolver lists answers
them with a 4xx, never a 500."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from messaging.models import SCOPES
from messaging.providers.nexmo.callbacks import _vonage_provider
from messaging.services.api_keys import api_key_create


@pytest.fixture
def api_key(db):
    """A partner key with every scope: these tests are about the endpoints, not the scopes."""
    return api_key_create(name="partner", scopes=list(SCOPES))


ODD_IDS = ["%C2%B9", "%D9%A3", "%F0%9D%9F%99", "0" * 30, "-1"]
METHODS = ("get", "put", "patch", "delete", "post")


def routes_with_a_parameter():
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if not str(entry.pattern).startswith(("admin", "vpns", "kpns")):
                    walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and "<" in str(entry.pattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


ROUTES = routes_with_a_parameter()


@pytest.fixture
def staff(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # Basic hashes on each call
    get_user_model().objects.create_superuser("ops", "ops@example.com", "right-horse-battery")
    api = APIClient()
    api.login(username="ops", password="right-horse-battery")
    api.credentials(HTTP_AUTHORIZATION="Basic b3BzOnJpZ2h0LWhvcnNlLWJhdHRlcnk=")
    return api


def test_the_resolver_lists_routes_with_an_id():
    assert "api/v1/message/sms/<str:request_id>" in ROUTES


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("odd", ODD_IDS)
def test_an_odd_id_in_a_path_is_never_a_500(client, staff, route, odd):
    path = "/" + re.sub(r"<(?:\w+:)?\w+>", odd, route)
    for caller in (client, staff):
        for method in METHODS:
            response = getattr(caller, method)(path, {}, format="json")
            assert response.status_code < 500, (method, path, response.status_code)


@pytest.mark.parametrize("odd", ["%C2%B9", "%D9%A3", "-1", "99999999999999999999"])
def test_odd_paging_numbers_are_a_4xx(staff, odd):
    for path in ("/api/v1/audience?startElement={odd}&elementsPerPage={odd}", "/api/v1/segments?start={odd}"):
        response = staff.get(path.format(odd=odd))
        assert 400 <= response.status_code < 500, (path, response.status_code)
    response = staff.get(f"/api/v1/segments?pageSize={odd}")
    assert 400 <= response.status_code < 500, response.status_code


@pytest.mark.parametrize("timestamp", ["\u00b9", "\u0663", "", "-5"])
def test_a_signed_callback_with_an_odd_timestamp_finds_no_provider(db, timestamp):
    assert _vonage_provider({"sig": "abc", "timestamp": timestamp}) is None
