"""What one partner key may send: a daily quota of message parts and a list of destination countries;
and what no request may do unless its key is allowed: send to a premium-rate (or other refused)
number type, cost more parts than SMS_MAX_PARTS_PER_REQUEST, or grow by personalisation past
SMS_MAX_RENDERED_CHARS.

OWASP API4 (unrestricted resource consumption) names SMS as the resource such limits protect.
Both are checked inside the transaction that stores a request, once its recipients are known, so
that a request past either is refused whole with a 4xx that names the limit. A segment message's
recipients are written later, by expansion: its audience is counted at the request against the
quota (and that count is kept as the message's expected total, so that later requests of the day
count it before it is written), and checked against the countries by calling code; dispatch
checks every recipient of a key with countries once more, by region, and rejects one outside
them (a new member since the request, or a region that shares its calling code, as Canada does
the United States' +1).

Parts are counted on the text each recipient gets: a personalised message's recipient rows hold
their rendered text, and both the request's cost and the parts used today count that text (the
day's count in SQL, by the rules of messaging.text). A segment message is rendered at send time:
at the request a personalised one counts each member's text rendered in the database; dispatch
stores the text it renders on the row (so the day's count sees it from then on) and refuses one
longer than SMS_MAX_RENDERED_CHARS, which bounds what a member edited since can grow to.

The daily quota is checked in O(1): a key's parts of each UTC day are booked on a few rows
(ApiKeyDailyUsage, its shards), each request adding its cost to one of them by one upsert in the
transaction that stores it, and every later growth of the day's count (a text rendered at send
time, a resend, a voice call, an expansion past its counted audience) is added as it happens;
what lowers the count (a cancel, a recipient not attempted) is not subtracted. So the shards
together never fall below the exact count. With a quota, each shard holds a share of it (its
budget, verified for that quota): a request that fits its shard's budget fits the quota as the
exact count would say, and a key's requests lock different rows, so they do not wait for each
other's commits. A request that does not fit, finds its shard unverified (a key's first request
of the day, a growth since) or set for another quota, is stored again with every shard of the
day locked: the day's rows are counted exactly as before (the same 429), and the shards are set
from that count.
"""

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Length, Replace
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from messaging.errors import ContractError, Problem, Refusal, invalid_format
from messaging.models import ApiKey, ApiKeyDailyUsage, Recipient, RecipientState, SmsMessage
from messaging.personalise import rendered_sql
from messaging.specs import NUMBER_TYPE_NAMES, MessageSpec
from messaging.text import GSM7_BASIC, GSM7_EXTENDED, text_layout

COUNTRY_REFUSED_CODE = "country-not-allowed"
NUMBER_TYPE_REFUSED_CODE = "number-type-not-allowed"
RENDERED_TOO_LONG_CODE = "rendered-too-long"
# Refusals of a destination itself: a voice call instead of the text would go to the same place.
DESTINATION_REFUSED_CODES = (COUNTRY_REFUSED_CODE, NUMBER_TYPE_REFUSED_CODE, RENDERED_TOO_LONG_CODE)
NUMBER_TYPE_NOT_ALLOWED = "number type {kind} not allowed"
PARTS_PER_REQUEST_EXCEEDED = "more than {limit} message parts in one request (this one needs {needed})"
RENDERED_TOO_LONG = "personalised content longer than {limit} characters"
COUNTRY_NOT_ALLOWED = "Destination country not allowed for this API key: {refused} (allowed: {allowed})"
QUOTA_EXCEEDED = (
    "Daily quota of {quota} message parts exceeded for this API key: {used} used today, this request needs {needed}"
)


def _parsed(phone: str):
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=65536)
def phone_country(phone: str) -> str:
    """The ISO 3166 region of an E.164 number, or "ZZ" when it has none."""
    number = _parsed(phone)
    return (phonenumbers.region_code_for_number(number) if number else None) or "ZZ"


@lru_cache(maxsize=65536)
def phone_number_type(phone: str) -> str:
    """The phonenumbers type of an E.164 number by name (MOBILE, PREMIUM_RATE, ...); UNKNOWN for
    a number that is not valid."""
    number = _parsed(phone)
    return NUMBER_TYPE_NAMES.get(phonenumbers.number_type(number), "UNKNOWN") if number else "UNKNOWN"


def refused_number_types(api_key: ApiKey | None) -> set[str]:
    """The number types refused to this key: the gateway's list less the key's allowance."""
    refused = {str(name).strip().upper() for name in settings.SMS_REFUSED_NUMBER_TYPES}
    if api_key is not None:
        refused -= {str(name).strip().upper() for name in (api_key.allowed_number_types or [])}
    return refused


