"""Volt MX "Fetch SMS Status" (CONTRACT section 1): counters and one page of messages."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q

from messaging.ids import MAX_ID
from messaging.models import Recipient, RecipientState
from messaging.selectors import client_is_staff

MAX_PAGE = 1000
MAX_START = 10**9
DEFAULT_PAGE = 50
COUNTERS = [
    RecipientState.SUBMITTED,
    RecipientState.INITIAL,
    RecipientState.REJECTED,
    RecipientState.UNDELIVERED,
    RecipientState.DELIVERED,
    RecipientState.CANCELLED,
    RecipientState.EXPIRED,
    RecipientState.NOT_ATTEMPTED,
]


class StatusQueryError(ValueError):
    """What is wrong with a status query, in a few words."""


@dataclass(frozen=True)
class StatusQuery:
    request_id: int | None = None
    audience_id: int | None = None
    mobile: str = ""
    sent_from: date | None = None
    sent_until: date | None = None
    start_element: int = 1
    elements_per_page: int = DEFAULT_PAGE


def _date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.strptime(str(value).strip(), "%m/%d/%Y").date()
    except ValueError:
        raise StatusQueryError(f"{field} must be mm/dd/yyyy") from None


def _int(value, field: str, *, default: int | None, low: int, high: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise StatusQueryError(f"{field} must be a whole number")
    number = int(text)
    high = MAX_ID if high is None else high
    if number < low or number > high:
        raise StatusQueryError(f"{field} must be between {low} and {high}")
    return number


def status_query_parse(fields: dict) -> StatusQuery:
    """Read the query; every problem is listed (joined by the caller into the contract's text)."""
    problems = []
    values = {}
    readers = {
        "request_id": lambda: _int(fields.get("requestId"), "requestId", default=None, low=0),
        "audience_id": lambda: _int(fields.get("audienceId"), "audienceId", default=None, low=0),
        "sent_from": lambda: _date(fields.get("sentDate"), "sentDate"),
        "sent_until": lambda: _date(fields.get("endDate"), "endDate"),
        "start_element": lambda: _int(fields.get("startElement"), "startElement", default=1, low=1, high=MAX_START),
        "elements_per_page": lambda: _int(
            fields.get("elementsPerPage"), "elementsPerPage", default=DEFAULT_PAGE, low=1, high=MAX_PAGE
        ),
    }
    for name, read in readers.items():
        try:
            values[name] = read()
        except StatusQueryError as problem:
            problems.append(str(problem))
    mobile = str(fields.get("mobileNumber") or "").strip()
    if mobile and not (mobile.isascii() and mobile.lstrip("+").isdigit() and len(mobile) <= 20):
        problems.append("mobileNumber must be a phone number")
    if not problems and values["sent_from"] and values["sent_until"] and values["sent_until"] < values["sent_from"]:
        problems.append("endDate must not be before sentDate")
    if problems:
        raise StatusQueryError(", ".join(problems))
    return StatusQuery(mobile=mobile, **values)


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else ""


def sms_status_fetch(*, query: StatusQuery, client: str) -> dict:
    recipients = Recipient.objects.all()
    if not client_is_staff(client):
        recipients = recipients.filter(message__request__client=client)
    if query.request_id is not None:
        recipients = recipients.filter(message__request_id=query.request_id)
    if query.audience_id is not None:
        recipients = recipients.filter(member_id=query.audience_id)
    if query.mobile:
        mobile = query.mobile if query.mobile.startswith("+") else f"+{query.mobile}"
        recipients = recipients.filter(Q(phone=mobile) | Q(phone=query.mobile))
    if query.sent_from:
        recipients = recipients.filter(message__request__created_at__gte=datetime.combine(query.sent_from, time(), UTC))
    if query.sent_until:
        until = datetime.combine(query.sent_until + timedelta(days=1), time(), UTC)
        recipients = recipients.filter(message__request__created_at__lt=until)
    counts = {state.value: 0 for state in COUNTERS}
    for row in recipients.order_by().values("state").annotate(number=Count("id")):
        counts[row["state"]] = row["number"]
    counts["total"] = sum(counts.values())
    first = query.start_element - 1
    page = recipients.select_related("message").order_by("id")[first : first + query.elements_per_page]
    messages = [
        {
            "requestId": str(row.message.request_id),
            "messageId": str(row.pk),
            "audienceId": str(row.member_id) if row.member_id else "",
            "mobileNumber": row.phone,
            "channel": row.channel,
            "status": row.state,
            "priorityService": row.priority,
            "provider": row.provider,
            "providerMessageId": row.provider_message_id,
            "errorCode": row.error_code,
            "errorMessage": row.error,
            "resendOf": str(row.resend_of_id) if row.resend_of_id else "",
            "outcomeUnknown": row.outcome_unknown,
            "createdDate": _moment(row.created_at),
            "sentDate": _moment(row.submitted_at),
            "finalDate": _moment(row.final_at),
        }
        for row in page
    ]
    return {
        **counts,
        "startElement": query.start_element,
        "elementsPerPage": query.elements_per_page,
        "messages": messages,
    }
