import pytest
from rest_framework.test import APIClient

from messaging.backends import locmem
from messaging.services.api_keys import api_key_create


@pytest.fixture(autouse=True)
def _gateway_settings(settings):
    settings.SMS_BACKEND = "messaging.backends.locmem.LocmemBackend"
    settings.SECURE_SSL_REDIRECT = False
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture(autouse=True)
def _eager_celery():
    from smsgateway.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from messaging.api import throttling

    cache.clear()
    throttling._leases.clear()  # this process's leases on the rate counts just cleared
    yield


@pytest.fixture
def api_key(db):
    """(ApiKey, the key in clear)."""
    return api_key_create(name="partner")


@pytest.fixture
def client(api_key):
    """An API client that presents a partner's key."""
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=api_key[1])
    return api
