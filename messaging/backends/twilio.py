"""Twilio, through its official SDK: texts by the Messages API, voice by Calls with a TwiML <Say>.

`host_url` points the SDK at another base URL (a regional edge, or a test server). Each message
is one HTTP request (Twilio has no batch submit); a batch is spread over `binds` connections.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from .base import BaseSmsBackend, PermanentProviderError, SendOutcome, TransientProviderError

logger = logging.getLogger(__name__)
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every request at INFO

# Twilio error codes that are about the provider or the account, not the number: retry or fail over.
TRANSIENT_CODES = {20429, 20500, 20503, 30001, 30002, 30003, 30008, 14107}
AUTH_STATUSES = {401, 403}
VALIDITY_MAX_SECONDS = 36000  # Twilio's ValidityPeriod: 1 to 36,000 seconds


def classify_twilio_error(error: TwilioRestException):
    code = str(error.code or error.status)
    text = f"twilio {error.status} {error.code or ''}: {error.msg}".strip()
    if error.status in AUTH_STATUSES:
        return TransientProviderError(text, code="auth")
    if error.status == 429 or error.status >= 500 or (error.code in TRANSIENT_CODES):
        return TransientProviderError(text, code=code)
    return PermanentProviderError(text, code=code)


def say_twiml(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    return str(response)


class TwilioBackend(BaseSmsBackend):
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        host_url: str = "",
        sender: str = "",
        status_callback: str = "",
        binds: int = 4,
        timeout: float = 10.0,
        receipt_sink=None,
        name: str = "twilio",
        **options,
    ):
        super().__init__(receipt_sink=receipt_sink, **options)
        self.name = name
        self.sender = sender
        self.status_callback = status_callback
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if host_url:
            self.client.api.base_url = host_url.rstrip("/")
        self.workers = max(1, int(binds))

    def _validity(self, expires_at: datetime | None) -> int | None:
        if expires_at is None:
            return None
        seconds = int((expires_at - datetime.now(UTC)).total_seconds())
        return max(1, min(VALIDITY_MAX_SECONDS, seconds))

    def _send_one(self, sms) -> SendOutcome:
        callback = self.status_callback or None
        sender = sms.sender or self.sender
        try:
            if sms.channel == "voice":
                call = self.client.calls.create(
                    to=sms.phone,
                    from_=sender,
                    twiml=say_twiml(sms.text),
                    **({"status_callback": callback} if callback else {}),
                )
                return SendOutcome(key=sms.key, provider_message_id=call.sid)
            extra = {}
            validity = self._validity(sms.expires_at)
            if validity is not None:
                extra["validity_period"] = validity
            if callback:
                extra["status_callback"] = callback
            message = self.client.messages.create(to=sms.phone, from_=sender, body=sms.text, **extra)
            return SendOutcome(key=sms.key, provider_message_id=message.sid)
        except TwilioRestException as error:
            return SendOutcome(key=sms.key, error=classify_twilio_error(error))
        except requests.exceptions.ConnectionError as error:
            if isinstance(error, requests.exceptions.ConnectTimeout) or "refused" in str(error).lower():
                return SendOutcome(key=sms.key, error=TransientProviderError(str(error)[:200], code="connect"))
            unknown = TransientProviderError(str(error)[:200], code="dropped")
            unknown.outcome_unknown = True
            return SendOutcome(key=sms.key, error=unknown)
        except requests.exceptions.Timeout as error:
            unknown = TransientProviderError(str(error)[:200], code="timeout")
            unknown.outcome_unknown = True  # the request left; Twilio may have taken it
            return SendOutcome(key=sms.key, error=unknown)

    def send_messages(self, messages):
        if len(messages) <= 1 or self.workers == 1:
            return [self._send_one(sms) for sms in messages]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(messages))) as pool:
            return list(pool.map(self._send_one, messages))
