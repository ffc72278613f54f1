"""What the HTTP API backends (Twilio, Vonage) share: how a failed request is classified, and how
a batch is spread over a few connections, one request per message.

A refused or timed-out connect never reached the provider: retry or fail over. A connection dropped
or a read timed out after the request left may have been taken: the error is marked
`outcome_unknown`. A rejected credential (401/403) is the account's problem, not the number's:
transient with code "auth", so that dispatch fails over. Throttling (429) and server errors (5xx)
are transient; any other status is about the message and permanent.
"""

from concurrent.futures import ThreadPoolExecutor

import requests

from .base import BaseSmsBackend, PermanentProviderError, ProviderError, TransientProviderError

AUTH_STATUSES = {401, 403}
TRANSPORT_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)


def http_status_error(status: int, text: str, *, code: str, transient: bool = False) -> ProviderError:
    """The error for an HTTP answer of `status`; `transient` marks a provider's own code for retry."""
    if status in AUTH_STATUSES:
        return TransientProviderError(text, code="auth")
    if transient or status == 429 or status >= 500:
        return TransientProviderError(text, code=code)
    return PermanentProviderError(text, code=code)


def transport_error(error: requests.exceptions.RequestException) -> TransientProviderError:
    """The error for a request that got no HTTP answer (one of TRANSPORT_ERRORS)."""
    text = str(error)[:200]
    if isinstance(error, requests.exceptions.ConnectionError):
        if isinstance(error, requests.exceptions.ConnectTimeout) or "refused" in str(error).lower():
            return TransientProviderError(text, code="connect")
        unknown = TransientProviderError(text, code="dropped")
    else:
        unknown = TransientProviderError(text, code="timeout")
    unknown.outcome_unknown = True  # the request left; the provider may have taken it
    return unknown


class HttpApiBackend(BaseSmsBackend):
    """A backend that sends each message as one HTTP request, `binds` requests at a time."""

    def __init__(self, *, name: str, sender: str, status_callback: str, binds: int, **options):
        super().__init__(**options)
        self.name = name
        self.sender = sender
        self.status_callback = status_callback
        self.workers = max(1, int(binds))

    def _send_one(self, sms):
        raise NotImplementedError

    def send_messages(self, messages):
        if len(messages) <= 1 or self.workers == 1:
            return [self._send_one(sms) for sms in messages]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(messages))) as pool:
            return list(pool.map(self._send_one, messages))
