"""An SMPP provider configured in the database, end to end against the loopback SMSC: dispatch
through the registry's backend, and receipts back through its receipt sink to `delivered`."""

import time

import pytest

from messaging.backends import backends_forget
from messaging.models import InboundSms, Provider, Recipient
from messaging.services.dispatch import dispatch_due_run
from messaging.services.providers import routing
from tests.factories import MemberFactory, RecipientFactory
from tests.peers.smsc import ESME_RINVDSTADR, LoopbackSmsc

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # slow: the loopback SMSC, on committed rows


@pytest.fixture
def smsc():
    peer = LoopbackSmsc(receipts=True, resp_id_format="{:08X}", receipt_id_format="{:d}").start()
    routing.providers_forget()
    routing.provider_circuits_reset()
    yield peer
    routing.providers_forget()
    routing.provider_circuits_reset()
    peer.stop()


@pytest.fixture
def smpp_provider(smsc):
    return Provider.objects.create(
        name="carrier-a",
        kind="SMPP",
        properties={"Host": "127.0.0.1", "Port": str(smsc.port), "System ID": "gateway", "Password": "pw"},
    )


def settled(count: int, seconds: float = 10.0) -> list[str]:
    """The states once `count` rows are final (receipts arrive on the backend's own thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        states = list(Recipient.objects.order_by("id").values_list("state", flat=True))
        if sum(state in ("delivered", "undelivered", "rejected") for state in states) >= count:
            return states
        time.sleep(0.05)
    return list(Recipient.objects.order_by("id").values_list("state", flat=True))


def test_texts_go_through_the_configured_smpp_provider(smsc, smpp_provider):
    RecipientFactory.create_batch(3)
    dispatch_due_run(seconds=5)
    assert (len(smsc.taken), set(Recipient.objects.values_list("provider", flat=True))) == (3, {"carrier-a"})


def test_receipts_in_another_id_form_mark_the_recipients_delivered(smsc, smpp_provider):
    RecipientFactory.create_batch(3)
    dispatch_due_run(seconds=5)
    assert settled(3) == ["delivered"] * 3


def test_a_refused_destination_is_rejected(smsc, smpp_provider):
    recipient = RecipientFactory(phone="+14155550199")
    smsc.reject["14155550199"] = ESME_RINVDSTADR
    smsc.reject["+14155550199"] = ESME_RINVDSTADR
    dispatch_due_run(seconds=5)
    recipient.refresh_from_db()
    assert recipient.state == "rejected"


@pytest.fixture
def smpp_by_settings(smsc, settings):
    settings.SMS_BACKEND = "messaging.backends.smpp.SmppBackend"
    settings.SMS_BACKEND_OPTIONS = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": "gateway",
        "name": "by-settings",
    }
    backends_forget()
    yield
    backends_forget()


def test_receipts_reach_the_store_when_the_smpp_link_is_chosen_by_settings(smsc, smpp_by_settings):
    RecipientFactory.create_batch(3)
    dispatch_due_run(seconds=5)
    assert settled(3) == ["delivered"] * 3


def _kept(count: int, seconds: float = 5.0) -> list:
    deadline = time.monotonic() + seconds
    while InboundSms.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(InboundSms.objects.order_by("id").values_list("phone", "text", "action", "provider", "sent_to"))


def test_stop_sent_over_smpp_opts_the_member_out(smsc, smpp_provider):
    member = MemberFactory(mobile="+14155550123")
    RecipientFactory()
    dispatch_due_run(seconds=5)  # opens the bind the SMSC hands texts to
    assert smsc.send_mo("14155550123", "12345", b"STOP") == 0
    assert _kept(1) == [("+14155550123", "STOP", "opt-out", "carrier-a", "12345")]
    member.refresh_from_db()
    assert member.sms_subscription is False


def test_a_text_over_a_link_chosen_by_settings_is_kept(smsc, smpp_by_settings):
    RecipientFactory()
    dispatch_due_run(seconds=5)
    assert smsc.send_mo("254712345678", "12345", "Asante 👍".encode("utf-16-be"), data_coding=8) == 0
    assert _kept(1) == [("+254712345678", "Asante 👍", "", "by-settings", "12345")]


def test_a_starting_worker_opens_the_providers_binds_and_takes_stop_before_any_send(smsc, smpp_provider):
    from messaging.tasks import links_open_in_background

    member = MemberFactory(mobile="+14155550123")
    links_open_in_background().join(10)
    deadline = time.monotonic() + 5
    while smsc.stats()["binds"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert smsc.stats()["binds"] == 1
    assert smsc.send_mo("14155550123", "12345", b"stop") == 0
    assert _kept(1) == [("+14155550123", "stop", "opt-out", "carrier-a", "12345")]
    member.refresh_from_db()
    assert member.sms_subscription is False


def _state_becomes(provider, text: str, seconds: float = 5.0) -> str:
    from ops.selectors import provider_state

    deadline = time.monotonic() + seconds
    state = provider_state(provider)
    while text not in state and time.monotonic() < deadline:
        time.sleep(0.05)
        state = provider_state(provider)
    return state


def test_the_console_shows_the_binds_the_workers_hold(smsc, smpp_provider):
    from django.core.cache import cache

    from messaging.tasks import links_open_in_background

    cache.delete(f"ops:provider-links:{smpp_provider.name}")
    assert "no worker reports a bind" in _state_becomes(smpp_provider, "no worker")
    links_open_in_background().join(10)
    assert "1 of 1 binds up in 1 worker process" in _state_becomes(smpp_provider, "1 of 1")
    smsc.unbind_all()  # the SMSC unbinds: the reader reports the bind lost at once
    assert "0 of 1 binds up in 1 worker process" in _state_becomes(smpp_provider, "0 of 1")
    # and the worker binds again by itself, with no send to make it
    assert "1 of 1 binds up" in _state_becomes(smpp_provider, "1 of 1")
    assert smsc.stats()["binds"] == 2
