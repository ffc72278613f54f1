"""A shared cache (Redis) that is down: the API answers 503 with the CONTRACT body and Retry-After,
as for a database or broker outage, never a 500. Found by faults/restart_redis.py."""

import pytest

from messaging.models import SmsRequest
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json, post_xml

DOWN_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture
def cache_down(settings):
    settings.CACHES = DOWN_CACHE


def test_a_send_while_the_cache_is_down_is_a_503_with_the_contract_body(client, db, cache_down):
    member = MemberFactory()
    response = post_json(
        client, one_message(priorityService="false", recipients={"recipient": {"id": str(member.id)}}, content="hi")
    )
    assert response.status_code == 503
    assert response.json() == {"id": "", "message": "Server failure to process request"}
    assert response["Retry-After"]
    assert not SmsRequest.objects.exists()


def test_a_read_while_the_cache_is_down_is_a_503_in_xml_too(client, db, cache_down):
    response = post_xml(client, "<smsServiceRequest/>")
    assert response.status_code == 503
    assert b"<code>503</code><description>Server failure to process request</description>" in response.content