def number_types_check(*, api_key: ApiKey | None, specs: list[MessageSpec]) -> None:
    """Refuse a request listing a mobile of a refused number type, with a 400 naming the type
    and the numbers (the first five of each type, in each message)."""
    refused = refused_number_types(api_key)
    problems = []
    for spec in specs:
        by_kind: dict[str, list[str]] = {}
        for ref in spec.recipients:
            if ref.mobile:
                kind = ref.number_type or phone_number_type(ref.mobile)
                if kind in refused and ref.mobile not in by_kind.setdefault(kind, []):
                    by_kind[kind].append(ref.mobile)
        for kind, phones in sorted(by_kind.items()):
            listing = " ".join(phones[:5]) + (f" (and {len(phones) - 5} more)" if len(phones) > 5 else "")
            problems.append(Problem(f"{NUMBER_TYPE_NOT_ALLOWED.format(kind=kind)}: {listing}", spec.position))
    if problems:
        raise invalid_format(problems)


def rendered_too_long(text: str) -> bool:
    limit = settings.SMS_MAX_RENDERED_CHARS
    return bool(limit) and len(text) > limit


def request_parts_check(*, needed: int) -> None:
    """Refuse a request that would cost more than SMS_MAX_PARTS_PER_REQUEST parts (400)."""
    limit = settings.SMS_MAX_PARTS_PER_REQUEST
    if limit and needed > limit:
        raise invalid_format([Problem(PARTS_PER_REQUEST_EXCEEDED.format(limit=limit, needed=needed))])


def audience_sizes(audiences: Mapping[int, QuerySet]) -> dict[int, int]:
    """How many members with a number each segment message's audience has."""
    return {
        position: audience.exclude(mobile__isnull=True).exclude(mobile="").count()
        for position, audience in audiences.items()
    }


def request_parts(
    *,
    specs: list[MessageSpec],
    phones_by_message: Mapping[int, Iterable[str]],
    parts_by_message: Mapping[int, int] | None = None,
    counted: Mapping[int, int] | None = None,
) -> int:
    """The parts a request will cost: a message by the parts of its recipients' rendered texts
    (`parts_by_message`, when known: a listed message's rows, a personalised segment message's
    audience rendered in the database), else a listed message by its template times its phones
    and a segment message by its audience's size (`counted`) times its template's parts."""
    parts_by_message = parts_by_message or {}
    parts_of = {spec.position: text_layout(spec.content).parts for spec in specs}
    needed = 0
    for position, phones in phones_by_message.items():
        if position in parts_by_message:
            needed += parts_by_message[position]
        else:
            needed += parts_of.get(position, 1) * len(list(phones))
    for position, count in (counted or {}).items():
        if position in parts_by_message:
            needed += parts_by_message[position]
        else:
            needed += parts_of.get(position, 1) * count
    return needed


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


def _allowed_countries(api_key: ApiKey) -> set[str]:
    return {str(code).strip().upper() for code in (api_key.allowed_countries or []) if str(code).strip()}


def _calling_codes_q(allowed: set[str]) -> Q:
    """Members whose mobile starts with the calling code of an allowed region."""
    codes = sorted({phonenumbers.country_code_for_region(region) for region in allowed} - {0})
    matches = Q(pk__in=[])
    for code in codes:
        matches |= Q(mobile__startswith=f"+{code}")
    return matches


