"""Which provider carries a message: failover order, character limits, the settings fallback."""

import pytest

from messaging.backends import locmem
from messaging.models import Provider, Recipient
from messaging.services.dispatch import dispatch_batch
from messaging.services.providers import routing
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db
LONG = "x" * 200


@pytest.fixture(autouse=True)
def _fresh_registry():
    routing.providers_forget()
    routing.provider_circuits_reset()
    yield
    routing.providers_forget()
    routing.provider_circuits_reset()


def test_with_no_provider_the_settings_backend_sends():
    RecipientFactory()
    dispatch_batch()
    assert (len(locmem.outbox), Recipient.objects.get().provider) == (1, "locmem")


def test_the_provider_first_in_order_carries_the_message():
    Provider.objects.create(name="second", kind="CONSOLE", order=2)
    Provider.objects.create(name="first", kind="CONSOLE", order=1)
    RecipientFactory()
    dispatch_batch()
    assert Recipient.objects.get().provider == "first"


def test_a_disabled_provider_carries_nothing():
    Provider.objects.create(name="off", kind="CONSOLE", order=1, enabled=False)
    Provider.objects.create(name="on", kind="CONSOLE", order=2)
    RecipientFactory()
    dispatch_batch()
    assert Recipient.objects.get().provider == "on"


def test_a_text_longer_than_a_providers_limit_goes_to_the_next_provider():
    Provider.objects.create(name="short", kind="CONSOLE", order=1, properties={"Maximum Character Limit": "160"})
    Provider.objects.create(name="long", kind="CONSOLE", order=2)
    long_one = RecipientFactory(message__content=LONG)
    dispatch_batch()
    long_one.refresh_from_db()
    assert long_one.provider == "long"


def test_a_text_within_the_limit_stays_with_the_first_provider():
    Provider.objects.create(name="short", kind="CONSOLE", order=1, properties={"Maximum Character Limit": "160"})
    Provider.objects.create(name="long", kind="CONSOLE", order=2)
    RecipientFactory(message__content="short text")
    dispatch_batch()
    assert Recipient.objects.get().provider == "short"


def test_a_text_longer_than_every_limit_is_rejected():
    Provider.objects.create(name="short", kind="CONSOLE", properties={"Maximum Character Limit": "160"})
    recipient = RecipientFactory(message__content=LONG)
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.error_code) == ("rejected", "too-long")


def test_a_provider_whose_circuit_is_open_is_passed_over():
    Provider.objects.create(name="first", kind="CONSOLE", order=1)
    Provider.objects.create(name="second", kind="CONSOLE", order=2)
    routing.provider_circuit_open(name="first")
    RecipientFactory()
    dispatch_batch()
    assert Recipient.objects.get().provider == "second"


def test_with_every_circuit_open_nothing_is_claimed():
    Provider.objects.create(name="only", kind="CONSOLE")
    routing.provider_circuit_open(name="only")
    recipient = RecipientFactory()
    dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.attempts) == ("initial", 0)


def test_the_providers_sender_is_used(capsys):
    Provider.objects.create(name="acme", kind="CONSOLE", properties={"From": "ACME"})
    RecipientFactory(phone="+14155550100")
    dispatch_batch()
    assert "SMS to +14155550100 from ACME" in capsys.readouterr().out


def test_without_a_provider_the_gateways_default_sender_is_used():
    RecipientFactory()
    dispatch_batch()
    assert locmem.outbox[0].sender == "SMSGW"
