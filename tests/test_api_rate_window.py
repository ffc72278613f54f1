"""The partner key's rate limit counted in Redis: one counter per key and minute, which expires."""

import uuid

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from messaging.api import throttling

REDIS = "redis://127.0.0.1:6379/7"


@pytest.fixture
def redis_cache(monkeypatch):
    monkeypatch.setattr(throttling, "cache", RedisCache(REDIS, {}))
    throttling._redis_clients.clear()
    yield throttling.cache
    throttling._redis_clients.clear()


def test_each_hit_counts_once_and_the_window_expires(redis_cache):
    key = f"rate:test-{uuid.uuid4().hex}:1"
    assert [throttling.window_count(key, 65) for _ in range(3)] == [1, 2, 3]
    full_key = redis_cache.make_and_validate_key(key)
    stored = redis.Redis.from_url(REDIS)
    assert int(stored.get(full_key)) == 3
    assert 60 < stored.ttl(full_key) <= 65
