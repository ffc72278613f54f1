"""The gateway's settings (middleware, database, cache) with the URLconf of bench/comparators.py:
bench_api serves its comparators with these, never from the gateway's URLconf."""

from smsgateway.settings import *  # noqa: F403

ROOT_URLCONF = "bench.comparators"
