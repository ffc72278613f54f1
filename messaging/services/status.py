"""Volt MX "Fetch SMS Status", "Fetch All SMS" and "Get Full Content" (voltmx-family.md section 4).

Each reads the recipients the caller may see: a partner key and a gateway user their own requests,
a staff user every request. `client=None` is the open legacy mode of Fetch All SMS and Get Full
Content (VOLTMX_OPEN_FETCH_APIS): every request, as Volt MX serves them.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q

from messaging.ids import MAX_ID, id_from_text
from messaging.models import Provider, Recipient, RecipientState
from messaging.personalise import recipient_text
from messaging.selectors import client_sees_every_request, recipient_state_counts

MAX_PAGE = 1000
MAX_START = 10**9
DEFAULT_PAGE = 50

# The documented texts (Fetch_SMS_Status.md, Fetch_All_SMS_API_with_*.md, Get_full_content_-SMS_API.md).
INVALID_KEYS = "The Request Contains Invalid keys"
REQUEST_ID_NOT_DIGITS = "Request ID should not contain alphabets or special characters"
SENT_DATE_MISSING = "Please provide sent date"
AUDIENCE_ID_MISSING = "Audience ID is missing"
AUDIENCE_AND_MOBILE_MISSING = "Audience ID and mobile number are missing. One of them is needed to process the request"
NO_AUDIENCE_FOR_MOBILE = "No valid audience found with the given Mobile Number"
NO_SMS_FOUND = "Invalid SMS ID. No message found with the provided ID"

STATUS_KEYS = ("requestId", "audienceId", "mobileNumber", "sentDate", "endDate", "startElement", "elementsPerPage")
FETCH_KEYS = ("audienceId", "mobileNo", "startElement", "elementsPerPage")
# The sample request sends the format itself as the date: that is no date given.
DATE_PLACEHOLDER = "mm/dd/yyyy"

# The documented counters in the documented order ("opened" is always 0: SMS has no read receipt),
# then the contract's own (delivered, expired) beside them.
COUNTERS = (
    ("submitted", RecipientState.SUBMITTED),
    ("initial", RecipientState.INITIAL),
    ("rejected", RecipientState.REJECTED),
    ("opened", None),
    ("not attempted", RecipientState.NOT_ATTEMPTED),
    ("undelivered", RecipientState.UNDELIVERED),
    ("cancelled", RecipientState.CANCELLED),
    ("delivered", RecipientState.DELIVERED),
    ("expired", RecipientState.EXPIRED),
)
# The documented spellings of a message's status (`Submitted`, `Initial`; the rest alike).
STATUS_TEXT = {
    RecipientState.INITIAL: "Initial",
    RecipientState.SUBMITTED: "Submitted",
    RecipientState.DELIVERED: "Delivered",
    RecipientState.UNDELIVERED: "Undelivered",
    RecipientState.REJECTED: "Rejected",
    RecipientState.CANCELLED: "Cancelled",
    RecipientState.EXPIRED: "Expired",
    RecipientState.NOT_ATTEMPTED: "Not Attempted",
}
# Handed to a provider: what Fetch All SMS counts as submitted.
SUBMITTED_STATES = (RecipientState.SUBMITTED, RecipientState.DELIVERED, RecipientState.UNDELIVERED)


class StatusQueryError(ValueError):
    """A query refused: `documented` is one of the pages' own texts, answered as it is; otherwise
    `problems` are a few words each, for the contract's `Invalid request format` list."""

    def __init__(self, *, documented: str = "", problems: list[str] | None = None):
        self.documented = documented
        self.problems = problems or []
        super().__init__(documented or ", ".join(self.problems))


@dataclass(frozen=True)
class StatusQuery:
    request_id: int | None = None
    audience_id: int | None = None
    mobile: str = ""
    sent_from: date | None = None
    sent_until: date | None = None
    start_element: int = 0
    elements_per_page: int = DEFAULT_PAGE


@dataclass(frozen=True)
class FetchQuery:
    audience_id: int | None = None
    mobile: str = ""
    start_element: int = 0
    elements_per_page: int = DEFAULT_PAGE


def _given(value) -> bool:
    return value is not None and str(value).strip() != ""


def _refuse_unknown_keys(fields: dict, known: tuple[str, ...]) -> None:
    unknown = [str(key) for key in fields if key not in known]
    if unknown:
        raise StatusQueryError(documented=f"{INVALID_KEYS}: {', '.join(unknown)}")


