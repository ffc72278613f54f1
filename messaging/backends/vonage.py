"""Vonage (Nexmo), through its official SDK: texts by the SMS API.

`host_url` points the SDK at another host (a test server). The SDK speaks only HTTPS; a
`http://` host URL is served by an adapter that sends the same requests over plain HTTP, for a
test server on loopback. With a signature secret, requests are signed rather than sent with the
API secret, and delivery receipts are signed webhooks.
"""

import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from vonage import Auth, HttpClientOptions, Vonage
from vonage_http_client.errors import HttpRequestError
from vonage_sms import SmsMessage
from vonage_sms.errors import PartialFailureError, SmsError

from .base import PermanentProviderError, SendOutcome, TransientProviderError
from .http_common import TRANSPORT_ERRORS, HttpApiBackend, http_status_error, transport_error

logger = logging.getLogger(__name__)

# SMS API status codes: 1 throttled, 5 internal error, 9 quota exceeded; 4 and 8: the account.
TRANSIENT_STATUSES = {"1", "5", "9"}
ACCOUNT_STATUSES = {"4", "8"}
TTL_MIN_MS, TTL_MAX_MS = 20_000, 604_800_000
_STATUS_IN_TEXT = re.compile(r"error code (\d+)")


def classify_vonage_status(status: str, text: str):
    message = f"vonage status {status}: {text}"
    if status in ACCOUNT_STATUSES:
        return TransientProviderError(message, code="auth")
    if status in TRANSIENT_STATUSES:
        return TransientProviderError(message, code=status)
    return PermanentProviderError(message, code=status)


class _PlainHttpAdapter(HTTPAdapter):
    """Sends what the SDK addresses to https://host over plain HTTP."""

    def send(self, request, *args, **kwargs):
        request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, *args, **kwargs)


class VonageBackend(HttpApiBackend):
    name = "nexmo"

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        signature_secret: str = "",
        host_url: str = "",
        sender: str = "",
        status_callback: str = "",
        binds: int = 4,
        timeout: float = 10.0,
        name: str = "nexmo",
        **options,
    ):
        super().__init__(name=name, sender=sender, status_callback=status_callback, binds=binds, **options)
        # Sends use the API secret; the signature secret is for checking signed webhooks (the SDK
        # would sign the unset fields of a message too, which the SMS API does not receive).
        self.signature_secret = signature_secret
        auth = Auth(api_key=api_key, api_secret=api_secret)
        client_options: dict[str, object] = {"timeout": int(timeout), "max_retries": 0}
        plain_host = None
        if host_url:
            parts = urlsplit(host_url if "//" in host_url else f"https://{host_url}")
            client_options["rest_host"] = parts.netloc
            client_options["api_host"] = parts.netloc
            if parts.scheme == "http":
                plain_host = parts.netloc
        self.client = Vonage(auth, HttpClientOptions(**client_options))
        if plain_host:
            # The SDK keeps its requests session private; this is its only transport hook.
            self.client.http_client._session.mount(f"https://{plain_host}", _PlainHttpAdapter())

    def _ttl(self, expires_at: datetime | None) -> int | None:
        if expires_at is None:
            return None
        milliseconds = int((expires_at - datetime.now(UTC)).total_seconds() * 1000)
        return max(TTL_MIN_MS, min(TTL_MAX_MS, milliseconds))

    def _send_one(self, sms) -> SendOutcome:
        if sms.channel == "voice":
            return SendOutcome(
                key=sms.key, error=PermanentProviderError("voice is not configured for Vonage", code="no-voice")
            )
        fields = {
            "to": sms.phone.removeprefix("+"),
            "from_": (sms.sender or self.sender or "SMSGW").removeprefix("+"),
            "text": sms.text,
            "client_ref": str(sms.key),
            "status_report_req": True,
        }
        if sms.encoding == "ucs2":
            fields["type"] = "unicode"
        ttl = self._ttl(sms.expires_at)
        if ttl is not None:
            fields["ttl"] = ttl
        if self.status_callback and len(self.status_callback) <= 100:
            fields["callback"] = self.status_callback
        try:
            response = self.client.sms.send(SmsMessage(**fields))
        except PartialFailureError as error:
            # A long text split by Vonage where some part failed: report the first failure.
            failed: dict = next((m for m in error.response.get("messages", []) if m.get("status") != "0"), {})
            return SendOutcome(
                key=sms.key,
                error=classify_vonage_status(str(failed.get("status", "5")), str(failed.get("error-text", ""))),
            )
        except SmsError as error:
            found = _STATUS_IN_TEXT.search(str(error))
            return SendOutcome(key=sms.key, error=classify_vonage_status(found.group(1) if found else "5", str(error)))
        except HttpRequestError as error:
            # The SDK's AuthenticationError, ForbiddenError and RateLimitedError are its 401, 403 and 429.
            status = getattr(getattr(error, "response", None), "status_code", 500)
            return SendOutcome(key=sms.key, error=http_status_error(status, str(error)[:200], code=str(status)))
        except TRANSPORT_ERRORS as error:
            return SendOutcome(key=sms.key, error=transport_error(error))
        first = response.messages[0]
        return SendOutcome(key=sms.key, provider_message_id=first.message_id or "")