def quota_check(
    *,
    api_key: ApiKey | None,
    specs: list[MessageSpec],
    phones_by_message: Mapping[int, Iterable[str]],
    audiences: Mapping[int, QuerySet] | None = None,
    now: datetime | None = None,
    parts_by_message: Mapping[int, int] | None = None,
    counted: Mapping[int, int] | None = None,
    book_later: bool = False,
) -> dict[int, int]:
    """Refuse a request past its key's destination countries (403) or daily quota of parts (429).

    `phones_by_message` maps a message's position to the phones it will be sent to,
    `parts_by_message` (when known) to the parts of their rendered texts, and `audiences` a
    segment message's position to its members (a queryset), whose sizes `counted` gives when the
    caller has them already. Call it inside the storing transaction: with a quota set, the key's
    row is locked so that two requests of one key cannot both pass the last free parts. Returns
    the size of each audience it counted (for a key with a quota). With `book_later`, the quota
    is left to quota_book, which the caller runs once the request's rows are stored.
    """
    if api_key is None:
        return {}
    phones_by_message = {position: list(phones) for position, phones in phones_by_message.items()}
    audiences = audiences or {}
    allowed = _allowed_countries(api_key)
    if allowed:
        refused = {
            country
            for phones in phones_by_message.values()
            for country in map(phone_country, phones)
            if country not in allowed
        }
        inside = _calling_codes_q(allowed)
        for audience in audiences.values():
            outside = audience.exclude(inside).exclude(mobile__isnull=True).exclude(mobile="")
            refused.update(phone_country(mobile) for mobile in outside.values_list("mobile", flat=True)[:200])
        refused = sorted(refused)
        if refused:
            raise ContractError(
                COUNTRY_NOT_ALLOWED.format(refused=", ".join(refused), allowed=", ".join(sorted(allowed))),
                status_code=Refusal.FORBIDDEN,
            )
    quota = api_key.daily_quota_parts
    if not quota:
        return {}
    counted = dict(counted) if counted is not None else audience_sizes(audiences)
    needed = request_parts(
        specs=specs, phones_by_message=phones_by_message, parts_by_message=parts_by_message, counted=counted
    )
    if needed == 0 or book_later:
        return counted
    list(ApiKey.objects.select_for_update().filter(pk=api_key.pk).values_list("pk", flat=True))
    now = now or timezone.now()
    used = api_key_parts_used_today(api_key=api_key, now=now)
    if used + needed > quota:
        retry_after = int((day_start(now) + timedelta(days=1) - now).total_seconds()) + 1
        raise ContractError(
            QUOTA_EXCEEDED.format(quota=quota, used=used, needed=needed),
            status_code=Refusal.OVER_LIMIT,
            retry_after=retry_after,
        )
    return counted


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


def _usage_day(moment: datetime) -> date:
    return day_start(moment).date()


class QuotaNeedsLock(Exception):  # noqa: N818 - a signal to the caller, not an error
    """The request does not fit its shard's budget, or the shard is not verified for the key's
    quota: store it again with quota_lock (its transaction is rolled back)."""


SHARD_MIN_PARTS = 1000  # a shard's budget is at least this (so a small quota is one shard)