def _date(value, field: str) -> date | None:
    if not _given(value) or str(value).strip().lower() == DATE_PLACEHOLDER:
        return None
    try:
        return datetime.strptime(str(value).strip(), "%m/%d/%Y").date()
    except ValueError:
        raise StatusQueryError(problems=[f"{field} must be mm/dd/yyyy"]) from None


def _digits(value) -> bool:
    text = str(value).strip()
    return text.isascii() and text.isdigit()


def _int(value, field: str, *, default: int | None, low: int, high: int | None = None) -> int | None:
    if not _given(value):
        return default
    number = id_from_text(value)
    if number is None:
        raise StatusQueryError(problems=[f"{field} must be a whole number"])
    high = MAX_ID if high is None else high
    if number < low or number > high:
        raise StatusQueryError(problems=[f"{field} must be between {low} and {high}"])
    return number


def _mobile(value) -> str:
    """A mobile number as sent (string or number), digits with an optional leading +; "" if absent."""
    if not _given(value) or isinstance(value, bool):
        return ""
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("+").isdigit() and text.count("+") <= 1 and len(text) <= 20):
        raise ValueError(text)
    return text if text.startswith("+") else f"+{text}"


def _read_all(readers: dict) -> tuple[dict, list[str]]:
    values, problems = {}, []
    for name, read in readers.items():
        try:
            values[name] = read()
        except StatusQueryError as problem:
            problems.extend(problem.problems)
    return values, problems


def _paging_readers(fields: dict) -> dict:
    return {
        "start_element": lambda: _int(fields.get("startElement"), "startElement", default=0, low=0, high=MAX_START),
        "elements_per_page": lambda: _int(
            fields.get("elementsPerPage"), "elementsPerPage", default=DEFAULT_PAGE, low=1, high=MAX_PAGE
        ),
    }


def status_query_parse(fields: dict) -> StatusQuery:
    """Read a Fetch SMS Status body. The documented texts come first (unknown keys, a request id
    with other than digits, an end date without a sent date); other problems are listed together."""
    _refuse_unknown_keys(fields, STATUS_KEYS)
    request_id = fields.get("requestId")
    if _given(request_id) and (isinstance(request_id, bool) or not _digits(request_id)):
        raise StatusQueryError(documented=REQUEST_ID_NOT_DIGITS)
    values, problems = _read_all(
        {
            "request_id": lambda: _int(request_id, "requestId", default=None, low=0),
            "audience_id": lambda: _int(fields.get("audienceId"), "audienceId", default=None, low=0),
            "sent_from": lambda: _date(fields.get("sentDate"), "sentDate"),
            "sent_until": lambda: _date(fields.get("endDate"), "endDate"),
            **_paging_readers(fields),
        }
    )
    if not problems and values["sent_until"] and not values["sent_from"]:
        raise StatusQueryError(documented=SENT_DATE_MISSING)
    try:
        mobile = _mobile(fields.get("mobileNumber"))
    except ValueError:
        problems.append("mobileNumber must be a phone number")
    if not problems and values["sent_from"] and values["sent_until"] and values["sent_until"] < values["sent_from"]:
        problems.append("endDate must not be before sentDate")
    if problems:
        raise StatusQueryError(problems=problems)
    return StatusQuery(mobile=mobile, **values)


def fetch_query_parse(fields: dict) -> FetchQuery:
    """Read a Fetch All SMS body: `audienceId` or `mobileNo`, and the paging."""
    _refuse_unknown_keys(fields, FETCH_KEYS)
    if not _given(fields.get("audienceId")) and not _given(fields.get("mobileNo")):
        only_audience = "audienceId" in fields and "mobileNo" not in fields
        raise StatusQueryError(documented=AUDIENCE_ID_MISSING if only_audience else AUDIENCE_AND_MOBILE_MISSING)
    try:
        mobile = _mobile(fields.get("mobileNo"))
    except ValueError:
        raise StatusQueryError(documented=NO_AUDIENCE_FOR_MOBILE) from None
    values, problems = _read_all(
        {
            "audience_id": lambda: _int(fields.get("audienceId"), "audienceId", default=None, low=0),
            **_paging_readers(fields),
        }
    )
    if problems:
        raise StatusQueryError(problems=problems)
    return FetchQuery(mobile=mobile, **values)


def _visible(client: str | None):
    recipients = Recipient.objects.all()
    if client is not None and not client_sees_every_request(client):
        recipients = recipients.filter(message__request__client=client)
    return recipients


