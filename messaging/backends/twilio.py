"""Twilio, through its official SDK: texts by the Messages API, voice by Calls with a TwiML <Say>.

`host_url` points the SDK at another base URL (a regional edge, or a test server). Each message
is one HTTP request (Twilio has no batch submit); a batch is spread over `binds` connections.
"""

import logging
from datetime import UTC, datetime

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from .base import SendOutcome
from .http_common import TRANSPORT_ERRORS, HttpApiBackend, http_status_error, transport_error

logger = logging.getLogger(__name__)
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every request at INFO

# Twilio error codes that are about the provider or the account, not the number: retry or fail over.
TRANSIENT_CODES = {20429, 20500, 20503, 30001, 30002, 30003, 30008, 14107}
VALIDITY_MAX_SECONDS = 36000  # Twilio's ValidityPeriod: 1 to 36,000 seconds


def classify_twilio_error(error: TwilioRestException):
    text = f"twilio {error.status} {error.code or ''}: {error.msg}".strip()
    return http_status_error(
        error.status, text, code=str(error.code or error.status), transient=error.code in TRANSIENT_CODES
    )


def say_twiml(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    return str(response)


class TwilioBackend(HttpApiBackend):
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
        name: str = "twilio",
        **options,
    ):
        super().__init__(name=name, sender=sender, status_callback=status_callback, binds=binds, **options)
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if host_url:
            self.client.api.base_url = host_url.rstrip("/")

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
            extra: dict[str, object] = {}
            validity = self._validity(sms.expires_at)
            if validity is not None:
                extra["validity_period"] = validity
            if callback:
                extra["status_callback"] = callback
            message = self.client.messages.create(to=sms.phone, from_=sender, body=sms.text, **extra)
            return SendOutcome(key=sms.key, provider_message_id=message.sid)
        except TwilioRestException as error:
            return SendOutcome(key=sms.key, error=classify_twilio_error(error))
        except TRANSPORT_ERRORS as error:
            return SendOutcome(key=sms.key, error=transport_error(error))
