"""The partner key's rate limit counted in Redis: one counter per key and minute, which expires,
counted by one command a request."""

import uuid

import pytest
import redis
from django.core.cache import caches

from messaging.api import throttling

REDIS = "redis://127.0.0.1:6379/7"


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS}}
    throttling._redis_clients.clear()
    yield caches["default"]
    throttling._redis_clients.clear()


def test_each_hit_is_one_command_and_the_window_expires(redis_cache, monkeypatch):
    commands = []
    execute = redis.Redis.execute_command

    def counted(self, *args, **options):
        commands.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    key = f"rate:test-{uuid.uuid4().hex}:1"
    assert throttling.window_count(key, 65) == 1
    assert commands == ["INCRBY", "EXPIRE"]  # the window's first hit sets its expiry
    commands.clear()
    assert [throttling.window_count(key, 65) for _ in range(2)] == [2, 3]
    assert commands == ["INCRBY", "INCRBY"]
    full_key = redis_cache.make_and_validate_key(key)
    stored = redis.Redis.from_url(REDIS)
    assert int(stored.get(full_key)) == 3
    assert 60 < stored.ttl(full_key) <= 65