def usage_plan(quota: int) -> list[int]:
    """The budget of each shard of a key's day: the quota shared out, at most
    API_KEY_USAGE_SHARDS shards of at least SHARD_MIN_PARTS (one shard for a small quota); a key
    without a quota books on every shard, with no budget (0)."""
    shards = max(1, settings.API_KEY_USAGE_SHARDS)
    if not quota:
        return [0] * shards
    count = max(1, min(shards, quota // SHARD_MIN_PARTS))
    return [quota // count + (quota % count if shard == 0 else 0) for shard in range(count)]


def usage_shard(quota: int) -> int:
    """The shard a request books on: any one of the plan's, so that a key's requests spread."""
    return random.randrange(len(usage_plan(quota)))  # noqa: S311 - a spread, not a secret


def usage_upsert_sql() -> str:
    """Add parts to one shard of a key's day (made, unverified, when missing), returning
    (parts, verified, quota) after the addition; parameters: key id, day, shard, parts."""
    table = connection.ops.quote_name(ApiKeyDailyUsage._meta.db_table)
    return (
        f"INSERT INTO {table} (api_key_id, day, shard, parts, verified, quota) VALUES (%s, %s, %s, %s, false, 0) "
        f"ON CONFLICT (api_key_id, day, shard) DO UPDATE SET parts = {table}.parts + EXCLUDED.parts "
        "RETURNING parts, verified, quota"
    )


class UsageFit(NamedTuple):
    """A booking that may go ahead only when it fits: the parameters of usage_fit_sql."""

    parts: int
    api_key_id: int
    day: date
    shard: int
    quota: int
    counted: int
    budget: int


def usage_fit(*, api_key: ApiKey, needed: int, booked: int, now: datetime, shard: int) -> UsageFit | None:
    """The booking of a request that stores itself in one statement without a transaction of its
    own: the shard's budget is checked by the statement that adds to it (usage_fit_sql), as
    quota_book checks it after an upsert. None when there is nothing to check (no quota, a request
    that needs no parts): then the plain upsert books it."""
    quota = api_key.daily_quota_parts
    if not quota or needed == 0:
        return None
    budgets = usage_plan(quota)
    return UsageFit(booked, api_key.pk, _usage_day(now), shard, quota, max(needed, booked), budgets[shard])


def usage_fit_sql() -> str:
    """Add parts to a shard of a key's day only when the shard is verified for the key's quota and
    the request fits its budget (the rule of quota_book), returning the parts after the addition;
    no row when it does not fit (or the shard is missing): then the request is stored again with
    the key's day locked. Parameters: those of UsageFit, in its order."""
    table = connection.ops.quote_name(ApiKeyDailyUsage._meta.db_table)
    return (
        f"UPDATE {table} SET parts = parts + %s "
        "WHERE api_key_id = %s AND day = %s AND shard = %s AND verified AND quota = %s AND parts + %s <= %s "
        "RETURNING parts"
    )


def _usage_add(*, api_key_id: int, day: date, shard: int, parts: int) -> tuple[int, bool, int]:
    with connection.cursor() as cursor:
        cursor.execute(usage_upsert_sql(), [api_key_id, connection.ops.adapt_datefield_value(day), shard, parts])
        used, verified, quota = cursor.fetchone()
    return int(used), bool(verified), int(quota)


def _usage_lock(*, api_key_id: int, day: date, shards: int) -> None:
    """Lock every shard of a key's day, in shard order (the plan's made when missing)."""
    ApiKeyDailyUsage.objects.bulk_create(
        [ApiKeyDailyUsage(api_key_id=api_key_id, day=day, shard=shard) for shard in range(shards)],
        ignore_conflicts=True,
    )
    list(
        ApiKeyDailyUsage.objects.select_for_update()
        .filter(api_key_id=api_key_id, day=day)
        .order_by("shard")
        .values_list("pk", flat=True)
    )


def usage_grow(growth: Iterable[tuple[int | None, datetime, int]]) -> None:
    """Add later growth of the day's count to the keys' shards: (key id, the request's created_at,
    parts) each; what is not a key's or not a growth is left out. The growth goes to shard 0 and
    every shard of the day is marked unverified, so that the key's next request with a quota
    counts the day exactly and shares it out again. Call it in the transaction of the change."""
    totals: dict[tuple[int, date], int] = defaultdict(int)
    for api_key_id, created_at, parts in growth:
        if api_key_id is not None and parts > 0:
            totals[(api_key_id, _usage_day(created_at))] += parts
    for (api_key_id, day), parts in sorted(totals.items()):  # one order: no deadlock between two
        with transaction.atomic():
            _usage_lock(api_key_id=api_key_id, day=day, shards=1)
            ApiKeyDailyUsage.objects.filter(api_key_id=api_key_id, day=day, shard=0).update(parts=F("parts") + parts)
            ApiKeyDailyUsage.objects.filter(api_key_id=api_key_id, day=day).update(verified=False)


def recipients_added(rows: Iterable[Recipient]) -> None:
    """New rows of existing messages (a resend, a voice call) count in their key's parts of the
    day: add them, in the transaction that stored them."""
    rows = list(rows)
    of = {
        message.pk: message
        for message in SmsMessage.objects.filter(pk__in={row.message_id for row in rows}).select_related("request")
    }
    usage_grow(
        (
            of[row.message_id].request.api_key_id,
            of[row.message_id].request.created_at,
            stored_text_parts(row.content, empty=of[row.message_id].parts),
        )
        for row in rows
        if row.state not in (RecipientState.NOT_ATTEMPTED, RecipientState.CANCELLED)
    )


def message_counted_parts(message_id: int) -> int:
    """What a segment message's own rows and waiting audience count in the day's parts, as
    api_key_parts_used_today reads its expansion (rows at the message's parts, the audience not
    yet written while not done); read before and after an expansion chunk, the growth between is
    added by message_expansion_grown."""
    message = SmsMessage.objects.filter(pk=message_id).values("parts", "expected_total", "expanded_count").first()
    if message is None:
        return 0
    return message["parts"] * max(message["expected_total"] or 0, message["expanded_count"])


def message_expansion_grown(message_id: int, before: int) -> None:
    """Add what an expansion chunk grew the message's count by to its key's row of the day."""
    after = message_counted_parts(message_id)
    if after > before:
        request = SmsMessage.objects.filter(pk=message_id).values("request__api_key_id", "request__created_at").first()
        usage_grow([(request["request__api_key_id"], request["request__created_at"], after - before)])


def quota_lock(*, api_key: ApiKey | None, now: datetime) -> int | None:
    """For a request stored after QuotaNeedsLock: lock every shard of the key's day (waiting for
    the requests that hold one to commit) and count the day exactly, before the request's rows
    are written. None for a key without a quota."""
    if api_key is None or not api_key.daily_quota_parts:
        return None
    _usage_lock(api_key_id=api_key.pk, day=_usage_day(now), shards=len(usage_plan(api_key.daily_quota_parts)))
    return api_key_parts_used_today(api_key=api_key, now=now)


def quota_book(
    *,
    api_key: ApiKey | None,
    needed: int,
    booked: int,
    now: datetime,
    shard: int,
    usage: tuple[int, bool, int] | None = None,
    locked_used: int | None = None,
) -> None:
    """Book a stored request's parts on one shard of its key's day, and check the daily quota
    (raised inside the storing transaction, a refusal rolls it back whole).

    `needed` is what the quota check compares (request_parts), `booked` what the request adds to
    the day's exact count at most (its stored rows and counted audiences; later growth is added
    as it happens), `usage` the shard upsert's answer when the caller's statement made it. Fits
    the shard's budget, verified for the key's quota: accepted. Else QuotaNeedsLock, and the
    caller stores the request again with `locked_used` (quota_lock): the day's exact count is
    compared as before (the 429 past the quota), and the shards are set from it."""
    if api_key is None:
        return
    quota = api_key.daily_quota_parts
    day = _usage_day(now)
    if locked_used is not None:
        if needed and locked_used + needed > quota:
            retry_after = int((day_start(now) + timedelta(days=1) - now).total_seconds()) + 1
            raise ContractError(
                QUOTA_EXCEEDED.format(quota=quota, used=locked_used, needed=needed),
                status_code=Refusal.OVER_LIMIT,
                retry_after=retry_after,
            )
        if usage is None:
            _usage_add(api_key_id=api_key.pk, day=day, shard=shard, parts=booked)
        _usage_share_out(api_key_id=api_key.pk, day=day, total=locked_used + booked, quota=quota)
        return
    parts, verified, row_quota = usage or _usage_add(api_key_id=api_key.pk, day=day, shard=shard, parts=booked)
    if not quota or needed == 0:
        return
    budgets = usage_plan(quota)
    if (
        verified
        and row_quota == quota
        and shard < len(budgets)
        and parts - booked + max(needed, booked) <= budgets[shard]
    ):
        return
    raise QuotaNeedsLock


def _usage_share_out(*, api_key_id: int, day: date, total: int, quota: int) -> None:
    """Set the (locked) shards of a key's day to `total` shared out in proportion to their
    budgets, verified for `quota`; past the quota they stay unverified (every request counts)."""
    budgets = usage_plan(quota)
    shares = [min(budget, total * budget // quota) for budget in budgets]
    rest = total - sum(shares)
    for shard, budget in enumerate(budgets):
        extra = min(rest, budget - shares[shard])
        shares[shard] += extra
        rest -= extra
    shares[0] += rest
    usage = ApiKeyDailyUsage.objects.filter(api_key_id=api_key_id, day=day)
    usage.update(parts=0, verified=rest == 0, quota=quota)
    for shard, share in enumerate(shares):
        if share:
            usage.filter(shard=shard).update(parts=share)


def recipients_refused(recipients: Iterable[Recipient]) -> list[tuple[Recipient, str, str]]:
    """The recipients that may not be sent, each with an error code and why: a phone whose region
    is outside its key's countries, a phone of a number type refused to its key, a personalised
    text longer than SMS_MAX_RENDERED_CHARS (rendered into `content` by the caller). The
    recipients' message__request__api_key is read (prefetch it)."""
    refused = []
    allowed_of: dict[int, set[str]] = {}
    refused_types_of: dict[int | None, set[str]] = {}
    for recipient in recipients:
        api_key = recipient.message.request.api_key
        key_id = api_key.pk if api_key is not None else None
        if api_key is not None and api_key.allowed_countries:
            allowed = allowed_of.get(key_id)
            if allowed is None:
                allowed = allowed_of[key_id] = _allowed_countries(api_key)
            region = phone_country(recipient.phone)
            if allowed and region not in allowed:
                detail = f"destination country {region} not allowed for this API key"
                refused.append((recipient, COUNTRY_REFUSED_CODE, detail))
                continue
        refused_types = refused_types_of.get(key_id)
        if refused_types is None:
            refused_types = refused_types_of[key_id] = refused_number_types(api_key)
        # A mobile listed in the request (no member, no earlier attempt) had its type checked
        # there; a member's number (by id or segment), a resend or a voice fallback is checked here.
        checked = recipient.member_id is None and recipient.resend_of_id is None
        kind = "" if checked or not refused_types else phone_number_type(recipient.phone)
        if kind in refused_types:
            refused.append((recipient, NUMBER_TYPE_REFUSED_CODE, NUMBER_TYPE_NOT_ALLOWED.format(kind=kind)))
        elif recipient.content and rendered_too_long(recipient.content):
            detail = RENDERED_TOO_LONG.format(limit=settings.SMS_MAX_RENDERED_CHARS)
            refused.append((recipient, RENDERED_TOO_LONG_CODE, detail))
    return refused
