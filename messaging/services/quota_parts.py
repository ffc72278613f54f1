"""The parts a key's sends count, as the daily quota reads them.

Parts are counted on the text each recipient gets: a personalised message's recipient rows hold
their rendered text, and both the request's cost and the parts used today count that text (the
day's count in SQL, by the rules of messaging.text). A segment message is rendered at send time:
at the request a personalised one counts each member's text rendered in the database; dispatch
stores the text it renders on the row (so the day's count sees it from then on) and refuses one
longer than SMS_MAX_RENDERED_CHARS, which bounds what a member edited since can grow to.

The day's exact count (`api_key_parts_used_today`) is what a request past its shard's budget is
compared with (`quota_usage`), and `quota_exceeded` is the one refusal past the quota.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Case, F, IntegerField, QuerySet, Sum, Value, When
from django.db.models.functions import Length, Replace
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from messaging.errors import ContractError, Refusal
from messaging.models import ApiKey, Recipient, RecipientState, SmsMessage
from messaging.personalise import rendered_sql
from messaging.text import GSM7_BASIC, GSM7_EXTENDED

QUOTA_EXCEEDED = (
    "Daily quota of {quota} message parts exceeded for this API key: {used} used today, this request needs {needed}"
)


# Parts of a recipient's stored text, in SQL, by the rules of messaging.text.text_layout: GSM 03.38
# when every character is in its alphabet (the extension characters count two), else UCS-2 (a
# character outside the Basic Multilingual Plane counts two; a text holding one is counted as if
# every character did, an upper bound). An empty text is the message's own (its parts).
def _bracket(chars) -> str:
    """A regular-expression bracket body that PostgreSQL and Python read alike."""
    return "".join("\\" + ch if ch in "\\]^-[" else ch for ch in sorted(chars))


_NOT_GSM7 = f"[^{_bracket(GSM7_BASIC | GSM7_EXTENDED)}]"
_ASTRAL = "[\U00010000-\U0010ffff]"


def text_parts_sql(field: str, *, empty=None):
    """The parts of the text in `field` (a column or an annotation), as a database expression;
    `empty` is what an empty text counts (by default 1)."""
    length = Length(field)
    extended = sum((length - Length(Replace(field, Value(ch), Value(""))) for ch in sorted(GSM7_EXTENDED)), Value(0))
    ucs2_units = Case(When(**{f"{field}__regex": _ASTRAL}, then=length * Value(2)), default=length)
    return Case(
        When(**{field: ""}, then=empty if empty is not None else Value(1)),
        When(**{f"{field}__regex": _NOT_GSM7}, then=_units_to_parts(ucs2_units, 70, 67)),
        default=_units_to_parts(length + extended, 160, 153),
        output_field=IntegerField(),
    )


def _recipient_parts_sql():
    """A recipient's parts: its own (personalised) text's, or its message's when it has none."""
    return text_parts_sql("content", empty=F("message__parts"))


def audience_rendered_parts(audience: QuerySet, template: str) -> int:
    """The parts a personalised segment message costs: each member's rendered text counted, in
    the database."""
    rendered = audience.exclude(mobile__isnull=True).exclude(mobile="").annotate(rendered_text=rendered_sql(template))
    return rendered.aggregate(parts=Sum(text_parts_sql("rendered_text")))["parts"] or 0


def _units_to_parts(units, single: int, multi: int):
    """1 when `units` fit one part, else ceil(units / multi), in integer SQL arithmetic."""
    return Case(
        When(GreaterThan(units, Value(single)), then=(units + Value(multi - 1)) / Value(multi)),
        default=Value(1),
        output_field=IntegerField(),
    )


def day_start(now: datetime) -> datetime:
    """Quotas are counted per UTC day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def api_key_parts_used_today(
    *, api_key: ApiKey, now: datetime | None = None, besides_request_id: int | None = None
) -> int:
    """Parts of every recipient of this key's requests of today that is, or will be, sent (those
    of the request `besides_request_id` left out)."""
    since = day_start(now or timezone.now())
    rows = Recipient.objects.filter(message__request__api_key=api_key, message__request__created_at__gte=since)
    messages = SmsMessage.objects.filter(request__api_key=api_key, request__created_at__gte=since)
    if besides_request_id is not None:
        rows = rows.exclude(message__request_id=besides_request_id)
        messages = messages.exclude(request_id=besides_request_id)
    used = rows.exclude(state__in=[RecipientState.NOT_ATTEMPTED, RecipientState.CANCELLED]).aggregate(
        parts=Sum(_recipient_parts_sql())
    )["parts"]
    # Segment messages of today still being expanded: the part of their audience not yet written.
    waiting = messages.filter(
        expansion_done=False,
        expected_total__gt=F("expanded_count"),
    ).aggregate(parts=Sum(F("parts") * (F("expected_total") - F("expanded_count"))))["parts"]
    return (used or 0) + (waiting or 0)


def quota_exceeded(*, quota: int, used: int, needed: int, now: datetime) -> ContractError:
    """The 429 of a request past its key's daily quota, to be tried again when the UTC day ends."""
    retry_after = int((day_start(now) + timedelta(days=1) - now).total_seconds()) + 1
    return ContractError(
        QUOTA_EXCEEDED.format(quota=quota, used=used, needed=needed),
        status_code=Refusal.OVER_LIMIT,
        retry_after=retry_after,
    )


def stored_text_parts(text: str, *, empty: int = 1) -> int:
    """The parts the day's count (text_parts_sql) gives a stored text, in Python: as text_layout,
    except that a UCS-2 text holding a character outside the Basic Multilingual Plane counts two
    units for every character (the count's upper bound)."""
    if not text:
        return empty
    if any(ch not in _GSM7 for ch in text):
        units = len(text) * 2 if any(ord(ch) > 0xFFFF for ch in text) else len(text)
        return 1 if units <= 70 else -(-units // 67)
    units = len(text) + sum(1 for ch in text if ch in GSM7_EXTENDED)
    return 1 if units <= 160 else -(-units // 153)


_GSM7 = frozenset(GSM7_BASIC | GSM7_EXTENDED)
