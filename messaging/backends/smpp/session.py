"""One SMPP transceiver bind: its socket, the bind_transceiver that opens it, the reader thread
that takes submit_sm_resp, deliver_sm, enquire_link and unbind off it, the enquire_link it sends
when the line has been quiet, and the submits it has outstanding (`Part`), given up as unknown
when the bind is lost or the SMSC stops answering.

A session reads its options and the lock its parts share with the sender (`changed`) from its
backend (backend.SmppBackend), and tells the backend when a bind opens or is lost
(`links_report`). Each deliver_sm, and the ids the SMSC answered submits with, go to the
backend's deliveries (delivery.Deliveries)."""

import itertools
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smpplib import command, consts

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
    header_pdu,
)

if TYPE_CHECKING:
    from .backend import SmppBackend

logger = logging.getLogger(__package__)  # one logger for the whole SMPP backend

UNKNOWN = object()  # the status of a part whose submit may or may not have reached the SMSC
SEQUENCE_MAX = 0x7FFFFFFF  # sequence numbers run from 1 to this, then start again


class Sequences:
    """What smpplib's PDU classes ask for sequence numbers; shared by a session's threads."""

    def __init__(self):
        self._numbers = itertools.count(1)
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = (next(self._numbers) - 1) % SEQUENCE_MAX + 1
        return self.sequence


@dataclass(slots=True)
class Part:
    """One submit_sm written: the message it is part of, and what the SMSC answered."""

    owner: int  # the index of its message in the batch
    sent_at: float = 0.0
    status: object = None  # None: waiting; an int: the SMSC's command_status; UNKNOWN: lost
    message_id: str = ""


class SmppSession:
    """One transceiver bind and the thread that reads it."""

    def __init__(self, backend: "SmppBackend", number: int):
        self.backend = backend
        self.number = number
        self.sock: socket.socket | None = None
        self.alive = False
        self.pending: dict[int, Part] = {}  # sequence -> part; guarded by backend.changed
        self.sequences = Sequences()
        self.write_lock = threading.Lock()
        self.failures = 0
        self.next_attempt = 0.0
        self.last_read = 0.0
        self.last_check = 0.0
        self.ping_sent_at = 0.0

    # --- opening and closing ---------------------------------------------------------------

    def open(self) -> bool:
        """Connect and bind; on failure, back off exponentially (with jitter) before the next
        attempt. Starts the reader thread once bound."""
        backend, config = self.backend, self.backend.config
        try:
            sock = self._bound_socket()
        except (OSError, ConnectionError) as error:
            self.failures += 1
            delay = min(config.reconnect_max_seconds, 0.25 * 2 ** (self.failures - 1))
            self.next_attempt = time.monotonic() + delay * random.uniform(0.75, 1.25)
            logger.warning("SMPP bind %s to %s:%s failed: %s", self.number, config.host, config.port, error)
            return False
        sock.settimeout(config.tick)
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

    def _bound_socket(self) -> socket.socket:
        config = self.backend.config
        sock = socket.create_connection((config.host, config.port), timeout=config.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bind = command.BindTransceiver(
            "bind_transceiver",
            client=self.sequences,
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            interface_version=consts.SMPP_VERSION_34,
            addr_ton=consts.SMPP_TON_UNK,
            addr_npi=consts.SMPP_NPI_UNK,
            address_range="",
        )
        sock.sendall(bind.generate())
        header = _recv_exact(sock, HEADER.size)
        length, command_id, status, _ = HEADER.unpack(header)
        _recv_exact(sock, length - HEADER.size)
        if command_id != BIND_TRANSCEIVER_RESP or status != consts.SMPP_ESME_ROK:
            sock.close()
            raise ConnectionError(f"bind refused: command 0x{command_id:08X} status 0x{status:08X}")
        return sock

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
                    data = sock.recv(262144)  # type: ignore[union-attr]  # the reader starts once sock is open
                except TimeoutError:
                    self._idle(pending)
                    continue
                except OSError:
                    break
                if not data:
                    break
                self.last_read = time.monotonic()
                buffer += data
                answered: list = []
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
        """Act on one PDU read; answers to submits are gathered into `answered`. False when the
        session ends (unbind, or the answer to ours)."""
        _, command_id, status, sequence = HEADER.unpack_from(pdu)
        if command_id in (SUBMIT_SM_RESP, GENERIC_NACK):
            message_id = ""
            if command_id == SUBMIT_SM_RESP and len(pdu) > HEADER.size:
                message_id = pdu[HEADER.size :].split(b"\x00", 1)[0].decode("latin-1")
            answered.append((sequence, status, message_id))
        elif command_id == DELIVER_SM:
            self.backend.deliveries.deliver_sm_take(self, sequence, pdu)
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

    def _answer(self, pending: dict, answered: list) -> None:
        changed = self.backend.changed
        with changed:
            accepted = []
            for sequence, status, message_id in answered:
                part = pending.pop(sequence, None)
                if part is not None:
                    part.status = status
                    part.message_id = message_id
                    if status == consts.SMPP_ESME_ROK:
                        accepted.append(message_id)
            self.backend.deliveries.submits_answered(accepted)
            changed.notify_all()

    def _idle(self, pending: dict) -> None:
        """What a quiet reader does each tick: report the binds, give the session up when the
        SMSC has left an enquire_link or a submit unanswered too long, else ask after a quiet
        line with enquire_link."""
        backend, config = self.backend, self.backend.config
        now = self.last_check = time.monotonic()
        backend.links_report()
        if self.ping_sent_at and now - self.ping_sent_at > config.response_timeout:
            logger.warning("SMPP bind %s: enquire_link unanswered", self.number)
            self.drop()
            return
        if pending:
            with backend.changed:
                oldest = min((part.sent_at for part in pending.values()), default=now)
            if now - oldest > config.response_timeout:
                logger.warning("SMPP bind %s: submit_sm unanswered for %.1fs", self.number, now - oldest)
                self.drop()
                return
        if not self.ping_sent_at and now - self.last_read >= config.enquire_link_seconds:
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
                part.status = UNKNOWN
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
