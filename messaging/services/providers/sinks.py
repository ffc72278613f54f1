"""How what a backend receives on its own connection reaches the database.

A backend never touches the ORM (messaging/backends/base.py). What arrives on a connection it
holds open (an SMPP bind) is handed, from the backend's own reader thread, to the callables it was
built with (`BaseSmsBackend.receipt_sink`, `inbound_sink` and `link_sink`). These are those
callables, one of each per provider, given by `routing.provider_backend` (and, for the backend
named by SMS_BACKEND, by `routing.routes_active`):

    SMSC deliver_sm ─▶ SmppSession._handle ─▶ Deliveries.deliver_sm_take ─▶ (receipt hold)
        ─▶ Deliveries._hand_over ─▶ ReceiptSink(name)
        ─▶ receipts.receipts_record(receipts=…, provider=name) ─▶ delivered / undelivered / held

(messaging/backends/smpp/session.py and delivery.py.) The SMSC is answered only after the sink
returns: a sink that raises (the database is down) makes the backend refuse the deliver_sm for
now (ESME_RX_T_APPN), so that the SMSC sends it again.

Receipts that come by webhook (Twilio, Vonage) take the other way in: their kind's callback view
(messaging/providers/<kind>/callbacks.py) calls receipts.receipts_record itself.
"""

import os
import socket
import threading
from collections.abc import Callable, Iterable

from django.db import connection

from messaging.backends import Receipt, get_backend
from messaging.services import inbound, receipts

from .links import provider_links_remember


class _StoreSink:
    """Hands a batch to `_store` and raises when it could not be stored, so that the backend has it
    sent again. A backend's threads hold no database connection between deliveries."""

    def __init__(self, provider_name: str):
        self.provider_name = provider_name

    def __call__(self, items: Iterable) -> None:
        try:
            self._store(list(items))
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    def _store(self, items: list) -> None:
        raise NotImplementedError


class ReceiptSink(_StoreSink):
    """A provider's receipts, as its backend received them, recorded under the provider's name."""

    def _store(self, items: list[Receipt]) -> None:
        receipts.receipts_record(receipts=items, provider=self.provider_name)


class InboundSink(_StoreSink):
    """The texts members sent that a provider's own connection carried (SMPP mobile-originated
    deliver_sm, as smpp.pdu.InboundText): STOP and START act, every text is kept."""

    def _store(self, items: list) -> None:
        inbound.inbound_texts_receive(texts=items, provider=self.provider_name)


class LinkSink:
    """How many of a provider's long-lived links this process holds up, for the console."""

    def __init__(self, provider_name: str):
        self.provider_name = provider_name
        self.process = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, alive: int, total: int) -> None:
        provider_links_remember(self.provider_name, self.process, alive, total)


def _settings_backend_sink(sink_class: type[_StoreSink]) -> Callable[[Iterable], None]:
    """A sink for the backend named by SMS_BACKEND, which stores under that backend's name (known
    only once it is built, so looked up on each batch)."""

    def sink(items: Iterable) -> None:
        sink_class(get_backend().name)(items)

    return sink


settings_receipt_sink = _settings_backend_sink(ReceiptSink)
settings_inbound_sink = _settings_backend_sink(InboundSink)
