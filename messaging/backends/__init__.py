"""Provider backends, chosen by dotted path (SMS_BACKEND), one instance per process."""

import os

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (
    BaseSmsBackend,
    OutboundSms,
    PermanentProviderError,
    ProviderError,
    Receipt,
    SendOutcome,
    TransientProviderError,
)

__all__ = [
    "BaseSmsBackend",
    "OutboundSms",
    "PermanentProviderError",
    "ProviderError",
    "Receipt",
    "SendOutcome",
    "TransientProviderError",
    "backends_forget",
    "get_backend",
]

_backends: dict[tuple[int, str], BaseSmsBackend] = {}


def get_backend(path: str | None = None, *, receipt_sink=None, inbound_sink=None) -> BaseSmsBackend:
    """The process's backend for `path`; the sinks are given to it when it is first built."""
    path = path or settings.SMS_BACKEND
    key = (os.getpid(), path)
    if key not in _backends:
        _backends[key] = import_string(path)(
            receipt_sink=receipt_sink, inbound_sink=inbound_sink, **settings.SMS_BACKEND_OPTIONS
        )
    return _backends[key]


def backends_forget() -> None:
    """Close and drop this process's settings-chosen backends (tests, settings changes)."""
    while _backends:
        _, backend = _backends.popitem()
        backend.close()
