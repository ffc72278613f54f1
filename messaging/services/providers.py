"""Providers configured in the database (CONTRACT section 8) and the backends built from them.

Each process builds one backend per enabled provider and keeps it while the provider's row is
unchanged (its `updated_at`); a changed row gets a new backend. With no enabled provider the
backend named in settings (console by default, locmem in tests) carries everything.

A provider that fails as a whole (its connection refused, its credentials refused) is taken out
of the route for a while by a circuit kept per process, and its traffic goes to the next one.
"""

import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

from messaging.backends import BaseSmsBackend, get_backend
from messaging.models import Provider, ProviderKind

from . import inbound, receipts
from .provider_links import provider_links_remember

logger = logging.getLogger(__name__)

INVALID_KEYS = "Invalid keys provided"
DETAILS_UPDATED = "Details updated successfully"
MASK = "********"
CIRCUIT_OPEN_SECONDS = 30.0

COMMON_KEYS = {"Throughput": "throughput", "Maximum Character Limit": "max_chars", "From": "sender", "Voice": "voice"}
KIND_KEYS = {
    ProviderKind.SMPP: {
        "Host": "host",
        "Port": "port",
        "System ID": "system_id",
        "Password": "password",
        "System Type": "system_type",
        "Binds": "binds",
        "Window": "window",
        "Source TON": "source_ton",
        "Source NPI": "source_npi",
        # The bases the SMSC writes message ids in: submit_sm_resp and receipts (10 or 16).
        "Submit ID Base": "submit_id_base",
        "Receipt ID Base": "receipt_id_base",
    },
    ProviderKind.TWILIO: {"Account SID": "account_sid", "Auth Token": "auth_token", "Host URL": "host_url"},
    ProviderKind.NEXMO: {
        "API Key": "api_key",
        "API Secret": "api_secret",
        "Signature Secret": "signature_secret",
        "Host URL": "host_url",
    },
    ProviderKind.CONSOLE: {},
}
REQUIRED_KEYS = {
    ProviderKind.SMPP: {"Host", "Port", "System ID"},
    ProviderKind.TWILIO: {"Account SID", "Auth Token"},
    ProviderKind.NEXMO: {"API Key", "API Secret"},
    ProviderKind.CONSOLE: set(),
}
SECRET_KEYS = {"Password", "Auth Token", "API Secret", "Signature Secret"}
# Where a provider's traffic (and with it its credentials) goes.
ENDPOINT_KEYS = {"Host", "Port", "Host URL"}
_SECRET_WORDS = {"password", "secret", "token", "passphrase", "credential", "credentials"}
_ENDPOINT_WORDS = {"host", "hostname", "url", "uri", "port", "endpoint", "address", "server", "domain"}
INTEGER_RANGES = {
    "Port": (1, 65535),
    "Binds": (1, 64),
    "Window": (1, 10000),
    "Source TON": (0, 255),
    "Source NPI": (0, 255),
    "Maximum Character Limit": (1, 100000),
    "Submit ID Base": (10, 16),
    "Receipt ID Base": (10, 16),
}
INTEGER_KEYS = set(INTEGER_RANGES)
ID_BASE_KEYS = {"Submit ID Base", "Receipt ID Base"}
BACKEND_PATHS = {
    ProviderKind.SMPP: "messaging.backends.smpp.SmppBackend",
    ProviderKind.TWILIO: "messaging.backends.twilio.TwilioBackend",
    ProviderKind.NEXMO: "messaging.backends.vonage.VonageBackend",
    ProviderKind.CONSOLE: "messaging.backends.console.ConsoleBackend",
}
# Kinds whose backend can place a voice call.
VOICE_KINDS = {ProviderKind.TWILIO, ProviderKind.CONSOLE}


class ProviderConfigError(ValueError):
    """A provider configuration that cannot be stored; its text is the API's answer."""


def _truthy(value) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes", "on"}


def _bool_field(value, key: str) -> bool:
    text = str(value).strip().lower()
    if isinstance(value, bool):
        return value
    if text in {"true", "false"}:
        return text == "true"
    raise ProviderConfigError(f"Invalid value for {key}")


