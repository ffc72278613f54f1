"""What the SMSC delivers: receipts and members' texts in deliver_sm. Each is read off a bind
(`deliver_sm_read`), waits here as a `Delivery` until the receipt-hold rule (`delivery_due`)
lets it go, and goes to its sink on one thread of the backend's own (`Deliveries`), so that a
reader never waits for the database. A deliver_sm is answered only once its sink has taken it:
ESME_ROK when stored, ESME_RX_T_APPN when the sink failed, so that the SMSC sends it again.

The sinks are the backend's `receipt_sink` and `inbound_sink`, which
messaging/services/providers/routing.py gives it from messaging/services/providers/sinks.py:
`ReceiptSink` and `InboundSink` for a configured provider, `settings_receipt_sink` and
`settings_inbound_sink` for the backend named by SMS_BACKEND. They call
services.receipts.receipts_record and services.inbound.inbound_texts_receive."""

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from smpplib import command, consts

from ..base import Receipt
from .pdu import (
    InboundText,
    deliver_sm_resp_pdu,
    inbound_from_deliver_sm,
    receipt_from_deliver_sm,
    smpp_message_id_forms,
    smpp_message_id_normal,
)
from .session import SmppSession

if TYPE_CHECKING:
    from .backend import SmppBackend

logger = logging.getLogger(__package__)  # one logger for the whole SMPP backend

DUE_AT_ONCE = 1000  # the most deliveries handed to the sinks in one go


class Delivery(NamedTuple):
    """A deliver_sm read and not yet answered: a receipt or a member's text, for its sink."""

    session: SmppSession  # the bind it came on, and is answered on
    sequence: int
    content: Receipt | InboundText
    id_forms: set[str] | None  # the ids a receipt may stand for; None for a member's text
    generation: int  # the batch during which it arrived (Batch.generation)
    arrived_at: float  # time.monotonic()

    @property
    def is_receipt(self) -> bool:
        return self.id_forms is not None


@dataclass
class Batch:
    """The send_messages call being made, or the last one made: what the hold rule reads."""

    generation: int = 0  # how many batches have begun
    ids: set[str] = field(default_factory=set)  # the normal ids its submits were answered with
    open: bool = False
    closed_at: float = 0.0  # time.monotonic()


def delivery_due(delivery: Delivery, batch: Batch, *, now: float, hold: float) -> bool:
    """The receipt-hold rule: whether a delivery may go to its sink now.

    On a fast SMSC a receipt would overtake the record of its submit, which the caller of
    send_messages writes once the batch has returned, and so would find no message to mark.
    With `hold` (receipt_hold_seconds) above 0:
    - a member's text goes at once, and so does a receipt that came during an earlier batch
      than the current one: the caller, back for another batch, has recorded that one;
    - a receipt whose id the current batch's submits were answered with waits until the batch
      has ended, however long a silent SMSC keeps it open, and then for `hold` seconds from its
      arrival or the end of the batch, whichever is later;
    - any other receipt waits until the batch ends or for `hold` seconds from its arrival,
      whichever comes first (the answer to its submit may be on its way).
    With `hold` 0 or less nothing waits."""
    return (
        hold <= 0
        or not delivery.is_receipt
        or delivery.generation < batch.generation
        or (
            not batch.open and now - max(delivery.arrived_at, batch.closed_at) >= hold
            if delivery.id_forms & batch.ids  # type: ignore[operator]  # a receipt has its id forms
            else not batch.open or now - delivery.arrived_at >= hold
        )
    )


def deliver_sm_read(pdu: bytes, *, client, provider: str) -> tuple[Receipt | None, InboundText | None]:
    """A deliver_sm as a final receipt or as a member's text, with smpplib's codec; each is None
    when it is not one (an intermediate state, say) or could not be read (logged)."""
    receipt = text = None
    try:
        deliver = command.DeliverSM("deliver_sm", client=client, allow_unknown_opt_params=True)
        deliver.parse(pdu)
        receipted = getattr(deliver, "receipted_message_id", None)
        receipt = receipt_from_deliver_sm(
            esm_class=deliver.esm_class or 0,
            short_message=deliver.short_message or b"",
            receipted_message_id=receipted,
            message_state=getattr(deliver, "message_state", None),
            provider=provider,
        )
        text = inbound_from_deliver_sm(
            esm_class=deliver.esm_class or 0,
            data_coding=deliver.data_coding or 0,
            short_message=deliver.short_message or b"",
            message_payload=getattr(deliver, "message_payload", None),
            source_addr=_text(deliver.source_addr),
            destination_addr=_text(deliver.destination_addr),
            receipted_message_id=receipted,
        )
    except Exception:
        logger.exception("SMPP deliver_sm not understood")
    return receipt, text


def receipt_in_submit_form(receipt: Receipt, *, submit_id_base: int, receipt_id_base: int) -> Receipt:
    """With `submit_id_base` and `receipt_id_base` set (10 or 16) and different, the receipt's
    id is rewritten in the submit_sm_resp's base, so it equals the id that send_messages
    returned. Otherwise it is left as the SMSC wrote it (normalised), and
    smpp_message_id_forms() gives what it may stand for."""
    submit, received = submit_id_base, receipt_id_base
    if submit not in (10, 16) or received not in (10, 16) or submit == received:
        return receipt
    try:
        value = int(receipt.provider_message_id, received)
    except ValueError:
        return receipt
    return replace(receipt, provider_message_id=format(value, "x" if submit == 16 else "d"))


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value or "")


