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

What a request's parts count and the day's count (`quota_parts`), and the day's usage booked on
its shards (`quota_usage`), have modules of their own; their names are importable from here too.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from messaging.errors import ContractError, Problem, Refusal, invalid_format
from messaging.models import ApiKey, Recipient
from messaging.specs import NUMBER_TYPE_NAMES, MessageSpec
from messaging.text import text_layout

from .quota_parts import (  # noqa: F401 - importable from here
    QUOTA_EXCEEDED,
    _recipient_parts_sql,
    api_key_parts_used_today,
    audience_rendered_parts,
    day_start,
    quota_exceeded,
    stored_text_parts,
    text_parts_sql,
)
from .quota_usage import (  # noqa: F401 - importable from here
    SHARD_MIN_PARTS,
    QuotaNeedsLock,
    UsageFit,
    message_counted_parts,
    message_expansion_grown,
    quota_book,
    quota_lock,
    recipients_added,
    usage_fit,
    usage_fit_sql,
    usage_grow,
    usage_plan,
    usage_shard,
    usage_upsert_sql,
)

COUNTRY_REFUSED_CODE = "country-not-allowed"
NUMBER_TYPE_REFUSED_CODE = "number-type-not-allowed"
RENDERED_TOO_LONG_CODE = "rendered-too-long"
# Refusals of a destination itself: a voice call instead of the text would go to the same place.
DESTINATION_REFUSED_CODES = (COUNTRY_REFUSED_CODE, NUMBER_TYPE_REFUSED_CODE, RENDERED_TOO_LONG_CODE)
NUMBER_TYPE_NOT_ALLOWED = "number type {kind} not allowed"
PARTS_PER_REQUEST_EXCEEDED = "more than {limit} message parts in one request (this one needs {needed})"
RENDERED_TOO_LONG = "personalised content longer than {limit} characters"
COUNTRY_NOT_ALLOWED = "Destination country not allowed for this API key: {refused} (allowed: {allowed})"


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


def _allowed_countries(api_key: ApiKey) -> set[str]:
    return {str(code).strip().upper() for code in (api_key.allowed_countries or []) if str(code).strip()}


def _calling_codes_q(allowed: set[str]) -> Q:
    """Members whose mobile starts with the calling code of an allowed region."""
    codes = sorted({phonenumbers.country_code_for_region(region) for region in allowed} - {0})
    matches = Q(pk__in=[])
    for code in codes:
        matches |= Q(mobile__startswith=f"+{code}")
    return matches


def _countries_check(
    *, api_key: ApiKey, phones_by_message: Mapping[int, list[str]], audiences: Mapping[int, QuerySet]
) -> None:
    """Refuse a request to a phone, or an audience member, outside its key's countries (403),
    naming the regions refused (an audience's first 200 outside)."""
    allowed = _allowed_countries(api_key)
    if not allowed:
        return
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
    _countries_check(api_key=api_key, phones_by_message=phones_by_message, audiences=audiences)
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
        raise quota_exceeded(quota=quota, used=used, needed=needed, now=now)
    return counted


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
