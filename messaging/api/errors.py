"""The API edge's one mapping of errors to HTTP: the domain's `ContractError` (messaging/errors.py)
and every other exception become a status, the CONTRACT section 3 body and its headers."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, DataError, IntegrityError
from django.http import Http404
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as CacheConnectionError
from redis.exceptions import TimeoutError as CacheTimeoutError
from rest_framework import exceptions
from rest_framework.response import Response

from audiences.complexity import query_too_complex
from audiences.values import invalid_attributes
from messaging.errors import (
    INVALID_FORMAT,
    PARSE_FAILED,
    SERVER_FAILURE,
    TOO_COMPLEX,
    UNAUTHORIZED,
    ContractError,
    Refusal,
)
from messaging.errors import REQUEST_QUEUED as REQUEST_QUEUED  # re-exported for the views
from messaging.errors import invalid_format as invalid_format  # re-exported for the views

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


class RequestTooLarge(ContractError):
    def __init__(self, limit):
        super().__init__(f"Request body larger than {limit} bytes", status_code=Refusal.TOO_LARGE)


def refuse_unknown_keys(fields: dict, known) -> None:
    """The Volt MX family's 400 for body keys an endpoint does not know: no key is dropped silently."""
    unknown = [key for key in fields if key not in known]
    if unknown:
        raise ContractError(invalid_attributes(unknown))


def contract_body(message, request_id=""):
    return {"id": request_id, "message": message}


def translate_exception(exc):
    """Map any exception to (status, text, headers)."""
    if isinstance(exc, ContractError):
        headers = {} if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        return int(exc.status_code), exc.message, headers
    if isinstance(exc, exceptions.ParseError):
        return 400, PARSE_FAILED, {}
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return 401, UNAUTHORIZED, {}
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        return 429, f"Rate limit exceeded: try again in {wait} seconds", {"Retry-After": str(wait)}
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return 415, "Unsupported Content-Type: send application/json or text/xml", {}
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return 404, "Not found", {}
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, f"Method {exc.args[0] if exc.args else ''} not allowed".replace("  ", " "), {}
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return 403, "Forbidden", {}
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, str(exc.detail), {}
    if isinstance(exc, DataError):  # a value the client sent that the store cannot hold
        logger.warning("value refused by the store: %s", exc)
        return 400, INVALID_FORMAT.format(problems="a value cannot be stored"), {}
    if query_too_complex(exc):  # SQLSTATE class 54: the same request fails again, however often
        logger.warning("query refused by the store as too complex: %s", exc)
        return 400, INVALID_FORMAT.format(problems=TOO_COMPLEX), {}
    if isinstance(
        exc, (DatabaseError, BrokerError, ConnectionError, TimeoutError, CacheConnectionError, CacheTimeoutError)
    ) and not isinstance(exc, IntegrityError):
        logger.error("store or broker unavailable: %s", exc, exc_info=exc)
        return 503, SERVER_FAILURE, {"Retry-After": RETRY_AFTER_SECONDS}
    logger.error("unexpected failure", exc_info=exc)
    return 500, SERVER_FAILURE, {}


def contract_exception_handler(exc, context):
    status_code, message, headers = translate_exception(exc)
    response = Response(contract_body(message), status=status_code)
    for name, value in headers.items():
        response[name] = value
    if status_code == 401:
        response["WWW-Authenticate"] = 'Basic realm="smsgateway"'
    if getattr(exc, "wait", None) and "Retry-After" not in headers:
        response["Retry-After"] = str(int(exc.wait))
    return response
