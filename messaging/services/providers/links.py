"""The long-lived links (SMPP binds) each worker process reports to a provider, kept in the cache
for the console: the dashboard reads them and never dials a provider itself."""

import time

from django.core.cache import cache

LINKS_CACHE_PREFIX = "ops:provider-links:"
LINKS_STALE_SECONDS = 60


def provider_links_remember(name: str, process: str, alive: int, total: int) -> None:
    """Keep what one worker process says of its binds to a provider (it says so when a bind opens
    or drops, and every LINK_REPORT_SECONDS); a process silent for a minute is forgotten. Two
    processes reporting at once may lose one report, which the next one restores."""
    key = f"{LINKS_CACHE_PREFIX}{name}"
    now = time.time()
    try:
        held = cache.get(key) or {}
        held = {proc: entry for proc, entry in held.items() if now - entry["at"] < LINKS_STALE_SECONDS}
        held[process] = {"alive": alive, "total": total, "at": now}
        cache.set(key, held, LINKS_STALE_SECONDS * 2)
    except Exception:  # the console's view must never disturb sending
        pass


def provider_links_last(name: str) -> dict | None:
    """{"alive", "total", "processes", "age"} summed over the processes heard from in the last
    minute, or None when none was."""
    try:
        held = cache.get(f"{LINKS_CACHE_PREFIX}{name}") or {}
    except Exception:
        return None
    now = time.time()
    fresh = [entry for entry in held.values() if now - entry["at"] < LINKS_STALE_SECONDS]
    if not fresh:
        return None
    return {
        "alive": sum(entry["alive"] for entry in fresh),
        "total": sum(entry["total"] for entry in fresh),
        "processes": len(fresh),
        "age": max(0.0, now - max(entry["at"] for entry in fresh)),
    }
