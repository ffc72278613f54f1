import itertools

from .base import BaseSmsBackend, SendOutcome

outbox = []
_ids = itertools.count(1)


class LocmemBackend(BaseSmsBackend):
    """Keeps what it sends in `outbox`, for tests."""

    name = "locmem"

    def send_messages(self, messages):
        outcomes = []
        for sms in messages:
            outbox.append(sms)
            outcomes.append(SendOutcome(key=sms.key, provider_message_id=f"loc-{next(_ids)}"))
        return outcomes
