"""The gateway's settings with a URLconf that serves only the bare endpoint of bench_api."""

from smsgateway.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
