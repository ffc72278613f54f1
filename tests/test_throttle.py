"""The shared send rate: one clock per provider in Redis or the database, across processes."""

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import time_machine
from django.db import connection

from messaging.models import ThrottleBucket
from messaging.throttle import DATABASE, ThrottleBusy, throttle_store, throttle_take

REDIS = "redis://127.0.0.1:6379/6"
ROOT = Path(__file__).resolve().parent.parent

TAKER = """
import os, sys, time
import django
django.setup()
from messaging.models import ThrottleBucket
from messaging.throttle import throttle_take
provider, store, rate, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
print("ready", flush=True)
sys.stdin.readline()
started = time.time()
for _ in range(count):
    throttle_take(provider=provider, rate=rate, parts=1, max_wait=30, store=store)
print(started, time.time(), flush=True)
"""


def a_provider():
    return f"test-{uuid.uuid4().hex[:12]}"


def take_in_two_processes(*, store: str, rate: float, count: int, env: dict, provider: str = "") -> tuple[float, float]:
    """Two processes take `count` parts each at once; (earliest start, latest grant)."""
    provider = provider or a_provider()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, provider, store, str(rate), str(count)],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "smsgateway.settings", **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert [child.stdout.readline().strip() for child in children] == ["ready", "ready"]
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        spans = [tuple(map(float, child.stdout.readline().split())) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    return min(start for start, _ in spans), max(end for _, end in spans)


def test_no_rate_is_unlimited():
    assert throttle_take(provider=a_provider(), rate=0, parts=1000, store="redis://127.0.0.1:1/0") == 0


@pytest.mark.django_db
def test_the_database_clock_makes_the_next_taker_wait():
    provider = a_provider()
    with time_machine.travel(1_800_000_000, tick=False):
        throttle_take(provider=provider, rate=10, parts=5, store=DATABASE)
        with pytest.raises(ThrottleBusy) as busy:
            throttle_take(provider=provider, rate=10, parts=1, max_wait=0.1, store=DATABASE)
    assert busy.value.retry_after == pytest.approx(0.4)


@pytest.mark.django_db
def test_a_wait_within_max_wait_is_slept_and_returned(monkeypatch):
    slept = []
    monkeypatch.setattr("messaging.throttle.time.sleep", slept.append)
    provider = a_provider()
    with time_machine.travel(1_800_000_000, tick=False):
        throttle_take(provider=provider, rate=5, parts=1, store=DATABASE)
        assert throttle_take(provider=provider, rate=5, parts=1, store=DATABASE) == pytest.approx(0.2)
    assert slept == [pytest.approx(0.2)]


@pytest.mark.django_db
def test_a_refused_take_takes_nothing():
    provider = a_provider()
    with time_machine.travel(1_800_000_000, tick=False):
        throttle_take(provider=provider, rate=10, parts=5, store=DATABASE)
        for _ in range(3):
            with pytest.raises(ThrottleBusy):
                throttle_take(provider=provider, rate=10, parts=1, max_wait=0.1, store=DATABASE)
        with pytest.raises(ThrottleBusy) as busy:
            throttle_take(provider=provider, rate=10, parts=1, max_wait=0.1, store=DATABASE)
    assert busy.value.retry_after == pytest.approx(0.4)


def test_the_redis_clock_makes_the_next_taker_wait():
    """Redis's own clock runs on (it cannot be frozen): the wait is 0.4 s less what passed between
    the two takes, measured here."""
    provider = a_provider()
    first = time.monotonic()
    throttle_take(provider=provider, rate=10, parts=5, store=REDIS)
    with pytest.raises(ThrottleBusy) as busy:
        throttle_take(provider=provider, rate=10, parts=1, max_wait=0.1, store=REDIS)
    passed = time.monotonic() - first
    assert 0.4 - passed - 0.005 <= busy.value.retry_after <= 0.4
    assert redis.Redis.from_url(REDIS).exists(f"sms:throttle:{provider}")


def test_a_redis_broker_holds_the_clocks(settings):
    settings.THROTTLE_REDIS_URL, settings.CELERY_BROKER_URL = "", "redis://127.0.0.1:6379/6"
    assert throttle_store() == "redis://127.0.0.1:6379/6"


def test_without_redis_the_database_holds_the_clocks(settings, monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    settings.THROTTLE_REDIS_URL, settings.CELERY_BROKER_URL = "", "amqp://guest@127.0.0.1//"
    assert throttle_store() == DATABASE


@pytest.mark.slow  # two processes
def test_two_processes_on_redis_share_the_rate():
    rate, count, provider = 100.0, 20, a_provider()
    started, finished = take_in_two_processes(store=REDIS, rate=rate, count=count, env={}, provider=provider)
    assert finished - started >= (2 * count - 1) / rate
    # The clock was Redis's, not the database's that a taker falls back to when Redis is down.
    assert redis.Redis.from_url(REDIS).exists(f"sms:throttle:{provider}")


@pytest.mark.slow  # two processes
@pytest.mark.django_db(transaction=True)
def test_two_processes_on_the_database_share_the_rate(tmp_path):
    if connection.vendor == "sqlite":
        path = tmp_path / "throttle.sqlite3"
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            editor.create_model(ThrottleBucket)
        with sqlite3.connect(path) as shared:
            # WAL from the start, as migrate leaves the gateway's database: two processes that
            # both switch a fresh file to WAL as they connect can find it locked.
            shared.execute("PRAGMA journal_mode=WAL")
            shared.executescript("\n".join(editor.collected_sql))
        database_url = f"sqlite:///{path}"
    else:
        db = connection.settings_dict
        database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    rate, count = 100.0, 20
    started, finished = take_in_two_processes(
        store=DATABASE, rate=rate, count=count, env={"DATABASE_URL": database_url}
    )
    assert finished - started >= (2 * count - 1) / rate
