"""Appends each SMS as one JSON line to a file: an outbox that another process can read.

Options: `path` (required). Lines are written whole under a lock and flushed, so a reader
never sees half an SMS.
"""

import json
import os
import threading
import uuid

from .base import BaseSmsBackend, SendOutcome


class FileboxBackend(BaseSmsBackend):
    name = "filebox"

    def __init__(self, path=None, **options):
        super().__init__(**options)
        if not path:
            raise ValueError("FileboxBackend needs a `path` option")
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def send_messages(self, messages):
        outcomes = []
        lines = []
        for sms in messages:
            provider_id = uuid.uuid4().hex
            lines.append(
                json.dumps(
                    {
                        "id": provider_id,
                        "key": sms.key,
                        "phone": sms.phone,
                        "text": sms.text,
                        "channel": sms.channel,
                        "sender": sms.sender,
                        "encoding": sms.encoding,
                    },
                    ensure_ascii=False,
                )
            )
            outcomes.append(SendOutcome(key=sms.key, provider_message_id=provider_id))
        with self._lock, open(self.path, "a", encoding="utf-8") as outbox:
            outbox.write("".join(line + "\n" for line in lines))
            outbox.flush()
        return outcomes
