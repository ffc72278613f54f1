"""What every provider backend takes and returns: plain values, never ORM rows."""

from dataclasses import dataclass
from datetime import datetime


class ProviderError(Exception):
    permanent = False
    outcome_unknown = False  # the request left: the provider may have taken it

    def __init__(self, message: str = "", *, code: str = ""):
        super().__init__(message or code)
        self.code = code


class TransientProviderError(ProviderError):
    """Worth trying again later: throttled, queue full, timeout, 5xx, dropped bind."""


class PermanentProviderError(ProviderError):
    """Never worth trying again: invalid number, unknown subscriber, refused content."""

    permanent = True


@dataclass(frozen=True)
class OutboundSms:
    key: int  # the recipient row's id; outcomes are matched by it
    phone: str
    text: str
    channel: str = "text"
    sender: str = ""
    encoding: str = "gsm7"
    priority: bool = False
    expires_at: datetime | None = None


@dataclass
class SendOutcome:
    key: int
    provider_message_id: str = ""
    error: ProviderError | None = None


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt as the provider reported it; matched to a recipient by the service."""

    provider_message_id: str
    delivered: bool
    status: str = ""  # the provider's own word: DELIVRD, UNDELIV, delivered, failed, ...
    error_code: str = ""
    provider: str = ""
    at: datetime | None = None


LINK_REPORT_SECONDS = 10.0


class BaseSmsBackend:
    """Constructed with the provider's options; `receipt_sink` takes receipts that arrive on the
    backend's own connection (SMPP deliver_sm), as a list of Receipt, and `inbound_sink` the texts
    members send that arrive there (SMPP mobile-originated deliver_sm), as a list of InboundText.
    Either raises when it could not store them, so that the provider sends them again.
    `link_sink(alive, total)` hears how many of its long-lived links (SMPP binds) are up, when
    that changes and every LINK_REPORT_SECONDS, for the console. The gateway's sinks, which take
    these to the database, are messaging/services/providers/sinks.py."""

    name = "base"

    def __init__(self, *, receipt_sink=None, inbound_sink=None, link_sink=None, **options):
        self.receipt_sink = receipt_sink
        self.inbound_sink = inbound_sink
        self.link_sink = link_sink
        self.options = options

    def send_messages(self, messages: list[OutboundSms]) -> list[SendOutcome]:
        raise NotImplementedError

    def connect(self) -> int:
        """Open the backend's long-lived links now rather than at the first send (receipts and
        members' texts arrive on them); returns how many are open. Nothing for HTTP backends."""
        return 0

    def close(self) -> None:
        pass
