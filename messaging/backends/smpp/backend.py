"""SMPP 3.4 over long-lived transceiver binds: smpplib's codec for binds and deliver_sm, and a
direct submit_sm encoder (pdu.submit_sm_pdu, held byte-equal to smpplib's by a test).

One backend per process holds `binds` sessions. Each session has a reader thread that takes
submit_sm_resp, deliver_sm (receipts), enquire_link and unbind off the socket, sends
enquire_link when the line has been quiet, and declares the session lost when the SMSC stops
answering. `send_messages` writes submit_sm in chunks of up to `window` outstanding per session
(one write per chunk, TCP_NODELAY set) and waits for the answers. A session that drops with
submits outstanding leaves those messages without an outcome (it is not known whether the SMSC
took them); parts never written are sent over a new session, opened with backoff. A deliver_sm
that is no receipt is a text a member sent (mobile-originated): it goes to the inbound sink, in
any data_coding the SMSC uses, and is acknowledged once stored.

Options (SMS_BACKEND_OPTIONS): host, port, system_id, password, system_type, binds, window,
source_ton, source_npi, sender, throughput (parts per second this process spreads its submits
at; the limit shared by all processes is messaging.throttle, which the dispatch takes for each
batch; 0 is unlimited), name, and the timings enquire_link_seconds, response_timeout,
connect_timeout, reconnect_wait; submit_id_base and receipt_id_base (10 or 16) when the SMSC
writes its ids in known bases; receipt_hold_seconds (see receipts_waiting).
"""

import itertools
import logging
import random
import socket
import threading
import time
from collections import deque
from dataclasses import replace

from smpplib import command, consts

from ..base import (
    LINK_REPORT_SECONDS,
    BaseSmsBackend,
    OutboundSms,
    PermanentProviderError,
    Receipt,
    SendOutcome,
    TransientProviderError,
)
from .options import SmppOptions
from .pdu import (
    BIND_TRANSCEIVER_RESP,
    DELIVER_SM,
    ENQUIRE_LINK,
    ENQUIRE_LINK_RESP,
    GENERIC_NACK,
    HEADER,
    RESPONSE_BIT,
    SUBMIT_SM_RESP,
    UNBIND,
    UNBIND_RESP,
    InboundText,
    address_ton_npi,
    deliver_sm_resp_pdu,
    header_pdu,
    inbound_from_deliver_sm,
    receipt_from_deliver_sm,
    smpp_message_id_forms,
    smpp_message_id_normal,
    sms_parts,
    submit_sm_pdu,
    submit_status_error,
    validity_period,
)

__all__ = ["SmppBackend", "smpp_message_id_forms", "smpp_message_id_normal"]

logger = logging.getLogger(__name__)

ESME_ROK = consts.SMPP_ESME_ROK
_UNKNOWN = object()  # a part whose submit may or may not have reached the SMSC


class _Sequences:
    """What smpplib's PDU classes ask for sequence numbers; shared by a session's threads."""

    def __init__(self):
        self._numbers = itertools.count(1)
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = (next(self._numbers) - 1) % 0x7FFFFFFF + 1
        return self.sequence


class _Part:
    __slots__ = ("owner", "sent_at", "status", "message_id")

    def __init__(self, owner: int):
        self.owner = owner
        self.sent_at = 0.0
        self.status = None  # None: waiting; an int: the SMSC's command_status; _UNKNOWN: lost
        self.message_id = ""