class Deliveries:
    """A backend's deliveries waiting for their sinks, the batch the hold rule measures them
    against, and the thread that hands them over."""

    def __init__(self, backend: "SmppBackend"):
        self.backend = backend
        self.batch = Batch()
        self._waiting: deque[Delivery] = deque()
        self._ready = threading.Condition()  # guards _waiting and batch (but for batch.ids)
        self._pump: threading.Thread | None = None

    def waiting(self) -> int:
        """How many deliveries wait for their sinks."""
        with self._ready:
            return len(self._waiting)

    # --- the batch -------------------------------------------------------------------------

    def batch_begin(self) -> None:
        with self._ready:
            self.batch.ids, self.batch.open = set(), True
            self.batch.generation += 1
            self._ready.notify_all()

    def batch_end(self) -> None:
        with self._ready:
            self.batch.open = False
            self.batch.closed_at = time.monotonic()
            self._ready.notify_all()

    def submits_answered(self, message_ids: list[str]) -> None:
        """The ids the SMSC accepted submits of the current batch with (the readers call this
        holding the backend's `changed`)."""
        self.batch.ids.update(smpp_message_id_normal(message_id) for message_id in message_ids)

    # --- taking deliver_sm -----------------------------------------------------------------

    def deliver_sm_take(self, session: SmppSession, sequence: int, pdu: bytes) -> None:
        """A deliver_sm a reader took off `session`. A receipt waits for the receipt sink, a
        member's text for the inbound sink; one that is neither, or that has no sink, is
        answered at once."""
        backend = self.backend
        receipt, text = deliver_sm_read(pdu, client=session.sequences, provider=backend.name)
        if receipt is not None and backend.receipt_sink is not None:
            config = backend.config
            receipt = receipt_in_submit_form(
                receipt, submit_id_base=config.submit_id_base, receipt_id_base=config.receipt_id_base
            )
            self._wait_for_sink(session, sequence, receipt, smpp_message_id_forms(receipt.provider_message_id))
        elif text is not None and backend.inbound_sink is not None:
            self._wait_for_sink(session, sequence, text, None)
        else:
            if receipt is None and text is None:
                logger.info("SMPP deliver_sm that is not a final receipt ignored")
            session.send(deliver_sm_resp_pdu(sequence, consts.SMPP_ESME_ROK))

    def _wait_for_sink(self, session, sequence: int, content, id_forms: set[str] | None) -> None:
        with self._ready:
            generation = self.batch.generation
            self._waiting.append(Delivery(session, sequence, content, id_forms, generation, time.monotonic()))
            self._pump_start()
            self._ready.notify()

    # --- handing over ----------------------------------------------------------------------

    def _pump_start(self) -> None:
        if self._pump is None or not self._pump.is_alive():
            self._pump = threading.Thread(target=self._pump_run, name=f"smpp-{self.backend.name}-receipts")
            self._pump.daemon = True
            self._pump.start()

    def _due(self) -> list[Delivery]:
        """The deliveries that may go to their sinks now, in the order they came (up to
        DUE_AT_ONCE); call holding _ready."""
        now, hold = time.monotonic(), self.backend.config.receipt_hold_seconds
        due: list[Delivery] = []
        kept: deque[Delivery] = deque()
        while self._waiting and len(due) < DUE_AT_ONCE:
            delivery = self._waiting.popleft()
            (due if delivery_due(delivery, self.batch, now=now, hold=hold) else kept).append(delivery)
        kept.extend(self._waiting)
        self._waiting = kept
        return due

    def _pump_run(self) -> None:
        while not self.backend.closed:
            with self._ready:
                due = self._due()
                while not due and not self.backend.closed:
                    self._ready.wait(0.05 if self._waiting else 1.0)
                    due = self._due()
            if due:
                self._hand_over(due)

    def _hand_over(self, due: list[Delivery]) -> None:
        """Each sink takes its deliveries in one call; then each deliver_sm is answered on its
        own bind, by one write per bind."""
        backend = self.backend
        answers: dict[SmppSession, list[bytes]] = {}
        for sink, deliveries in (
            (backend.receipt_sink, [delivery for delivery in due if delivery.is_receipt]),
            (backend.inbound_sink, [delivery for delivery in due if not delivery.is_receipt]),
        ):
            if not deliveries:
                continue
            try:
                sink([delivery.content for delivery in deliveries])
                status = consts.SMPP_ESME_ROK
            except Exception:
                logger.exception("SMPP deliver_sm could not be stored; the SMSC will send them again")
                status = consts.SMPP_ESME_RX_T_APPN
            for delivery in deliveries:
                answers.setdefault(delivery.session, []).append(deliver_sm_resp_pdu(delivery.sequence, status))
        for session, pdus in answers.items():
            session.send(b"".join(pdus))

    def wake(self) -> None:
        """Wake the handing-over thread (to see the backend closed)."""
        with self._ready:
            self._ready.notify_all()
