"""The registry of provider kinds: every kind declares all the registry promises, and the model's
choices (and the migrations that hold them) are the registry's kinds."""

import pytest
from django.db.migrations.loader import MigrationLoader
from django.urls import resolve
from django.utils.module_loading import import_string

from messaging.backends import BaseSmsBackend
from messaging.models import Provider
from messaging.providers.descriptor import COMMON_PROPERTIES, ProviderDescriptor, Text
from messaging.providers.registry import PROVIDER_KINDS, REGISTERED, descriptor_named, kind_choices
from messaging.services.providers.configuration import ENDPOINT_KEYS, SECRET_KEYS, property_is_secret

DESCRIPTORS = list(PROVIDER_KINDS.values())
KIND_FIELD = Provider._meta.get_field("kind")


def test_each_registry_line_is_one_kind():
    assert len(PROVIDER_KINDS) == len(REGISTERED)
    assert set(PROVIDER_KINDS) >= {"SMPP", "TWILIO", "NEXMO", "CONSOLE"}


@pytest.mark.parametrize("descriptor", DESCRIPTORS, ids=lambda descriptor: descriptor.kind)
def test_every_registered_kind_has_a_complete_descriptor(descriptor: ProviderDescriptor):
    assert isinstance(descriptor, ProviderDescriptor)
    assert descriptor.kind == descriptor.kind.strip().upper() and len(descriptor.kind) <= KIND_FIELD.max_length
    assert descriptor.label
    assert issubclass(import_string(descriptor.backend), BaseSmsBackend)
    assert callable(descriptor.readiness_check) and callable(descriptor.link_label)
    assert isinstance(descriptor.link_label({}), str)
    keys = [prop.key for prop in COMMON_PROPERTIES + descriptor.properties]
    assert len(keys) == len(set(keys)), "a key is declared twice, or shadows a common one"
    options = [prop.option for prop in COMMON_PROPERTIES + descriptor.properties]
    assert len(options) == len(set(options))
    for prop in descriptor.properties:
        assert prop.key and prop.option.isidentifier() and isinstance(prop.value, Text)
    assert descriptor.required_keys <= set(descriptor.keys)
    assert all(property_is_secret(key) for key in descriptor.secret_keys)
    assert descriptor.common_options <= {prop.option for prop in COMMON_PROPERTIES}


@pytest.mark.parametrize("descriptor", DESCRIPTORS, ids=lambda descriptor: descriptor.kind)
def test_every_callback_route_a_kind_declares_is_routed_to_its_view(descriptor: ProviderDescriptor):
    for route in descriptor.callbacks:
        match = resolve(f"/{route.path}")
        assert (match.url_name, match.func) == (route.name, import_string(route.view))
    if descriptor.status_callback:
        assert descriptor.status_callback_path(), "status_callback names none of its routes"


def test_a_kind_is_named_by_its_own_name_or_an_alias_whatever_the_case():
    names = [name for descriptor in DESCRIPTORS for name in (descriptor.kind, *descriptor.aliases)]
    assert len(names) == len(set(names))
    assert descriptor_named(" vonage ") is PROVIDER_KINDS["NEXMO"]
    assert descriptor_named("twilio") is PROVIDER_KINDS["TWILIO"]
    assert descriptor_named("SMTP") is None


def test_the_secret_and_endpoint_keys_are_every_kinds():
    assert SECRET_KEYS == {"Password", "Auth Token", "API Secret", "Signature Secret"}
    assert ENDPOINT_KEYS == {"Host", "Port", "Host URL"}


def test_the_model_choices_are_the_registered_kinds():
    assert KIND_FIELD.choices == kind_choices()
    assert [kind for kind, _ in KIND_FIELD.choices] == list(PROVIDER_KINDS)


def test_the_migrations_hold_the_registered_kinds():
    state = MigrationLoader(None, ignore_no_migrations=True).project_state()
    migrated = state.models["messaging", "provider"].fields["kind"].choices
    assert list(migrated) == kind_choices(), "a kind was registered without its migration (makemigrations)"