def _properties_from(payload_properties) -> dict[str, str]:
    if payload_properties is None:
        return {}
    if isinstance(payload_properties, dict) and "key" not in payload_properties and len(payload_properties) == 1:
        # XML: <properties><property><key>…</key><value>…</value></property>…</properties>
        (payload_properties,) = payload_properties.values()
    if isinstance(payload_properties, dict):  # XML gives one property as an object
        payload_properties = [payload_properties]
    if not isinstance(payload_properties, list):
        raise ProviderConfigError(INVALID_KEYS)
    properties = {}
    for item in payload_properties:
        if not isinstance(item, dict) or "key" not in item or "value" not in item:
            raise ProviderConfigError(INVALID_KEYS)
        properties[str(item["key"]).strip()] = "" if item["value"] is None else str(item["value"]).strip()
    return properties


def _check_values(properties: dict[str, str]) -> None:
    for key, value in properties.items():
        if key in INTEGER_KEYS and value != "":
            low, high = INTEGER_RANGES[key]
            if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
                raise ProviderConfigError(f"Invalid value for {key}")
        if key in ID_BASE_KEYS and value not in ("", "10", "16"):
            raise ProviderConfigError(f"Invalid value for {key}")
        if key == "Throughput" and value != "":
            try:
                if not 0 <= float(value) <= 1_000_000:
                    raise ValueError
            except ValueError:
                raise ProviderConfigError(f"Invalid value for {key}") from None
        if key == "Voice" and value != "":
            _bool_field(value, key)


def _words(key: str) -> set[str]:
    return set(re.findall(r"[a-z]+", key.lower()))


def property_is_secret(key: str) -> bool:
    """A property never shown again once saved: the known secrets and any key named like one."""
    return key in SECRET_KEYS or bool(_words(key) & _SECRET_WORDS)


def property_is_endpoint(key: str) -> bool:
    """A property that says where the provider is: a host, URL or port, or any key named like one."""
    return key in ENDPOINT_KEYS or bool(_words(key) & _ENDPOINT_WORDS)


def properties_masked(properties: dict) -> dict:
    """The properties as they may be shown: every secret that has a value as the mask."""
    return {
        key: MASK if property_is_secret(key) and value not in (None, "") else value for key, value in properties.items()
    }


def provider_properties_merge(*, stored: dict, given: dict, replace: bool, moved: bool = False) -> dict:
    """The properties a save leaves. A secret given as the mask keeps its stored value. With
    `replace` the given properties are the whole set (the admin's form); without, they update the
    stored ones (the API). When the save changes a host, URL or port (or `moved`: the kind changed),
    every secret that would stay must be given again in the same save: one kept from before would
    otherwise be carried to the new address by the next send, or by the next SMPP bind."""
    merged = {} if replace else dict(stored)
    for key, value in given.items():
        if property_is_secret(key) and value == MASK:
            if stored.get(key) not in (None, ""):
                merged[key] = stored[key]
            continue
        merged[key] = value
    changed = sorted(
        key
        for key in set(stored) | set(merged)
        if property_is_endpoint(key) and str(stored.get(key, "")) != str(merged.get(key, ""))
    )
    if not (changed or moved):
        return merged
    kept = sorted(
        key
        for key, value in merged.items()
        if property_is_secret(key) and value not in (None, "") and given.get(key, MASK) == MASK
    )
    if kept:
        what = " and ".join(changed) if changed else "the provider's kind"
        raise ProviderConfigError(
            f"Changing {what} requires {', '.join(kept)} to be entered again:"
            " a saved secret is never sent to a new address"
        )
    return merged


def provider_config_save(*, payload) -> Provider:
    """Create or update one provider by name from the Volt MX shape."""
    if not isinstance(payload, dict):
        raise ProviderConfigError(INVALID_KEYS)
    known_top = {"provider", "name", "enabled", "order", "properties"}
    if "provider" not in payload or set(payload) - known_top:
        raise ProviderConfigError(INVALID_KEYS)
    kind = str(payload["provider"]).strip().upper()
    if kind == "VONAGE":
        kind = ProviderKind.NEXMO
    if kind not in KIND_KEYS:
        raise ProviderConfigError(INVALID_KEYS)
    name = str(payload.get("name") or kind).strip()[:100]
    properties = _properties_from(payload.get("properties"))
    allowed = set(COMMON_KEYS) | set(KIND_KEYS[kind])
    if set(properties) - allowed:
        raise ProviderConfigError(INVALID_KEYS)
    _check_values(properties)
    enabled = _bool_field(payload["enabled"], "enabled") if "enabled" in payload else None
    order = None
    if "order" in payload:
        order_text = str(payload["order"]).strip()
        if not (order_text.isascii() and order_text.isdigit()) or int(order_text) > 1_000_000:
            raise ProviderConfigError("Invalid value for order")
        order = int(order_text)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(name=name).first()
        if provider is None:
            provider = Provider(name=name, kind=kind, properties={})
        elif provider.kind != kind:
            provider.properties = {}
            provider.kind = kind
        # A listing posted back keeps the stored secrets; a new address needs them typed again.
        merged = provider_properties_merge(stored=provider.properties, given=properties, replace=False)
        if REQUIRED_KEYS[kind] - {key for key, value in merged.items() if value}:
            raise ProviderConfigError(INVALID_KEYS)
        provider.properties = merged
        if enabled is not None:
            provider.enabled = enabled
        if order is not None:
            provider.order = order
        provider.save()
    return provider


