"""The routes a batch is sent by, and the backends behind them.

Each process builds one backend per enabled provider and keeps it while the provider's row is
unchanged (its `updated_at`); a changed row gets a new backend. With no enabled provider the
backend named in settings (console by default, locmem in tests) carries everything.

A provider that fails as a whole (its connection refused, its credentials refused) is taken out
of the route for a while by a circuit kept per process, and its traffic goes to the next one.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass

from django.utils.module_loading import import_string

from messaging.backends import BaseSmsBackend, get_backend
from messaging.models import Provider
from messaging.providers.descriptor import truthy
from messaging.providers.registry import PROVIDER_KINDS, descriptor_of

from .configuration import provider_options
from .sinks import InboundSink, LinkSink, ReceiptSink, settings_inbound_sink, settings_receipt_sink

logger = logging.getLogger(__name__)

CIRCUIT_OPEN_SECONDS = 30.0


@dataclass
class Route:
    """One way out: a provider (None for the settings backend) and its backend."""

    name: str
    backend: BaseSmsBackend
    throughput: float = 0.0
    voice: bool = True
    sender: str = ""
    provider_id: int | None = None
    quiet_hours: tuple | None = None
    max_chars: int = 0


_lock = threading.Lock()
_built: dict[int, tuple[tuple, BaseSmsBackend]] = {}
_circuit_open_until: dict[str, float] = {}


def provider_backend(provider: Provider) -> BaseSmsBackend:
    """The process's backend for this provider row, built anew when the row changed, with the
    sinks that take what it receives to the database (sinks.py)."""
    version = (os.getpid(), provider.updated_at, provider.kind)
    with _lock:
        held = _built.get(provider.pk)
        if held is not None and held[0] == version:
            return held[1]
        if held is not None:
            try:
                held[1].close()
            except Exception:
                logger.warning("closing the old backend of %s failed", provider.name, exc_info=True)
        backend = import_string(descriptor_of(provider.kind).backend)(
            receipt_sink=ReceiptSink(provider.name),
            inbound_sink=InboundSink(provider.name),
            link_sink=LinkSink(provider.name),
            **provider_options(provider),
        )
        backend.name = provider.name
        _built[provider.pk] = (version, backend)
        return backend


def _whole(value) -> int:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else 0


def _route_of(provider: Provider) -> Route:
    properties = provider.properties or {}
    try:
        throughput = float(properties.get("Throughput") or 0)
    except ValueError:
        throughput = 0.0
    descriptor = PROVIDER_KINDS.get(provider.kind)
    can_call = descriptor is not None and descriptor.voice
    voice_flag = properties.get("Voice")
    voice = truthy(voice_flag) if voice_flag not in (None, "") else can_call
    return Route(
        name=provider.name,
        backend=provider_backend(provider),
        throughput=throughput,
        voice=voice and can_call,
        sender=properties.get("From") or "",
        provider_id=provider.pk,
        quiet_hours=(provider.quiet_hours_start, provider.quiet_hours_end) if provider.quiet_hours_enabled else None,
        max_chars=_whole(properties.get("Maximum Character Limit")),
    )


def routes_active() -> list[Route]:
    """The enabled providers by failover order; the settings backend when there is none."""
    routes = []
    for provider in Provider.objects.filter(enabled=True).order_by("order", "id"):
        try:
            routes.append(_route_of(provider))
        except Exception:
            logger.exception("provider %s could not be set up", provider.name)
            provider_circuit_open(name=provider.name)
    if routes:
        return routes
    if Provider.objects.filter(enabled=True).exists():
        return []
    backend = get_backend(receipt_sink=settings_receipt_sink, inbound_sink=settings_inbound_sink)
    return [Route(name=backend.name, backend=backend, throughput=0.0, voice=True, sender="")]


def provider_links_open() -> int:
    """Open the long-lived links (SMPP binds) of the enabled providers, or of the settings-chosen
    backend; a worker process does this when it starts, so that an SMSC can hand it receipts and
    members' texts (STOP) before it has sent anything. Returns how many links are open."""
    opened = 0
    for route in routes_active():
        try:
            opened += route.backend.connect()
        except Exception:
            logger.warning("the links of %s could not be opened", route.name, exc_info=True)
    return opened


def provider_circuit_open(*, name: str, seconds: float = CIRCUIT_OPEN_SECONDS) -> None:
    _circuit_open_until[name] = time.monotonic() + seconds
    logger.warning("provider %s is down; its traffic goes to the next provider for %.0f s", name, seconds)


def provider_circuit_is_open(*, name: str) -> bool:
    until = _circuit_open_until.get(name)
    if until is None:
        return False
    if time.monotonic() >= until:
        _circuit_open_until.pop(name, None)
        return False
    return True


def provider_circuits_reset() -> None:
    _circuit_open_until.clear()


def providers_forget() -> None:
    """Close and drop every backend built by this process."""
    with _lock:
        for _, backend in _built.values():
            try:
                backend.close()
            except Exception:
                logger.warning("closing a backend failed", exc_info=True)
        _built.clear()
