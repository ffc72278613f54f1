"""A loopback SMSC for tests and the bench: the server of the `smpp34` package, with a script.

It answers every bound transceiver's submit_sm, sends a delivery receipt (deliver_sm) for each
accepted part when asked to, and counts what it took, so that a test can check that nothing was
lost and nothing sent twice. As a real SMSC, it keeps each receipt, per system_id, until the ESME
answers its deliver_sm with status 0: a receipt answered with an error (e.g. ESME_RX_T_APPN), not
answered within `receipt_answer_timeout`, or whose bind died, is sent again after
`receipt_retry_seconds`, on any bind of that system_id, and at once on a new bind.
Failures are scripted per destination or by count:

- `reject`: destination -> SMPP command_status (e.g. ESME_RTHROTTLED, ESME_RINVDSTADR);
- `drop_after`: after that many submit_sm in all, hold every later one of that session
  unanswered and unbind it (once), as an SMSC that drops a bind with submits outstanding;
- `silent`: take submit_sm and never answer them (held until the peer stops);
- `silent_after`: answer that many submit_sm in all, then behave as `silent`.

Message ids are a counter printed with `resp_id_format` in submit_sm_resp and with
`receipt_id_format` in the receipt, so a test can make them differ in base or leading zeros.

Start it in a thread (`LoopbackSmsc().start()`) or as a process for the bench:
`python -m tests.peers.smsc --port 2775 --receipts`; the process prints `ready <port>` and,
for each `stats` line read on its standard input, one line of JSON counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import smpp34

ESME_RTHROTTLED = smpp34.ESME_RTHROTTLED
ESME_RMSGQFUL = smpp34.ESME_RMSGQFUL
ESME_RSYSERR = smpp34.ESME_RSYSERR
ESME_RINVDSTADR = smpp34.ESME_RINVDSTADR
ESME_RINVSRCADR = smpp34.ESME_RINVSRCADR


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class TakenSubmit:
    session_id: str
    source_addr: str
    destination_addr: str
    short_message: bytes
    data_coding: int
    esm_class: int
    registered_delivery: int
    message_id: str  # as answered; empty when rejected or never answered
    status: int | None  # None: held, never answered


@dataclass
class HeldReceipt:
    """A receipt the ESME has not yet acknowledged with deliver_sm_resp status 0."""

    number: int
    system_id: str
    destination_addr: str
    source_addr: str
    short_message: bytes
    tlvs: list
    attempts: int = 0
    due: float = 0.0  # monotonic time of the next try, when not in flight


@dataclass
class LoopbackSmsc:
    port: int = 0
    receipts: bool = True
    receipt_status: str = "DELIVRD"
    receipt_tlv: bool = True
    resp_id_format: str = "{:08X}"
    receipt_id_format: str = "{:d}"
    reject: dict[str, int] = field(default_factory=dict)
    drop_after: int | None = None
    silent: bool = False
    silent_after: int | None = None
    receipt_retry_seconds: float = 2.0
    receipt_answer_timeout: float = 60.0

    def __post_init__(self):
        self.port = self.port or free_port()
        self.taken: list[TakenSubmit] = []
        self.binds = 0
        self.unbinds = 0
        self.receipts_sent = 0
        self.receipts_offered = 0  # deliver_sm written, answered or not
        self.receipts_resent = 0
        # Receipts not yet acknowledged: system_id -> number -> receipt; those not in flight wait
        # in _waiting until their time comes.
        self._unacked: dict[str, dict[int, HeldReceipt]] = {}
        self._waiting: dict[int, HeldReceipt] = {}
        self._system_of: dict[str, str] = {}  # session_id -> system_id
        self.receipt_answers: Counter = Counter()  # deliver_sm_resp command_status -> count
        self._held: list = []
        self._sessions: dict = {}
        self.next_id = 1
        self._dropped_session = ""
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None

    # --- running -------------------------------------------------------------------------

    def start(self) -> LoopbackSmsc:
        self._thread = threading.Thread(target=self._run, name="loopback-smsc", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback SMSC did not start")
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop and self._stopped:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start()
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._server = smpp34.Server(host="127.0.0.1", port=self.port, system_id="LOOPBACK")
        await self._server.start()
        self._ready.set()
        events = asyncio.ensure_future(self._events())
        retries = asyncio.ensure_future(self._retry_receipts())
        await self._stopped.wait()
        events.cancel()
        retries.cancel()
        self._held.clear()
        await self._server.stop()

    async def _events(self) -> None:
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self._sessions[event.session_id] = event
                self._system_of[event.session_id] = event.system_id
                with self._lock:
                    self.binds += 1
                for held in self._waiting.values():  # a new bind gets what waits for its system_id
                    if held.system_id == event.system_id:
                        held.due = 0.0
            elif isinstance(event, smpp34.Unbound):
                self._sessions.pop(event.session_id, None)
                self._system_of.pop(event.session_id, None)
                with self._lock:
                    self.unbinds += 1
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._answer(event)

    # --- answering -----------------------------------------------------------------------

    def _take(self, event, message_id: str, status: int | None) -> None:
        with self._lock:
            self.taken.append(
                TakenSubmit(
                    session_id=event.session_id,
                    source_addr=event.source_addr,
                    destination_addr=event.destination_addr,
                    short_message=bytes(event.short_message),
                    data_coding=event.data_coding,
                    esm_class=event.esm_class,
                    registered_delivery=event.registered_delivery,
                    message_id=message_id,
                    status=status,
                )
            )

    def _answer(self, event) -> None:
        count = len(self.taken) + 1
        if self.silent_after is not None and count > self.silent_after:
            self.silent = True
        if self.silent or event.session_id == self._dropped_session:
            self._held.append(event)
            self._take(event, "", None)
            return
        if self.drop_after is not None and not self._dropped_session and count > self.drop_after:
            self._dropped_session = event.session_id
            self._held.append(event)
            self._take(event, "", None)
            session = self._sessions.get(event.session_id)
            if session is not None:
                asyncio.ensure_future(session.unbind())
            return
        status = self.reject.get(event.destination_addr)
        if status is not None:
            event.reject(status)
            self._take(event, "", status)
            return
        number = self.next_id
        self.next_id += 1
        message_id = self.resp_id_format.format(number)
        event.accept(message_id=message_id)
        self._take(event, message_id, 0)
        if self.receipts and event.registered_delivery & 0x03:
            held = self._receipt_of(event, number)
            self._unacked.setdefault(held.system_id, {})[number] = held
            session = self._sessions.get(event.session_id)
            if session is None:
                self._waiting[number] = held
            else:
                asyncio.ensure_future(self._send_receipt(held, session))

    def _receipt_of(self, event, number: int) -> HeldReceipt:
        receipt_id = self.receipt_id_format.format(number)
        text = (
            f"id:{receipt_id} sub:001 dlvrd:{'001' if self.receipt_status == 'DELIVRD' else '000'} "
            f"submit date:2501011200 done date:2501011201 stat:{self.receipt_status} err:000 text:"
        ).encode()
        tlvs = []
        if self.receipt_tlv:
            tlvs.append(smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, receipt_id.encode() + b"\0"))
        return HeldReceipt(
            number=number,
            system_id=self._system_of.get(event.session_id, ""),
            destination_addr=event.source_addr,
            source_addr=event.destination_addr,
            short_message=text,
            tlvs=tlvs,
        )

    async def _send_receipt(self, held: HeldReceipt, session) -> None:
        held.attempts += 1
        with self._lock:
            self.receipts_offered += 1
            if held.attempts > 1:
                self.receipts_resent += 1
        try:
            answer = await asyncio.wait_for(
                session.deliver_sm(
                    destination_addr=held.destination_addr,
                    source_addr=held.source_addr,
                    esm_class=0x04,
                    short_message=held.short_message,
                    tlvs=held.tlvs,
                ),
                self.receipt_answer_timeout,
            )
        except Exception:  # the session went away or did not answer: kept for a later try
            self._wait_again(held)
            return
        with self._lock:
            self.receipts_sent += 1
            self.receipt_answers[answer.command_status] += 1
        if answer.command_status == 0:
            self._unacked.get(held.system_id, {}).pop(held.number, None)
        else:
            self._wait_again(held)

    def _wait_again(self, held: HeldReceipt) -> None:
        held.due = time.monotonic() + self.receipt_retry_seconds
        self._waiting[held.number] = held

    async def _retry_receipts(self) -> None:
        """Send each waiting receipt whose time came over a bind of its system_id."""
        while True:
            await asyncio.sleep(min(0.1, self.receipt_retry_seconds / 4))
            if not self._waiting:
                continue
            now = time.monotonic()
            binds: dict[str, list] = {}
            for session_id, session in self._sessions.items():
                if session_id != self._dropped_session:
                    binds.setdefault(self._system_of.get(session_id, ""), []).append(session)
            for number, held in list(self._waiting.items()):
                sessions = binds.get(held.system_id)
                if held.due > now or not sessions:
                    continue
                del self._waiting[number]
                session = sessions[held.attempts % len(sessions)]
                asyncio.ensure_future(self._send_receipt(held, session))

    # --- mobile-originated texts ----------------------------------------------------------

    def send_mo(
        self,
        source_addr: str,
        destination_addr: str,
        short_message: bytes,
        *,
        data_coding: int = 0,
        esm_class: int = 0,
        timeout: float = 5.0,
    ) -> int:
        """Hand a text a handset sent to a bound ESME as deliver_sm; returns the command_status
        of its deliver_sm_resp."""

        async def deliver() -> int:
            session = next(iter(self._sessions.values()), None)
            if session is None:
                raise RuntimeError("no ESME is bound")
            answer = await session.deliver_sm(
                destination_addr=destination_addr,
                source_addr=source_addr,
                source_addr_ton=1,
                source_addr_npi=1,
                esm_class=esm_class,
                data_coding=data_coding,
                short_message=short_message,
            )
            return answer.command_status

        return asyncio.run_coroutine_threadsafe(deliver(), self._loop).result(timeout)

    def unbind_all(self, timeout: float = 5.0) -> None:
        """Unbind every bound ESME, as an SMSC going down for maintenance does."""

        async def unbind() -> None:
            for session in list(self._sessions.values()):
                await session.unbind()

        asyncio.run_coroutine_threadsafe(unbind(), self._loop).result(timeout)

    # --- reading -------------------------------------------------------------------------

    def stats(self) -> dict:
        with self._lock:
            destinations = Counter((t.destination_addr, t.short_message) for t in self.taken)
            return {
                "binds": self.binds,
                "unbinds": self.unbinds,
                "taken": len(self.taken),
                "accepted": sum(1 for t in self.taken if t.status == 0),
                "duplicates": sum(n - 1 for n in destinations.values() if n > 1),
                "receipts_sent": self.receipts_sent,
                "receipts_offered": self.receipts_offered,
                "receipts_resent": self.receipts_resent,
                "receipts_unacked": sum(len(held) for held in list(self._unacked.values())),
            }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--receipts", action="store_true")
    args = parser.parse_args(argv)
    smsc = LoopbackSmsc(port=args.port, receipts=args.receipts).start()
    print(f"ready {smsc.port}", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(smsc.stats()), flush=True)
            elif line.strip() == "stop":
                break
    finally:
        smsc.stop()


if __name__ == "__main__":
    main()
