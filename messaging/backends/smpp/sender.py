"""submit_sm out: a batch's messages as parts (`submit_fields`), written in chunks into the room
each bind's window leaves (one write per chunk), paced at this process's throughput, waited for,
and their answers turned into one outcome per message (`message_outcome`).

A bind that drops with submits outstanding leaves those messages without an outcome: whether
the SMSC took them is not known. Parts never written go over another bind, or over a new one
opened with backoff; when none can be had within `reconnect_wait`, their messages fail for now
(bind_unavailable)."""

import itertools
import random
import time
from collections import deque
from typing import TYPE_CHECKING

from smpplib import consts

from ..base import OutboundSms, PermanentProviderError, ProviderError, SendOutcome, TransientProviderError
from .pdu import (
    address_ton_npi,
    smpp_message_id_normal,
    sms_parts,
    submit_sm_pdu,
    submit_status_error,
    validity_period,
)
from .session import UNKNOWN, Part, SmppSession

if TYPE_CHECKING:
    from .backend import SmppBackend


class Sender:
    """Sends a backend's batches over its binds."""

    def __init__(self, backend: "SmppBackend"):
        self.backend = backend
        self._references = itertools.count(random.randrange(256))  # concatenation references
        self._paced_until = 0.0

    def send(self, messages: list[OutboundSms]) -> list[SendOutcome]:
        """One outcome per message whose outcome is known, in the messages' order."""
        outcomes: dict[int, SendOutcome] = {}
        parts: list[Part] = []
        queue: deque = deque()
        for index, sms in enumerate(messages):
            try:
                queue.extend((index, fields) for fields in self.submit_fields(sms))
            except PermanentProviderError as error:
                outcomes[index] = SendOutcome(key=sms.key, error=error)
        unsent = self._write(queue, parts)
        self._wait(parts)
        by_owner: dict[int, list[Part]] = {}
        for part in parts:
            by_owner.setdefault(part.owner, []).append(part)
        for index, sms in enumerate(messages):
            if index in outcomes:
                continue
            if index in unsent:
                outcomes[index] = SendOutcome(key=sms.key, error=unsent[index])
                continue
            outcome = message_outcome(sms.key, by_owner.get(index, []))
            if outcome is not None:
                outcomes[index] = outcome
        return [outcomes[index] for index in sorted(outcomes)]

    def submit_fields(self, sms: OutboundSms) -> list[dict]:
        """The fields of each submit_sm a message takes (one per part)."""
        config = self.backend.config
        layout = sms_parts(text=sms.text, encoding=sms.encoding, reference=next(self._references))
        source, ton, npi = address_ton_npi(sms.sender or config.sender or "")
        destination, dest_ton, dest_npi = address_ton_npi(sms.phone)
        common = {
            "service_type": "",
            "source_addr_ton": ton if config.source_ton is None else config.source_ton,
            "source_addr_npi": npi if config.source_npi is None else config.source_npi,
            "source_addr": source,
            "dest_addr_ton": dest_ton,
            "dest_addr_npi": dest_npi,
            "destination_addr": destination,
            "esm_class": layout.esm_class,
            "protocol_id": consts.SMPP_PID_DEFAULT,
            "priority_flag": 1 if sms.priority else 0,
            "schedule_delivery_time": "",
            "validity_period": validity_period(sms.expires_at),
            "registered_delivery": consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
            "replace_if_present_flag": 0,
            "data_coding": layout.data_coding,
            "sm_default_msg_id": 0,
        }
        return [{**common, "short_message": payload} for payload in layout.payloads]

    def _write(self, queue: deque, parts: list[Part]) -> dict[int, ProviderError]:
        """Write every queued part; returns the messages some part of which was never written,
        with the error that says why (a known outcome: nothing reached the SMSC for them)."""
        config = self.backend.config
        unsent: dict[int, ProviderError] = {}
        give_up_at = time.monotonic() + config.reconnect_wait
        while queue:
            session, room = self._session_with_room(give_up_at)
            if session is None:
                error = TransientProviderError("no SMPP bind could be opened", code="bind_unavailable")
                break
            if config.throughput > 0:
                room = min(room, max(1, int(config.throughput / 20)))
            chunk = [queue.popleft() for _ in range(min(room, len(queue)))]
            if config.throughput > 0:
                self._pace(len(chunk))
            written = self._write_chunk(session, chunk)
            parts.extend(written)
            if len(written) < len(chunk):
                queue.extendleft(reversed(chunk[len(written) :]))
            else:
                give_up_at = time.monotonic() + config.reconnect_wait
        else:
            return unsent
        for index, _ in queue:
            unsent[index] = error
        return unsent

    def _write_chunk(self, session: SmppSession, chunk: list) -> list[Part]:
        changed = self.backend.changed
        encoded, written = [], []
        with changed:
            if not session.alive:
                return []
            now = time.monotonic()
            for index, fields in chunk:
                sequence = session.sequences.next_sequence()
                part = Part(index, sent_at=now)
                session.pending[sequence] = part
                encoded.append(submit_sm_pdu(sequence=sequence, **fields))
                written.append(part)
        if not session.send(b"".join(encoded)):
            # Whether any of it reached the SMSC is not known.
            with changed:
                for part in written:
                    if part.status is None:
                        part.status = UNKNOWN
                changed.notify_all()
        return written

    def _pace(self, parts: int) -> None:
        """Spread this process's submits evenly at `throughput` parts per second, so that a
        batch the shared limit (messaging.throttle, taken by the dispatch for the whole batch)
        let through does not leave at line rate."""
        now = time.monotonic()
        start = max(self._paced_until, now)
        self._paced_until = start + parts / self.backend.config.throughput
        if start > now:
            time.sleep(start - now)

    def _session_with_room(self, give_up_at: float) -> tuple[SmppSession | None, int]:
        """The open bind with the most room in its window, opening binds that are due; None
        once no bind is open and `give_up_at` has passed (or the backend is closed)."""
        backend = self.backend
        window, sessions, changed = backend.config.window, backend.sessions, backend.changed
        while not backend.closed:
            now = time.monotonic()
            best, room = None, 0
            with changed:
                for session in sessions:
                    if session.alive and window - len(session.pending) > room:
                        best, room = session, window - len(session.pending)
            if best is not None:
                return best, room
            opened = False
            for session in sessions:
                opened = backend.open_if_due(session, now) or opened
            if opened:
                continue
            if not any(session.alive for session in sessions) and now >= give_up_at:
                return None, 0
            wake = min([give_up_at] + [s.next_attempt for s in sessions if not s.alive])
            with changed:
                changed.wait(min(backend.config.tick, max(0.01, wake - now)))
        return None, 0

    def _wait(self, parts: list[Part]) -> None:
        """Until every written part is answered or given up (the readers time sessions out)."""
        config, changed = self.backend.config, self.backend.changed
        limit = time.monotonic() + config.response_timeout * 2 + 2 * config.tick + 1
        with changed:
            while any(part.status is None for part in parts):
                if time.monotonic() >= limit:
                    break
                changed.wait(config.tick)


def message_outcome(key: int, parts: list[Part]) -> SendOutcome | None:
    """A message's outcome from its parts: refused for good if any part was; unknown (None) if
    any part's answer never came; worth retrying if any part was refused for now; else sent,
    with the first part's id (receipts of the other parts name ids the service will not know)."""
    answers = [part.status for part in parts if part.status not in (None, UNKNOWN)]
    errors = [submit_status_error(status) for status in answers]  # type: ignore[arg-type]  # ints: the SMSC's status
    permanent = next((error for error in errors if error is not None and error.permanent), None)
    if permanent is not None:
        return SendOutcome(key=key, error=permanent)
    if not parts or any(part.status in (None, UNKNOWN) for part in parts):
        return None
    transient = next((error for error in errors if error is not None), None)
    if transient is not None:
        return SendOutcome(key=key, error=transient)
    return SendOutcome(key=key, provider_message_id=smpp_message_id_normal(parts[0].message_id))
