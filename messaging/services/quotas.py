"""What one partner key may send: a daily quota of message parts and a list of destination countries.

OWASP API4 (unrestricted resource consumption) names SMS as the resource such limits protect.
Both are checked inside the transaction that stores a request, once its recipients are known, so
that a request past either is refused whole with a 4xx that names the limit.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import phonenumbers
from django.db.models import F, Sum
from django.utils import timezone

from messaging.api.errors import ContractError
from messaging.api.normaliser import MessageSpec
from messaging.models import ApiKey, Recipient, RecipientState
from messaging.text import text_layout

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
    return used or 0


def _allowed_countries(api_key: ApiKey) -> set[str]:
    return {str(code).strip().upper() for code in (api_key.allowed_countries or []) if str(code).strip()}


def quota_check(
    *,
    api_key: ApiKey | None,
    specs: list[MessageSpec],
    phones_by_message: Mapping[int, Iterable[str]],
    now: datetime | None = None,
) -> None:
    """Refuse a request past its key's destination countries (403) or daily quota of parts (429).

    `phones_by_message` maps a message's position to the phones it will be sent to. Call it inside
    the storing transaction: with a quota set, the key's row is locked so that two requests of one
    key cannot both pass the last free parts.
    """
    if api_key is None:
        return
    phones_by_message = {position: list(phones) for position, phones in phones_by_message.items()}
    allowed = _allowed_countries(api_key)
    if allowed:
        refused = sorted(
            {
                country
                for phones in phones_by_message.values()
                for country in map(phone_country, phones)
                if country not in allowed
            }
        )
        if refused:
            raise ContractError(
                COUNTRY_NOT_ALLOWED.format(refused=", ".join(refused), allowed=", ".join(sorted(allowed))),
                status_code=403,
            )
    quota = api_key.daily_quota_parts
    if not quota:
        return
    parts_of = {spec.position: text_layout(spec.content).parts for spec in specs}
    needed = sum(parts_of.get(position, 1) * len(phones) for position, phones in phones_by_message.items())
    if needed == 0:
        return
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
