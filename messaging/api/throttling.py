"""A per-key rate limit, counted in a shared cache (Redis in production) per minute."""

import atexit
import os
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from .authentication import PartnerSystem, caller_client

_redis_clients: dict[int, object] = {}
# Let the clients go while the interpreter is whole: a client collected at shutdown complains.
atexit.register(_redis_clients.clear)


def _redis_client():
    """The default cache's Redis client, built once per process: Django's cache builds a new
    client object on every call, which costs more than the round trip itself."""
    client = _redis_clients.get(os.getpid())
    if client is None:
        client = _redis_clients[os.getpid()] = caches["default"]._cache.get_client(write=True)
    return client


def window_count(key: str, ttl: int) -> int:
    """Count one more hit on `key`, which lives `ttl` seconds; one round trip on Redis.

    INCR alone, and EXPIRE only with the window's first hit: a pipeline object copies redis-py's
    table of response callbacks each time it is built, which costs more than the round trip. A
    process that dies between the two leaves a key without expiry; its name holds the window's
    number, so it is never counted again."""
    backend = caches["default"]  # the backend itself: `cache` is a proxy, no instance of RedisCache
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        client = _redis_client()
        count = int(client.incr(full_key))
        if count == 1:
            client.expire(full_key, ttl)
        return count
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, ttl)
        return 1


class ApiKeyRateThrottle(BaseThrottle):
    window_seconds = 60

    def allow_request(self, request, view):
        user = request.user
        if user is None:
            return True
        limit = settings.API_KEY_DEFAULT_RATE_PER_MINUTE
        if isinstance(user, PartnerSystem) and user.api_key.rate_limit_per_minute:
            limit = user.api_key.rate_limit_per_minute
        now = time.time()
        window = int(now // self.window_seconds)
        count = window_count(f"rate:{caller_client(request)}:{window}", self.window_seconds + 5)
        self._wait = (window + 1) * self.window_seconds - now
        return count <= limit

    def wait(self):
        return max(1, int(self._wait + 0.999))