class SmppSession:
    """One transceiver bind and the thread that reads it."""

    def __init__(self, backend: "SmppBackend", number: int):
        self.backend = backend
        self.number = number
        self.sock: socket.socket | None = None
        self.alive = False
        self.pending: dict[int, _Part] = {}  # sequence -> part; guarded by backend.changed
        self.sequences = _Sequences()
        self.write_lock = threading.Lock()
        self.failures = 0
        self.next_attempt = 0.0
        self.last_read = 0.0
        self.last_check = 0.0
        self.ping_sent_at = 0.0

    # --- opening and closing ---------------------------------------------------------------

    def open(self) -> bool:
        backend = self.backend
        try:
            config = backend.config
            sock = socket.create_connection((config.host, config.port), timeout=config.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            bind = command.BindTransceiver(
                "bind_transceiver",
                client=self.sequences,
                system_id=backend.config.system_id,
                password=backend.config.password,
                system_type=backend.config.system_type,
                interface_version=consts.SMPP_VERSION_34,
                addr_ton=consts.SMPP_TON_UNK,
                addr_npi=consts.SMPP_NPI_UNK,
                address_range="",
            )
            sock.sendall(bind.generate())
            header = _recv_exact(sock, HEADER.size)
            length, command_id, status, _ = HEADER.unpack(header)
            _recv_exact(sock, length - HEADER.size)
            if command_id != BIND_TRANSCEIVER_RESP or status != ESME_ROK:
                sock.close()
                raise ConnectionError(f"bind refused: command 0x{command_id:08X} status 0x{status:08X}")
        except (OSError, ConnectionError) as error:
            self.failures += 1
            delay = min(backend.config.reconnect_max_seconds, 0.25 * 2 ** (self.failures - 1))
            self.next_attempt = time.monotonic() + delay * random.uniform(0.75, 1.25)
            config = backend.config
            logger.warning("SMPP bind %s to %s:%s failed: %s", self.number, config.host, config.port, error)
            return False
        sock.settimeout(backend.config.tick)
        self.sock = sock
        self.pending = {}
        self.failures = 0
        self.last_read = time.monotonic()
        self.ping_sent_at = 0.0
        self.alive = True
        backend.binds_opened += 1
        backend.links_report(force=True)
        threading.Thread(target=self._read, name=f"smpp-{backend.name}-{self.number}", daemon=True).start()
        return True

    def send(self, data: bytes) -> bool:
        with self.write_lock:
            if not self.alive or self.sock is None:
                return False
            try:
                self.sock.sendall(data)
            except OSError:
                self.drop()
                return False
        return True

    def drop(self) -> None:
        """Close the socket; the reader thread then gives up what was outstanding."""
        self.alive = False
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def unbind(self) -> None:
        if self.alive:
            self.send(command.Unbind("unbind", client=self.sequences).generate())
            time.sleep(0.05)
        self.drop()

    # --- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        sock, pending = self.sock, self.pending
        buffer = bytearray()
        try:
            while self.alive and sock is self.sock:
                try:
                    data = sock.recv(262144)
                except TimeoutError:
                    self._idle(pending)
                    continue
                except OSError:
                    break
                if not data:
                    break
                self.last_read = time.monotonic()
                buffer += data
                answered = []
                while len(buffer) >= HEADER.size:
                    length = int.from_bytes(buffer[:4], "big")
                    if len(buffer) < length:
                        break
                    pdu = bytes(buffer[:length])
                    del buffer[:length]
                    if not self._handle(pdu, answered):
                        return
                if answered:
                    self._answer(pending, answered)
                if self.last_read - self.last_check >= self.backend.config.tick:
                    self._idle(pending)
        finally:
            self._lost(sock, pending)

    def _handle(self, pdu: bytes, answered: list) -> bool:
        _, command_id, status, sequence = HEADER.unpack_from(pdu)
        if command_id in (SUBMIT_SM_RESP, GENERIC_NACK):
            message_id = ""
            if command_id == SUBMIT_SM_RESP and len(pdu) > HEADER.size:
                message_id = pdu[HEADER.size :].split(b"\x00", 1)[0].decode("latin-1")
            answered.append((sequence, status, message_id))
        elif command_id == DELIVER_SM:
            self._deliver(pdu, sequence)
        elif command_id == ENQUIRE_LINK:
            self.send(header_pdu(ENQUIRE_LINK_RESP, sequence))
        elif command_id == ENQUIRE_LINK_RESP:
            self.ping_sent_at = 0.0
            self.backend.enquire_links_answered += 1
        elif command_id == UNBIND:  # answer it and end the session
            self.send(header_pdu(UNBIND_RESP, sequence))
            logger.warning("SMPP bind %s unbound by the SMSC", self.number)
            return False
        elif command_id == UNBIND_RESP:
            return False
        elif not command_id & RESPONSE_BIT:  # a request this client does not take
            self.send(header_pdu(GENERIC_NACK, sequence, consts.SMPP_ESME_RINVCMDID))
        return True

    def _deliver(self, pdu: bytes, sequence: int) -> None:
        receipt = text = None
        try:
            deliver = command.DeliverSM("deliver_sm", client=self.sequences, allow_unknown_opt_params=True)
            deliver.parse(pdu)
            receipted = getattr(deliver, "receipted_message_id", None)
            receipt = receipt_from_deliver_sm(
                esm_class=deliver.esm_class or 0,
                short_message=deliver.short_message or b"",
                receipted_message_id=receipted,
                message_state=getattr(deliver, "message_state", None),
                provider=self.backend.name,
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
        if receipt is not None and self.backend.receipt_sink is not None:
            self.backend.receipts_waiting(self, sequence, self.backend.receipt_in_submit_form(receipt))
        elif text is not None and self.backend.inbound_sink is not None:
            self.backend.inbound_waiting(self, sequence, text)
        else:
            if receipt is None and text is None:
                logger.info("SMPP deliver_sm that is not a final receipt ignored")
            self.send(deliver_sm_resp_pdu(sequence, ESME_ROK))

    def _answer(self, pending: dict, answered: list) -> None:
        changed = self.backend.changed
        with changed:
            batch_ids = self.backend._batch_ids
            for sequence, status, message_id in answered:
                part = pending.pop(sequence, None)
                if part is not None:
                    part.status = status
                    part.message_id = message_id
                    if status == ESME_ROK:
                        batch_ids.add(smpp_message_id_normal(message_id))
            changed.notify_all()

    def _idle(self, pending: dict) -> None:
        backend = self.backend
        now = self.last_check = time.monotonic()
        backend.links_report()
        if self.ping_sent_at and now - self.ping_sent_at > backend.config.response_timeout:
            logger.warning("SMPP bind %s: enquire_link unanswered", self.number)
            self.drop()
            return
        if pending:
            with backend.changed:
                oldest = min((part.sent_at for part in pending.values()), default=now)
            if now - oldest > backend.config.response_timeout:
                logger.warning("SMPP bind %s: submit_sm unanswered for %.1fs", self.number, now - oldest)
                self.drop()
                return
        if not self.ping_sent_at and now - self.last_read >= backend.config.enquire_link_seconds:
            self.ping_sent_at = now
            self.send(header_pdu(ENQUIRE_LINK, self.sequences.next_sequence()))

    def _lost(self, sock, pending: dict) -> None:
        if sock is self.sock:
            self.drop()
        self.backend.links_report(force=True)
        changed = self.backend.changed
        with changed:
            lost = list(pending.values())
            pending.clear()
            for part in lost:
                part.status = _UNKNOWN
            changed.notify_all()
        if lost:
            logger.warning("SMPP bind %s lost with %d submit_sm unanswered", self.number, len(lost))


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, received = [], 0
    while received < size:
        chunk = sock.recv(size - received)
        if not chunk:
            raise ConnectionError("connection closed by the SMSC")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value or "")


class SmppBackend(BaseSmsBackend):
    name = "smpp"

    def __init__(self, **options):
        self.config, rest = SmppOptions.split(options)
        super().__init__(**rest)  # the sinks
        self.name = self.config.name
        self.changed = threading.Condition()
        self._opening = threading.Lock()
        self._links_reported_at = 0.0
        self._keeper: threading.Thread | None = None
        self.sessions = [SmppSession(self, number) for number in range(self.config.binds)]
        self.binds_opened = 0
        self.enquire_links_answered = 0
        self._references = itertools.count(random.randrange(256))
        self._receipts: deque = deque()
        self._receipts_ready = threading.Condition()
        self._pump: threading.Thread | None = None
        self._closed = False
        self._paced_until = 0.0
        self._batch_ids: set[str] = set()
        self._batch_open = False
        self._batch_closed_at = 0.0
        self._generation = 0

    # --- sending ---------------------------------------------------------------------------

    def send_messages(self, messages: list[OutboundSms]) -> list[SendOutcome]:
        with self._receipts_ready:
            self._batch_ids, self._batch_open = set(), True
            self._generation += 1
            self._receipts_ready.notify_all()
        try:
            return self._send(messages)
        finally:
            with self._receipts_ready:
                self._batch_open = False
                self._batch_closed_at = time.monotonic()
                self._receipts_ready.notify_all()

    def _send(self, messages: list[OutboundSms]) -> list[SendOutcome]:
        outcomes: dict[int, SendOutcome] = {}
        parts: list[_Part] = []
        queue: deque = deque()
        for index, sms in enumerate(messages):
            try:
                queue.extend((index, pdu) for pdu in self._submit_pdus(sms))
            except PermanentProviderError as error:
                outcomes[index] = SendOutcome(key=sms.key, error=error)
        unsent = self._write(queue, parts)
        self._wait(parts)
        by_owner: dict[int, list[_Part]] = {}
        for part in parts:
            by_owner.setdefault(part.owner, []).append(part)
        for index, sms in enumerate(messages):
            if index in outcomes:
                continue
            if index in unsent:
                outcomes[index] = SendOutcome(key=sms.key, error=unsent[index])
                continue
            outcome = _outcome(sms.key, by_owner.get(index, []))
            if outcome is not None:
                outcomes[index] = outcome
        return [outcomes[index] for index in sorted(outcomes)]

    def _submit_pdus(self, sms: OutboundSms) -> list[dict]:
        layout = sms_parts(text=sms.text, encoding=sms.encoding, reference=next(self._references))
        source, ton, npi = address_ton_npi(sms.sender or self.config.sender or "")
        destination, dest_ton, dest_npi = address_ton_npi(sms.phone)
        common = {
            "service_type": "",
            "source_addr_ton": ton if self.config.source_ton is None else self.config.source_ton,
            "source_addr_npi": npi if self.config.source_npi is None else self.config.source_npi,
            "source_addr": source,
            "dest_addr_ton": dest_ton,
            "dest_addr_npi": dest_npi,
            "destination_addr": destination,
            "esm_class": layout.esm_class,
            "protocol_id": 0,
            "priority_flag": 1 if sms.priority else 0,
            "schedule_delivery_time": "",
            "validity_period": validity_period(sms.expires_at),
            "registered_delivery": 1,
            "replace_if_present_flag": 0,
            "data_coding": layout.data_coding,
            "sm_default_msg_id": 0,
        }
        return [{**common, "short_message": payload} for payload in layout.payloads]

    def _write(self, queue: deque, parts: list[_Part]) -> dict[int, Exception]:
        """Write every queued part; returns the messages some part of which was never written,
        with the error that says why (a known outcome: nothing reached the SMSC for them)."""
        unsent: dict[int, Exception] = {}
        give_up_at = time.monotonic() + self.config.reconnect_wait
        while queue:
            session, room = self._session_with_room(give_up_at)
            if session is None:
                error = TransientProviderError("no SMPP bind could be opened", code="bind_unavailable")
                break
            if self.config.throughput > 0:
                room = min(room, max(1, int(self.config.throughput / 20)))
            chunk = [queue.popleft() for _ in range(min(room, len(queue)))]
            if self.config.throughput > 0:
                self._pace(len(chunk))
            written = self._write_chunk(session, chunk)
            parts.extend(written)
            if len(written) < len(chunk):
                queue.extendleft(reversed(chunk[len(written) :]))
            else:
                give_up_at = time.monotonic() + self.config.reconnect_wait
        else:
            return unsent
        for index, _ in queue:
            unsent[index] = error
        return unsent

    def _write_chunk(self, session: SmppSession, chunk: list) -> list[_Part]:
        encoded, written = [], []
        with self.changed:
            if not session.alive:
                return []
            now = time.monotonic()
            for index, fields in chunk:
                sequence = session.sequences.next_sequence()
                part = _Part(index)
                part.sent_at = now
                session.pending[sequence] = part
                encoded.append(submit_sm_pdu(sequence=sequence, **fields))
                written.append(part)
        if not session.send(b"".join(encoded)):
            # Whether any of it reached the SMSC is not known.
            with self.changed:
                for part in written:
                    if part.status is None:
                        part.status = _UNKNOWN
                self.changed.notify_all()
        return written

    def _pace(self, parts: int) -> None:
        """Spread this process's submits evenly at `throughput` parts per second, so that a
        batch the shared limit (messaging.throttle, taken by the dispatch for the whole batch)
        let through does not leave at line rate."""
        now = time.monotonic()
        start = max(self._paced_until, now)
        self._paced_until = start + parts / self.config.throughput
        if start > now:
            time.sleep(start - now)

    def _session_with_room(self, give_up_at: float) -> tuple[SmppSession | None, int]:
        while not self._closed:
            now = time.monotonic()
            best, room = None, 0
            with self.changed:
                for session in self.sessions:
                    if session.alive and self.config.window - len(session.pending) > room:
                        best, room = session, self.config.window - len(session.pending)
            if best is not None:
                return best, room
            opened = False
            for session in self.sessions:
                opened = self._open_if_due(session, now) or opened
            if opened:
                continue
            if not any(session.alive for session in self.sessions) and now >= give_up_at:
                return None, 0
            wake = min([give_up_at] + [s.next_attempt for s in self.sessions if not s.alive])
            with self.changed:
                self.changed.wait(min(self.config.tick, max(0.01, wake - now)))
        return None, 0

    def _wait(self, parts: list[_Part]) -> None:
        """Until every written part is answered or given up (the readers time sessions out)."""
        limit = time.monotonic() + self.config.response_timeout * 2 + 2 * self.config.tick + 1
        with self.changed:
            while any(part.status is None for part in parts):
                if time.monotonic() >= limit:
                    break
                self.changed.wait(self.config.tick)

    # --- receipts --------------------------------------------------------------------------

    def receipt_in_submit_form(self, receipt: Receipt) -> Receipt:
        """With `submit_id_base` and `receipt_id_base` set (10 or 16) and different, the
        receipt's id is rewritten in the submit_sm_resp's base, so it equals the id that
        send_messages returned. Otherwise it is left as the SMSC wrote it (normalised), and
        smpp_message_id_forms() gives what it may stand for."""
        submit, received = self.config.submit_id_base, self.config.receipt_id_base
        if submit not in (10, 16) or received not in (10, 16) or submit == received:
            return receipt
        try:
            value = int(receipt.provider_message_id, received)
        except ValueError:
            return receipt
        return replace(receipt, provider_message_id=format(value, "x" if submit == 16 else "d"))

    def receipts_waiting(self, session: SmppSession, sequence: int, receipt) -> None:
        """A receipt is acknowledged to the SMSC only once the sink has taken it; when the sink
        fails the SMSC is told to try again later (ESME_RX_T_APPN). A receipt for a message of
        the batch being sent (or just sent) waits until the caller comes back for its next batch,
        by which time it has recorded the submit, or `receipt_hold_seconds`: on a fast SMSC the
        receipt would otherwise overtake the record of its submit."""
        forms = smpp_message_id_forms(receipt.provider_message_id)
        with self._receipts_ready:
            self._receipts.append((session, sequence, receipt, forms, self._generation, time.monotonic()))
            self._pump_start()
            self._receipts_ready.notify()

    def inbound_waiting(self, session: SmppSession, sequence: int, text: InboundText) -> None:
        """A member's text goes to the inbound sink at once (through the receipts' thread, so
        that the reader never waits for the database), and is acknowledged once stored."""
        with self._receipts_ready:
            self._receipts.append((session, sequence, text, None, self._generation, time.monotonic()))
            self._pump_start()
            self._receipts_ready.notify()

    def _pump_start(self) -> None:
        if self._pump is None or not self._pump.is_alive():
            self._pump = threading.Thread(target=self._pump_receipts, name=f"smpp-{self.name}-receipts")
            self._pump.daemon = True
            self._pump.start()

    def _receipts_due(self) -> list:
        """The receipts that may go to the sink now (up to 1000); call holding _receipts_ready.
        One that came during batch g may belong to it: it waits until batch g + 1 starts (g
        is recorded by then), or g ended without its id, or it has waited receipt_hold_seconds
        (counted from the end of g when g answered its id)."""
        hold = self.config.receipt_hold_seconds
        if hold <= 0:
            return [self._receipts.popleft() for _ in range(min(1000, len(self._receipts)))]
        now = time.monotonic()
        due, kept = [], deque()
        while self._receipts and len(due) < 1000:
            item = self._receipts.popleft()
            _, _, _, forms, generation, arrived = item
            ours = forms is not None and bool(forms & self._batch_ids)
            if forms is None or generation < self._generation:  # a member's text, or a receipt of a recorded batch
                ready = True
            elif ours:
                # Its submit is answered but not yet recorded: the caller records it when the
                # batch ends, however long the rest of the batch takes (a silent SMSC holds it
                # for the response timeout).
                ready = not self._batch_open and now - max(arrived, self._batch_closed_at) >= hold
            else:
                ready = not self._batch_open or now - arrived >= hold
            if ready:
                due.append(item)
            else:
                kept.append(item)
        kept.extend(self._receipts)
        self._receipts = kept
        return due

    def _pump_receipts(self) -> None:
        while not self._closed:
            with self._receipts_ready:
                batch = self._receipts_due()
                while not batch and not self._closed:
                    self._receipts_ready.wait(0.05 if self._receipts else 1.0)
                    batch = self._receipts_due()
            if not batch:
                continue
            by_session: dict[SmppSession, list[bytes]] = {}
            for sink, items in (
                (self.receipt_sink, [item for item in batch if item[3] is not None]),
                (self.inbound_sink, [item for item in batch if item[3] is None]),
            ):
                if not items:
                    continue
                try:
                    sink([item[2] for item in items])
                    status = ESME_ROK
                except Exception:
                    logger.exception("SMPP deliver_sm could not be stored; the SMSC will send them again")
                    status = consts.SMPP_ESME_RX_T_APPN
                for session, sequence, *_ in items:
                    by_session.setdefault(session, []).append(deliver_sm_resp_pdu(sequence, status))
            for session, answers in by_session.items():
                session.send(b"".join(answers))

    # --- opening ---------------------------------------------------------------------------

    def links_report(self, *, force: bool = False) -> None:
        """Tell the link sink how many binds are up: at once when one opens or is lost, else at
        most every LINK_REPORT_SECONDS (called by the readers as they idle)."""
        if self.link_sink is None:
            return
        now = time.monotonic()
        if not force and now - self._links_reported_at < LINK_REPORT_SECONDS:
            return
        self._links_reported_at = now
        try:
            self.link_sink(sum(session.alive for session in self.sessions), len(self.sessions))
        except Exception:
            logger.warning("SMPP bind state could not be reported", exc_info=True)

    def connect(self) -> int:
        """Open every bind that is down and due (backoff kept), so that the SMSC has a bind to
        hand receipts and members' texts to before the first batch, and keep them bound from now
        on: a bind the SMSC unbinds or drops is opened again, with backoff, without waiting for
        the next send. Returns the binds open."""
        self._open_due()
        with self._opening:
            if self._keeper is None and not self._closed:
                self._keeper = threading.Thread(target=self._keep_bound, name=f"smpp-{self.name}-keeper", daemon=True)
                self._keeper.start()
        return sum(session.alive for session in self.sessions)

    def _open_due(self) -> None:
        now = time.monotonic()
        for session in self.sessions:
            if not self._closed:
                self._open_if_due(session, now)

    def _keep_bound(self) -> None:
        while not self._closed:
            time.sleep(min(1.0, self.config.reconnect_max_seconds))
            try:
                self._open_due()
            except Exception:
                logger.warning("SMPP rebind failed", exc_info=True)

    def _open_if_due(self, session: SmppSession, now: float) -> bool:
        """Open a session that is down and past its backoff; one thread at a time opens."""
        if session.alive or session.sock is not None or now < session.next_attempt:
            return False
        with self._opening:
            if self._closed or session.alive or session.sock is not None or time.monotonic() < session.next_attempt:
                return False
            return session.open()

    # --- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        with self._opening:  # no bind is being opened past this point
            pass
        for session in self.sessions:
            session.unbind()
        with self._receipts_ready:
            self._receipts_ready.notify_all()


def _outcome(key: int, parts: list[_Part]) -> SendOutcome | None:
    """A message's outcome from its parts: refused for good if any part was; unknown (None) if
    any part's answer never came; worth retrying if any part was refused for now; else sent,
    with the first part's id (receipts of the other parts name ids the service will not know)."""
    errors = [submit_status_error(part.status) for part in parts if part.status not in (None, _UNKNOWN)]
    permanent = next((error for error in errors if error is not None and error.permanent), None)
    if permanent is not None:
        return SendOutcome(key=key, error=permanent)
    if not parts or any(part.status in (None, _UNKNOWN) for part in parts):
        return None
    transient = next((error for error in errors if error is not None), None)
    if transient is not None:
        return SendOutcome(key=key, error=transient)
    return SendOutcome(key=key, provider_message_id=smpp_message_id_normal(parts[0].message_id))
