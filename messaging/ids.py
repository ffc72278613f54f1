"""Request ids: 63-bit, time-ordered, unique across processes and machines (Snowflake layout).

41 bits of milliseconds since 2024-01-01, 10 bits of node, 12 bits of sequence. The node comes
from REQUEST_ID_NODE (give each serving process its own, 0-1023); unset, it is the process id
mixed with a hash of the host name, so that processes of one machine whose ids lie within 1024
of each other (the workers of one gunicorn) never share a node. Across machines, set
REQUEST_ID_NODE; the request table's primary key guards against the rare clash all the same.
"""

import os
import socket
import threading
import time
import zlib

from django.conf import settings

EPOCH_MS = 1704067200000
NODE_BITS = 10
SEQUENCE_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


MAX_ID = 2**63 - 1  # the largest id a 64-bit signed key holds


def id_from_text(value) -> int | None:
    """A row id written as ASCII digits (in a URL, a search box, a query, or a JSON body's string
    or whole number), or None when the value is no such id or too large for the 64-bit key: never
    an exception for anything a client can send.

    The one spelling of the rule. Every id a client gives (request, recipient, member, segment,
    attribute) goes through it, so that a 19-digit id within the key (a request id is one) reads
    the same everywhere; some readers used to stop at 18 digits and refuse what others found."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def default_node() -> int:
    return (zlib.crc32(socket.gethostname().encode()) ^ os.getpid()) & MAX_NODE


class SnowflakeGenerator:
    def __init__(self, node: int):
        if not 0 <= node <= MAX_NODE:
            raise ValueError(f"node must be within 0..{MAX_NODE}")
        self.node = node
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = int(time.time() * 1000)
            if now < self._last_ms:
                now = self._last_ms  # the clock went back: stay on the last millisecond
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    while now <= self._last_ms:
                        now = int(time.time() * 1000)
            else:
                self._sequence = 0
            self._last_ms = now
            return ((now - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS)) | (self.node << SEQUENCE_BITS) | self._sequence


_generator = None
_generator_pid = None


def next_request_id() -> int:
    global _generator, _generator_pid
    if _generator is None or _generator_pid != os.getpid():
        node = settings.REQUEST_ID_NODE
        _generator = SnowflakeGenerator(node if node >= 0 else default_node())
        _generator_pid = os.getpid()
    return _generator.next_id()
