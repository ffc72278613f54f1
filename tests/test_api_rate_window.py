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
    yield caches["default"]


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


def test_a_busy_key_takes_leases_and_never_passes_its_limit(redis_cache, monkeypatch):
    """A limit of 20,000 a minute: hits are counted on Redis 16 at a time, and however many
    processes share the count, no more than the limit pass."""
    monkeypatch.setattr(throttling, "_leases", {})
    calls = []
    count = throttling.window_count
    monkeypatch.setattr(throttling, "window_count", lambda *a, **k: calls.append(a) or count(*a, **k))
    key = f"rate:test-{uuid.uuid4().hex}:1"
    assert all(throttling.window_take(key, 65, 20_000) for _ in range(160))
    assert len(calls) == 10  # leases of 16

    # Other processes (their own leases, the same count) take the rest of the window.
    passed = 160
    for _ in range(3):
        monkeypatch.setattr(throttling, "_leases", {})
        passed += sum(throttling.window_take(key, 65, 20_000) for _ in range(10_000))
    assert passed <= 20_000
    assert passed >= 20_000 - 3 * throttling.LEASE_MAX  # at most a lease a process lost


def test_a_key_under_the_lease_threshold_is_counted_hit_by_hit(redis_cache, monkeypatch):
    monkeypatch.setattr(throttling, "_leases", {})
    key = f"rate:test-{uuid.uuid4().hex}:1"
    assert [throttling.window_take(key, 65, 3) for _ in range(5)] == [True, True, True, False, False]
    stored = redis.Redis.from_url(REDIS)
    assert int(stored.get(redis_cache.make_and_validate_key(key))) == 5
