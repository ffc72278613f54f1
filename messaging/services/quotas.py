"""What one partner key may send: a daily quota of message parts and a list of destination countries.

OWASP API4 (unrestricted resource consumption) names SMS as the resource such limits protect.
Both are checked inside the transaction that stores a request, once its recipients are known, so
that a request past either is refused whole with a 4xx that names the limit. A segment message's
recipients are written later, by expansion: its audience is counted at the request against the
quota (and that count is kept as the message's expected total, so that later requests of the day
count it before it is written), and checked against the countries by calling code; dispatch
checks every recipient of a key with countries once more, by region, and rejects one outside
them (a new member since the request, or a region that shares its calling code, as Canada does
the United States' +1).
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import phonenumbers
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from messaging.api.errors import ContractError
from messaging.api.normaliser import MessageSpec
from messaging.models import ApiKey, Recipient, RecipientState, SmsMessage
from messaging.text import text_layout

COUNTRY_REFUSED_CODE = "country-not-allowed"
COUNTRY_NOT_ALLOWED = "Destination country not allowed for this API key: {refused} (allowed: {allowed})"
QUOTA_EXCEEDED = (
    "Daily quota of {quota} message parts exceeded for this API key: {used} used today, this request needs {needed}"
)


def phone_country(phone: str) -> str:
    """The ISO 3166 region of an E.164 number, or "ZZ" when it has none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None)) or "ZZ"
    except phonenumbers.NumberParseException:
        return "ZZ"


def day_start(now: datetime) -> datetime:
    """Quotas are counted per UTC day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def api_key_parts_used_today(*, api_key: ApiKey, now: datetime | None = None) -> int:
    """Parts of every recipient of this key's requests of today that is, or will be, sent."""
    since = day_start(now or timezone.now())
    used = (
        Recipient.objects.filter(message__request__api_key=api_key, message__request__created_at__gte=since)
        .exclude(state__in=[RecipientState.NOT_ATTEMPTED, RecipientState.CANCELLED])
        .aggregate(parts=Sum(F("message__parts")))["parts"]
    )
    # Segment messages of today still being expanded: the part of their audience not yet written.
    waiting = SmsMessage.objects.filter(
        request__api_key=api_key,
        request__created_at__gte=since,
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
) -> dict[int, int]:
    """Refuse a request past its key's destination countries (403) or daily quota of parts (429).

    `phones_by_message` maps a message's position to the phones it will be sent to, and
    `audiences` a segment message's position to its members (a queryset). Call it inside the
    storing transaction: with a quota set, the key's row is locked so that two requests of one
    key cannot both pass the last free parts. Returns the size of each audience it counted (for
    a key with a quota).
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
                status_code=403,
            )
    quota = api_key.daily_quota_parts
    if not quota:
        return {}
    parts_of = {spec.position: text_layout(spec.content).parts for spec in specs}
    needed = sum(parts_of.get(position, 1) * len(phones) for position, phones in phones_by_message.items())
    counted = {
        position: audience.exclude(mobile__isnull=True).exclude(mobile="").count()
        for position, audience in audiences.items()
    }
    needed += sum(parts_of.get(position, 1) * count for position, count in counted.items())
    if needed == 0:
        return counted
    list(ApiKey.objects.select_for_update().filter(pk=api_key.pk).values_list("pk", flat=True))
    now = now or timezone.now()
    used = api_key_parts_used_today(api_key=api_key, now=now)
    if used + needed > quota:
        retry_after = int((day_start(now) + timedelta(days=1) - now).total_seconds()) + 1
        raise ContractError(
            QUOTA_EXCEEDED.format(quota=quota, used=used, needed=needed),
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
    return counted


def recipients_outside_countries(recipients: Iterable[Recipient]) -> list[tuple[Recipient, str]]:
    """The recipients whose key limits destination countries and whose phone's region is outside
    them, each with its region. The recipients' message__request__api_key is read (prefetch it)."""
    refused = []
    allowed_of: dict[int, set[str]] = {}
    for recipient in recipients:
        api_key = recipient.message.request.api_key
        if api_key is None or not api_key.allowed_countries:
            continue
        allowed = allowed_of.get(api_key.pk)
        if allowed is None:
            allowed = allowed_of[api_key.pk] = _allowed_countries(api_key)
        region = phone_country(recipient.phone)
        if allowed and region not in allowed:
            refused.append((recipient, region))
    return refused
