"""A per-key rate limit, counted in a shared cache (Redis in production) per minute.

The count is shared by every process; each process takes its hits from it in leases: one hit at a
time for a key whose limit is under LEASE_FROM a minute, and for a busier key up to LEASE_MAX hits
at once, fewer as the window fills (a lease is at most a LEASE_SPREAD-th of what is left), so that
a busy key costs one Redis call every few requests instead of one each. No more than the limit is
ever let through in a window; what a lease holds unused when its window ends is lost, so a busy
key may be refused at most LEASE_MAX hits a process before its limit (a key of 600,000 a minute
loses at most 0.01% of it on a server of four processes).
"""

import atexit
import threading
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from .authentication import PartnerSystem, caller_client


@atexit.register
def _redis_clients_drop():
    """Let the clients go while the interpreter is whole: a client collected at shutdown complains."""
    for backend in caches.all(initialized_only=True):
        backend.__dict__.pop("_rate_client", None)


def _redis_client(backend):
    """The Redis client of this cache backend, built once: Django's cache builds a new client object
    on every call, which costs more than the round trip itself. Kept on the backend object, so that
    another cache (a setting changed, a forked process's own backend) gets its own."""
    client = getattr(backend, "_rate_client", None)
    if client is None:
        client = backend._rate_client = backend._cache.get_client(write=True)
    return client


LEASE_FROM = 6000
LEASE_MAX = 16
LEASE_SPREAD = 1000
_leases: dict[str, list[int]] = {}  # window key: [hits left in this process's lease, last count seen]
_leases_lock = threading.Lock()


def window_take(key: str, ttl: int, limit: int) -> bool:
    """Let one hit through the window `key` (which lives `ttl` seconds) when it stays within
    `limit`: from this process's lease, or by counting a new lease on the shared count."""
    with _leases_lock:
        lease = _leases.get(key)
        if lease is not None and lease[0] > 0:
            lease[0] -= 1
            return True
        seen = lease[1] if lease is not None else 0
    size = 1
    if limit >= LEASE_FROM:
        size = max(1, min(LEASE_MAX, (limit - seen) // LEASE_SPREAD))
    count = window_count(key, ttl, size)
    granted = max(0, min(size, limit - (count - size)))
    with _leases_lock:
        if len(_leases) > 10000:  # the windows of past minutes and of keys gone quiet
            _leases.clear()
        _leases[key] = [max(0, granted - 1), count]
    return granted > 0


def window_count(key: str, ttl: int, hits: int = 1) -> int:
    """Count `hits` more hits on `key`, which lives `ttl` seconds; one round trip on Redis.

    INCR alone, and EXPIRE only with the window's first hit: a pipeline object copies redis-py's
    table of response callbacks each time it is built, which costs more than the round trip. A
    process that dies between the two leaves a key without expiry; its name holds the window's
    number, so it is never counted again."""
    backend = caches["default"]  # the backend itself: `cache` is a proxy, no instance of RedisCache
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        client = _redis_client(backend)
        count = int(client.incr(full_key, hits))
        if count == hits:
            client.expire(full_key, ttl)
        return count
    if cache.add(key, hits, ttl):
        return hits
    try:
        return cache.incr(key, hits)
    except ValueError:  # expired between the two calls
        cache.add(key, hits, ttl)
        return hits


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
        self._wait = (window + 1) * self.window_seconds - now
        return window_take(f"rate:{caller_client(request)}:{window}", self.window_seconds + 5, limit)

    def wait(self):
        return max(1, int(self._wait + 0.999))
