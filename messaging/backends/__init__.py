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
    "get_backend",
]

_backends: dict[tuple[int, str], BaseSmsBackend] = {}


def get_backend(path: str | None = None) -> BaseSmsBackend:
    path = path or settings.SMS_BACKEND
    key = (os.getpid(), path)
    if key not in _backends:
        _backends[key] = import_string(path)(**settings.SMS_BACKEND_OPTIONS)
    return _backends[key]
