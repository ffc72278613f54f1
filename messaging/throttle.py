"""A provider's send rate in message parts per second, shared by every worker process and machine.

Each provider has one clock, `ready_at`: the moment from which its next part may go. Taking
`parts` moves it on by parts / rate and tells the taker how long to wait first (a generic cell
rate algorithm: no burst beyond the parts taken at once, so in any window of T seconds at most
rate * T + parts go out). The clock lives in Redis (one Lua script, Redis's own time) when a
Redis URL is configured, THROTTLE_REDIS_URL first, else CELERY_BROKER_URL or CACHE_URL when
they are redis://; otherwise in the database (a ThrottleBucket row per provider, moved by one
upsert statement), which also works on SQLite.

    waited = throttle_take(provider="smpp-main", rate=100, parts=3, max_wait=30)

blocks until the parts may go and returns the seconds it waited; rate 0 (or less) is
unlimited. When the wait would pass max_wait it takes nothing and raises ThrottleBusy, whose
retry_after says when to ask again.
"""

import atexit
import logging
import os
import threading
import time

import redis
from django.conf import settings
from django.db import connection

from messaging.models import ThrottleBucket

logger = logging.getLogger(__name__)

DATABASE = "database"

_REDIS_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local cost = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local ready = tonumber(redis.call('GET', KEYS[1]) or '0')
if ready < now then ready = now end
local wait = ready - now
if wait > max_wait then
  return {0, string.format('%.6f', wait - max_wait)}
end
local next_ready = ready + cost
redis.call('SET', KEYS[1], string.format('%.6f', next_ready), 'PX', math.ceil((next_ready - now) * 1000) + 60000)
return {1, string.format('%.6f', wait)}
"""

_clients: dict[tuple[int, str], tuple] = {}
_clients_lock = threading.Lock()


class ThrottleBusy(Exception):
    def __init__(self, provider: str, retry_after: float):
        super().__init__(f"{provider}: send rate taken for the next {retry_after:.1f}s")
        self.provider = provider
        self.retry_after = retry_after


def throttle_store() -> str:
    """The Redis URL that holds the shared clocks, or "database"."""
    candidates = [
        getattr(settings, "THROTTLE_REDIS_URL", "") or os.environ.get("THROTTLE_REDIS_URL", ""),
        getattr(settings, "CELERY_BROKER_URL", ""),
        os.environ.get("CACHE_URL", ""),
    ]
    for url in candidates:
        if url == DATABASE:
            return DATABASE
        if url.startswith(("redis://", "rediss://", "unix://")):
            return url
    return DATABASE


def throttle_take(*, provider: str, rate: float, parts: int = 1, max_wait: float = 30.0, store: str = "") -> float:
    """Wait until `parts` message parts of `provider` may go at `rate` parts per second across
    all processes; returns the seconds waited. Raises ThrottleBusy, taking nothing, when that
    would be longer than max_wait."""
    if rate <= 0 or parts <= 0:
        return 0.0
    store = store or throttle_store()
    cost = parts / rate
    wait = None
    if store != DATABASE:
        try:
            wait = _take_redis(store, provider=provider, cost=cost, max_wait=max_wait)
        except ThrottleBusy:
            raise
        except Exception as error:  # Redis down: the database still holds a shared clock
            logger.warning("throttle: Redis unavailable (%s); using the database", error)
    if wait is None:
        wait = _take_database(provider=provider, cost=cost, max_wait=max_wait)
    if wait > 0:
        time.sleep(wait)
    return wait


def _redis(url: str):
    """One client per process and URL (redis-py's pool is thread-safe), closed at exit."""
    key = (os.getpid(), url)
    with _clients_lock:
        if key not in _clients:
            if not _clients:
                atexit.register(_redis_close)
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            _clients[key] = (client, client.register_script(_REDIS_TAKE))
        return _clients[key]


def _redis_close() -> None:
    with _clients_lock:
        for client, _ in _clients.values():
            try:
                client.close()
            except Exception:
                pass
        _clients.clear()


def _take_redis(url: str, *, provider: str, cost: float, max_wait: float) -> float:
    _, take = _redis(url)
    granted, seconds = take(keys=[f"sms:throttle:{provider}"], args=[f"{cost:.9f}", f"{max_wait:.6f}"])
    if not int(granted):
        raise ThrottleBusy(provider, float(seconds))
    return float(seconds)


def _take_database(*, provider: str, cost: float, max_wait: float) -> float:
    table = connection.ops.quote_name(ThrottleBucket._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    now = time.time()
    sql = (
        f"INSERT INTO {table} (provider, ready_at) VALUES (%s, %s) "
        f"ON CONFLICT (provider) DO UPDATE SET ready_at = {greatest}({table}.ready_at, %s) + %s "
        f"WHERE {greatest}({table}.ready_at, %s) - %s <= %s "
        "RETURNING ready_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [provider, now + cost, now, cost, now, now, max_wait])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"SELECT ready_at FROM {table} WHERE provider = %s", [provider])
            ready = cursor.fetchone()
            raise ThrottleBusy(provider, max(0.0, (ready[0] if ready else now) - now - max_wait))
    return max(0.0, row[0] - cost - now)
