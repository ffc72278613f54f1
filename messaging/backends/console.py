import sys
import threading
import uuid

from .base import BaseSmsBackend, SendOutcome


class ConsoleBackend(BaseSmsBackend):
    """Prints each SMS as it is sent: the default for a development run."""

    name = "console"

    def __init__(self, stream=None, **options):
        super().__init__(**options)
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, messages):
        outcomes = []
        with self._lock:
            for sms in messages:
                provider_id = uuid.uuid4().hex
                kind = "VOICE" if sms.channel == "voice" else "SMS"
                self.stream.write(
                    f"{kind} to {sms.phone} from {sms.sender or '-'} [{sms.encoding}] id={provider_id}: {sms.text}\n"
                )
                outcomes.append(SendOutcome(key=sms.key, provider_message_id=provider_id))
            self.stream.flush()
        return outcomes
