"""What the audience APIs share: callers, paging, dates and the unknown-key refusal. The views
are in audience_segments.py (segments), audience_members.py (members) and
audience_attributes.py (attributes); each parses, calls one service and renders. They live at the
API edge beside the SMS API, which authenticates their callers: `audiences` itself holds the
members, segments and their services, and knows nothing of HTTP or of partner keys."""

import datetime

from django.http import Http404
from django.utils import timezone

from audiences import values
from messaging.api.authentication import PartnerSystem
from messaging.errors import ContractError
from messaging.ids import id_from_text

MAX_PAGE = 1000
DEFAULT_PAGE = 100


INVALID_FORMAT = "Invalid request format"


def invalid_attributes(keys) -> ContractError:
    """The 400 for body keys an endpoint does not know (never dropped silently)."""
    return ContractError(values.invalid_attributes(keys))


def caller_audience_owner(request) -> str | None:
    """Whose audience a caller works in: "key:<id>" for a partner system, None for a gateway user
    (staff by permission), who reaches the whole audience and makes shared entries."""
    if isinstance(request.user, PartnerSystem):
        return f"key:{request.user.api_key.pk}"
    return None


def caller_name(request) -> str:
    """The name recorded as createdBy / lastModifiedBy."""
    if isinstance(request.user, PartnerSystem):
        return request.user.api_key.name
    return request.user.get_username()


def volt_mx_date_text(moment: datetime.datetime | None) -> str:
    """A moment as Volt MX writes `...DateStr`: `06/21/2016 03:25:01 PM IST`, in local time."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%m/%d/%Y %I:%M:%S %p %Z")


def start_page_size(request, *, default: int = DEFAULT_PAGE) -> tuple[int, int]:
    """Volt MX list paging: `start` (0-based offset) and `pageSize` (how many), from the query."""

    def number(name, fallback, low, high):
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return fallback
        if not (raw.isascii() and raw.strip().isdigit()) or not low <= int(raw) <= high:
            raise ContractError(f"{INVALID_FORMAT}: {name} must be a whole number from {low} to {high}")
        return int(raw)

    return number("start", 0, 0, 10**12), number("pageSize", default, 1, MAX_PAGE)


def _object_id(raw: str) -> int:
    number = id_from_text(raw)
    if number is None:
        raise Http404
    return number


def _body(request) -> dict:
    body = request.data
    if not isinstance(body, dict):
        raise ContractError("the body must be a JSON object")
    return body
