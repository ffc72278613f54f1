"""What /readyz checks: the database, the broker and each enabled provider (by the check its
kind's descriptor declares). What the worker processes report of their SMPP binds is kept by
messaging/services/providers/links.py."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from messaging.models import Provider
from messaging.providers.registry import PROVIDER_KINDS
from smsgateway.celery import app

TIMEOUT_SECONDS = 2.0
CHECK_CACHE_PREFIX = "ops:provider-check:"
CHECK_CACHE_SECONDS = 3600


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check()
        ok = True
    except Exception as error:  # each check reports its own failure; readiness is their sum
        detail, ok = f"{type(error).__name__}: {error}"[:300], False
    return {"ok": ok, "detail": detail, "ms": round((time.monotonic() - started) * 1000, 1)}


def database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def broker_check() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
        return conn.transport.driver_type


def provider_check(provider: Provider) -> str:
    """The readiness check its kind declares (its descriptor's `readiness_check`): an SMPP
    provider must accept a TCP connection on its host and port, an HTTP provider is reported as
    configured (dialling an HTTP API would cost a request or need its credentials)."""
    descriptor = PROVIDER_KINDS.get(provider.kind)
    if descriptor is None:
        return "configured"
    return descriptor.readiness_check(provider.properties, timeout=TIMEOUT_SECONDS)


def provider_check_remember(name: str, check: dict) -> None:
    """Keep the last check of a provider for the dashboard, which never dials one itself."""
    try:
        cache.set(f"{CHECK_CACHE_PREFIX}{name}", {**check, "at": timezone.now().isoformat()}, CHECK_CACHE_SECONDS)
    except Exception:  # a cache that is down must not fail readiness of the rest
        pass


def provider_check_last(name: str) -> dict | None:
    try:
        return cache.get(f"{CHECK_CACHE_PREFIX}{name}")
    except Exception:
        return None


READINESS_CACHE_KEY = "ops:readiness"


def readiness_checks_cached() -> dict[str, dict]:
    """The last readiness checks of this cache, run again when READYZ_CACHE_SECONDS have passed:
    a probe (or a stranger) calling /readyz in a loop dials each SMSC at most that often."""
    seconds = getattr(settings, "READYZ_CACHE_SECONDS", 10.0)
    try:
        checks = cache.get(READINESS_CACHE_KEY) if seconds > 0 else None
    except Exception:  # a cache that is down: check now
        checks = None
    if checks is None:
        checks = readiness_checks()
        try:
            if seconds > 0:
                cache.set(READINESS_CACHE_KEY, checks, seconds)
        except Exception:
            pass
    return checks


def readiness_checks() -> dict[str, dict]:
    checks = {"database": _timed(database_check)}
    if not checks["database"]["ok"]:
        return checks
    checks["broker"] = _timed(broker_check)
    for provider in Provider.objects.filter(enabled=True):
        check = _timed(lambda provider=provider: provider_check(provider))
        checks[f"provider:{provider.name}"] = check
        provider_check_remember(provider.name, check)
    if not any(name.startswith("provider:") for name in checks):
        checks["provider:" + settings.SMS_BACKEND.rsplit(".", 1)[-1]] = {"ok": True, "detail": "backend", "ms": 0.0}
    return checks