def provider_config_list() -> list[dict]:
    """Every provider in the Volt MX shape, secrets masked."""
    listing = []
    for provider in Provider.objects.order_by("order", "id"):
        listing.append(
            {
                "id": str(provider.pk),
                "provider": provider.kind,
                "name": provider.name,
                "enabled": "true" if provider.enabled else "false",
                "order": str(provider.order),
                "properties": [
                    {"key": key, "value": value} for key, value in properties_masked(provider.properties).items()
                ],
            }
        )
    return listing


def provider_options(provider: Provider) -> dict:
    """The backend options of a provider, from its properties."""
    options: dict = {"name": provider.name}
    keys = {**COMMON_KEYS, **KIND_KEYS.get(provider.kind, {})}
    for key, value in provider.properties.items():
        option = keys.get(key)
        if option is None or value == "":
            continue
        if key in INTEGER_KEYS:
            options[option] = int(value)
        elif key == "Throughput":
            options[option] = float(value)
        elif key == "Voice":
            options[option] = _truthy(value)
        else:
            options[option] = value
    options.pop("max_chars", None)
    options.pop("voice", None)
    if provider.kind in (ProviderKind.TWILIO, ProviderKind.NEXMO):
        base = getattr(settings, "SMS_CALLBACK_BASE_URL", "").rstrip("/")
        if base:
            kind = "twilio" if provider.kind == ProviderKind.TWILIO else "nexmo"
            options["status_callback"] = f"{base}/api/v1/callbacks/{kind}/status"
        options.pop("throughput", None)
    if provider.kind == ProviderKind.CONSOLE:
        options = {"name": provider.name, **({"sender": options["sender"]} if "sender" in options else {})}
    return options


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


def _store_sink(store):
    """A sink that hands what a backend's own thread received to `store`, and raises when it
    could not be stored, so that the backend has it sent again. The backend's threads hold no
    database connection between deliveries."""

    def sink(items):
        try:
            store(list(items))
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    return sink


def _receipt_sink_for(provider_name: str):
    return _store_sink(lambda items: receipts.receipts_record(receipts=items, provider=provider_name))


def _inbound_sink_for(provider_name: str):
    return _store_sink(lambda items: inbound.inbound_texts_receive(texts=items, provider=provider_name))


def _link_sink_for(provider_name: str):
    process = f"{socket.gethostname()}:{os.getpid()}"

    def sink(alive: int, total: int) -> None:
        provider_links_remember(provider_name, process, alive, total)

    return sink


def _settings_receipt_sink(receipts) -> None:
    """The receipt sink of the settings-chosen backend (SMS_BACKEND), recorded under its name."""
    _receipt_sink_for(get_backend().name)(receipts)


def _settings_inbound_sink(texts) -> None:
    _inbound_sink_for(get_backend().name)(texts)


def provider_backend(provider: Provider) -> BaseSmsBackend:
    """The process's backend for this provider row, built anew when the row changed."""
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
        backend = import_string(BACKEND_PATHS[provider.kind])(
            receipt_sink=_receipt_sink_for(provider.name),
            inbound_sink=_inbound_sink_for(provider.name),
            link_sink=_link_sink_for(provider.name),
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
    voice_flag = properties.get("Voice")
    voice = _truthy(voice_flag) if voice_flag not in (None, "") else provider.kind in VOICE_KINDS
    return Route(
        name=provider.name,
        backend=provider_backend(provider),
        throughput=throughput,
        voice=voice and provider.kind in VOICE_KINDS,
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
    backend = get_backend(receipt_sink=_settings_receipt_sink, inbound_sink=_settings_inbound_sink)
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