def _epoch_ms(value: datetime | None) -> str:
    return str(int(value.timestamp() * 1000)) if value else ""


def _gateways(rows) -> dict[str, str]:
    """Each provider name of the page to its kind (`TWILIO`), as the status messages name it."""
    names = {row.provider for row in rows if row.provider}
    return dict(Provider.objects.filter(name__in=names).values_list("name", "kind")) if names else {}


def _status_message(row: Recipient, gateways: dict[str, str]) -> str:
    gateway = gateways.get(row.provider) or row.provider or "SMS"
    because = f": {row.error}" if row.error else ""
    return {
        RecipientState.INITIAL: "Initial",
        RecipientState.SUBMITTED: f"SMS request sent to {gateway} Gateway",
        RecipientState.DELIVERED: f"SMS delivered by {gateway} Gateway",
        RecipientState.UNDELIVERED: f"SMS not delivered by {gateway} Gateway{because}",
        RecipientState.REJECTED: f"SMS rejected by {gateway} Gateway{because}",
        RecipientState.CANCELLED: "Cancelled",
        RecipientState.EXPIRED: "Expired",
        RecipientState.NOT_ATTEMPTED: f"Not attempted{because}",
    }.get(row.state, row.state)


def _by_mobile(recipients, mobile: str):
    return recipients.filter(Q(phone=mobile) | Q(phone=mobile.removeprefix("+")))


def _page(recipients, start: int, size: int):
    return recipients[start : start + size]


def sms_status_fetch(*, query: StatusQuery, client: str | None) -> dict:
    """The counters over every matching message and one page of them, newest first (as the
    page's sample lists them)."""
    recipients = _visible(client)
    if query.request_id is not None:
        recipients = recipients.filter(message__request_id=query.request_id)
    if query.audience_id is not None:
        recipients = recipients.filter(member_id=query.audience_id)
    if query.mobile:
        recipients = _by_mobile(recipients, query.mobile)
    if query.sent_from:
        recipients = recipients.filter(message__request__created_at__gte=datetime.combine(query.sent_from, time(), UTC))
    if query.sent_until:
        until = datetime.combine(query.sent_until + timedelta(days=1), time(), UTC)
        recipients = recipients.filter(message__request__created_at__lt=until)
    counts = recipient_state_counts(recipients)
    counters = {name: counts[state] if state else 0 for name, state in COUNTERS}
    rows = list(
        _page(recipients.select_related("message").order_by("-id"), query.start_element, query.elements_per_page)
    )
    gateways = _gateways(rows)
    messages = [
        {
            "sentDate": _epoch_ms(row.submitted_at or row.created_at),
            "smsId": str(row.pk),
            "lastActivityDate": _epoch_ms(row.final_at or row.submitted_at or row.created_at),
            "mobileNumber": row.phone,
            "requestId": str(row.message.request_id),
            "audienceId": str(row.member_id) if row.member_id else "",
            "statusMessage": _status_message(row, gateways),
            "status": STATUS_TEXT.get(row.state, row.state),
        }
        for row in rows
    ]
    return {**counters, "total": counts["total"], "messages": messages}


def sms_fetch_all(*, query: FetchQuery, client: str | None) -> dict:
    """Fetch All SMS: one member's (or one number's) messages, newest first, with their resolved text."""
    recipients = _visible(client)
    if query.audience_id is not None:
        recipients = recipients.filter(member_id=query.audience_id)
    if query.mobile:
        recipients = _by_mobile(recipients, query.mobile)
    counts = recipient_state_counts(recipients)
    rows = _page(
        recipients.select_related("message", "member").order_by("-id"), query.start_element, query.elements_per_page
    )
    return {
        "totalMessages": counts["total"],
        "openedMessages": 0,
        "messages": [
            {"fetchId": str(row.pk), "content": recipient_text(row), "status": STATUS_TEXT.get(row.state, row.state)}
            for row in rows
        ],
        "submittedMessages": sum(counts[state] for state in SUBMITTED_STATES),
    }


def sms_full_content(*, sms_id: str, client: str | None) -> str:
    """Get Full Content: one message's text as its recipient gets it, personalisation resolved.
    Another caller's message is the same 400 as one that does not exist."""
    number = id_from_text(sms_id)
    row = None
    if number is not None:
        row = _visible(client).select_related("message", "member").filter(pk=number).first()
    if row is None:
        raise StatusQueryError(documented=NO_SMS_FOUND)
    return recipient_text(row)
