"""The provider kinds: one line per kind, each naming its descriptor by dotted path.

Adding a kind is one folder (messaging/providers/<kind>/) and one line here; docs/ARCHITECTURE.md
"Adding a provider" says what else follows (a migration for the model's choices).
"""

from django.utils.module_loading import import_string

from messaging.providers.descriptor import ProviderDescriptor

REGISTERED = (
    "messaging.providers.smpp.descriptor.SMPP",
    "messaging.providers.twilio.descriptor.TWILIO",
    "messaging.providers.nexmo.descriptor.NEXMO",
    "messaging.providers.console.descriptor.CONSOLE",
)

PROVIDER_KINDS: dict[str, ProviderDescriptor] = {
    descriptor.kind: descriptor for descriptor in map(import_string, REGISTERED)
}
# What the configuration API accepts for each kind: its own name and its aliases.
_NAMED = {name: descriptor for descriptor in PROVIDER_KINDS.values() for name in (descriptor.kind, *descriptor.aliases)}


def descriptor_of(kind: str) -> ProviderDescriptor:
    """The descriptor of a stored kind; KeyError for a kind no longer registered."""
    return PROVIDER_KINDS[kind]


def descriptor_named(name: str) -> ProviderDescriptor | None:
    """The kind a configuration names (`twilio`, `VONAGE`), or None."""
    return _NAMED.get(name.strip().upper())


def kind_choices() -> list[tuple[str, str]]:
    """The model's choices for Provider.kind, in the registry's order."""
    return [(descriptor.kind, descriptor.label) for descriptor in PROVIDER_KINDS.values()]


def secret_keys() -> frozenset[str]:
    """Every kind's secret keys: a saved secret is masked whatever kind the row has now."""
    return frozenset().union(*(descriptor.secret_keys for descriptor in PROVIDER_KINDS.values()))


def endpoint_keys() -> frozenset[str]:
    return frozenset().union(*(descriptor.endpoint_keys for descriptor in PROVIDER_KINDS.values()))
