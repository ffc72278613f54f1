"""SmppBackend: the provider backend that ties an SMPP link together. It holds `binds` sessions
(session.py), opens them (`connect`, `open_if_due`) and keeps them bound in the background
(`_keep_bound`), tells the link sink how many are up (`links_report`), sends each batch through
its sender (sender.py) and marks the batch for the receipt hold in its deliveries
(delivery.py)."""

import logging
import threading
import time

from ..base import LINK_REPORT_SECONDS, BaseSmsBackend, OutboundSms, SendOutcome
from .delivery import Deliveries
from .options import SmppOptions
from .sender import Sender
from .session import SmppSession

logger = logging.getLogger(__package__)  # one logger for the whole SMPP backend


class SmppBackend(BaseSmsBackend):
    """Built with the options of options.SmppOptions, and the sinks of BaseSmsBackend."""

    name = "smpp"

    def __init__(self, **options):
        self.config, rest = SmppOptions.split(options)
        super().__init__(**rest)  # the sinks
        self.name = self.config.name  # services.providers names it after its provider
        self.changed = threading.Condition()  # guards the sessions' outstanding parts
        self.closed = False
        self._opening = threading.Lock()
        self._links_reported_at = 0.0
        self._keeper: threading.Thread | None = None
        self.sessions = [SmppSession(self, number) for number in range(self.config.binds)]
        self.binds_opened = 0
        self.enquire_links_answered = 0
        self.sender = Sender(self)
        self.deliveries = Deliveries(self)

    def send_messages(self, messages: list[OutboundSms]) -> list[SendOutcome]:
        self.deliveries.batch_begin()
        try:
            return self.sender.send(messages)
        finally:
            self.deliveries.batch_end()

    # --- the binds -------------------------------------------------------------------------

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
            if self._keeper is None and not self.closed:
                self._keeper = threading.Thread(target=self._keep_bound, name=f"smpp-{self.name}-keeper", daemon=True)
                self._keeper.start()
        return sum(session.alive for session in self.sessions)

    def _open_due(self) -> None:
        now = time.monotonic()
        for session in self.sessions:
            if not self.closed:
                self.open_if_due(session, now)

    def _keep_bound(self) -> None:
        while not self.closed:
            time.sleep(min(1.0, self.config.reconnect_max_seconds))
            try:
                self._open_due()
            except Exception:
                logger.warning("SMPP rebind failed", exc_info=True)

    def open_if_due(self, session: SmppSession, now: float) -> bool:
        """Open a session that is down and past its backoff; one thread at a time opens."""
        if session.alive or session.sock is not None or now < session.next_attempt:
            return False
        with self._opening:
            if self.closed or session.alive or session.sock is not None or time.monotonic() < session.next_attempt:
                return False
            return session.open()

    def close(self) -> None:
        self.closed = True
        with self._opening:  # no bind is being opened past this point
            pass
        for session in self.sessions:
            session.unbind()
        self.deliveries.wake()
