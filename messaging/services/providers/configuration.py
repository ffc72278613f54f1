"""A provider's configuration: which properties its kind takes and what their values may be
(its descriptor, messaging/providers/<kind>/descriptor.py), saving and listing providers in the
Volt MX shape (CONTRACT section 8) with their secrets masked, and the backend options a provider
row becomes."""

import re

from django.conf import settings
from django.db import transaction

from audiences.booleans import boolean_from_text
from messaging.models import Provider
from messaging.providers.descriptor import COMMON_PROPERTIES, ProviderDescriptor
from messaging.providers.registry import descriptor_named, descriptor_of, endpoint_keys, secret_keys
from smsgateway.columns import fit

INVALID_KEYS = "Invalid keys provided"
DETAILS_UPDATED = "Details updated successfully"
MASK = "********"

SECRET_KEYS = secret_keys()
# Where a provider's traffic (and with it its credentials) goes.
ENDPOINT_KEYS = endpoint_keys()
_SECRET_WORDS = {"password", "secret", "token", "passphrase", "credential", "credentials"}
_ENDPOINT_WORDS = {"host", "hostname", "url", "uri", "port", "endpoint", "address", "server", "domain"}
_TOP_KEYS = {"provider", "name", "enabled", "order", "properties"}


class ProviderConfigError(ValueError):
    """A provider configuration that cannot be stored; its text is the API's answer."""


def _bool_field(value, key: str) -> bool:
    flag = boolean_from_text(value)
    if flag is None:
        raise ProviderConfigError(f"Invalid value for {key}")
    return flag


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


def properties_check(descriptor: ProviderDescriptor, properties: dict[str, str]) -> None:
    """Refuse a key the kind does not take, and a value outside its key's rule."""
    if set(properties) - set(descriptor.keys):
        raise ProviderConfigError(INVALID_KEYS)
    for key, value in properties.items():
        if value != "" and not descriptor.keys[key].value.valid(value):
            raise ProviderConfigError(f"Invalid value for {key}")


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


def _order_from(payload: dict) -> int | None:
    if "order" not in payload:
        return None
    order_text = str(payload["order"]).strip()
    if not (order_text.isascii() and order_text.isdigit()) or int(order_text) > 1_000_000:
        raise ProviderConfigError("Invalid value for order")
    return int(order_text)


def provider_config_save(*, payload) -> Provider:
    """Create or update one provider by name from the Volt MX shape."""
    if not isinstance(payload, dict):
        raise ProviderConfigError(INVALID_KEYS)
    if "provider" not in payload or set(payload) - _TOP_KEYS:
        raise ProviderConfigError(INVALID_KEYS)
    descriptor = descriptor_named(str(payload["provider"]))
    if descriptor is None:
        raise ProviderConfigError(INVALID_KEYS)
    kind = descriptor.kind
    name = fit(Provider, "name", str(payload.get("name") or kind).strip())
    properties = _properties_from(payload.get("properties"))
    properties_check(descriptor, properties)
    enabled = _bool_field(payload["enabled"], "enabled") if "enabled" in payload else None
    order = _order_from(payload)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(name=name).first()
        if provider is None:
            provider = Provider(name=name, kind=kind, properties={})
        elif provider.kind != kind:
            provider.properties = {}
            provider.kind = kind
        # A listing posted back keeps the stored secrets; a new address needs them typed again.
        merged = provider_properties_merge(stored=provider.properties, given=properties, replace=False)
        if descriptor.required_keys - {key for key, value in merged.items() if value}:
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
    """The backend options of a provider, from its properties: each key its kind takes, as its
    rule reads it, and of the common ones only those the kind's backend is given; a kind with a
    status callback route gets its URL under SMS_CALLBACK_BASE_URL."""
    descriptor = descriptor_of(provider.kind)
    options: dict = {"name": provider.name}
    for key, value in provider.properties.items():
        prop = descriptor.keys.get(key)
        if prop is None or value == "":
            continue
        # Every value is read, even one the backend is not given: a stored value its rule cannot
        # read keeps the provider from being set up (routing opens its circuit).
        options[prop.option] = prop.value.option(value)
    for prop in COMMON_PROPERTIES:
        if prop.option not in descriptor.common_options:
            options.pop(prop.option, None)
    callback = descriptor.status_callback_path()
    base = getattr(settings, "SMS_CALLBACK_BASE_URL", "").rstrip("/")
    if callback and base:
        options["status_callback"] = f"{base}/{callback}"
    return options
