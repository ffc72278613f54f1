"""Partner API keys: issued once in clear, stored as a SHA-256 hash, found by their prefix."""

import hashlib
import hmac
import secrets
import threading
import time

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.models import SCOPES, ApiKey

NUMBER_TYPES = sorted(name for name in vars(phonenumbers.PhoneNumberType) if name.isupper())


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, name: str, rate_limit_per_minute: int = 0, **options) -> tuple[ApiKey, str]:
    """Create a key; the clear key is returned this once and never stored. `options` are other
    fields of the key (scopes, daily_quota_parts, allowed_countries, ...); what is not given takes
    the gateway's defaults (a new key has the send and status scopes)."""
    prefix = secrets.token_hex(6)
    raw_key = f"{prefix}.{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name, prefix=prefix, key_hash=_hash(raw_key), rate_limit_per_minute=rate_limit_per_minute, **options
    )
    return api_key, raw_key


def scopes_clean(scopes) -> list[str]:
    """The scopes as stored (the order of SCOPES), or a ValidationError naming an unknown one."""
    given = [str(scope).strip() for scope in scopes or [] if str(scope).strip()]
    unknown = sorted(set(given) - set(SCOPES))
    if unknown:
        raise ValidationError(f"Unknown scope: {', '.join(unknown)} (known: {', '.join(SCOPES)})")
    return [scope for scope in SCOPES if scope in given]


def countries_clean(countries) -> list[str]:
    """ISO 3166 region codes, upper case, sorted; a ValidationError names one phonenumbers does not know."""
    given = {str(code).strip().upper() for code in countries or [] if str(code).strip()}
    unknown = sorted(given - phonenumbers.SUPPORTED_REGIONS)
    if unknown:
        raise ValidationError(f"Unknown country code: {', '.join(unknown)} (ISO 3166 alpha-2, e.g. US, KE)")
    return sorted(given)


def number_types_clean(number_types) -> list[str]:
    """phonenumbers type names, upper case, sorted; a ValidationError names an unknown one."""
    given = {str(name).strip().upper() for name in number_types or [] if str(name).strip()}
    unknown = sorted(given - set(NUMBER_TYPES))
    if unknown:
        known = ", ".join(NUMBER_TYPES)
        raise ValidationError(f"Unknown number type: {', '.join(unknown)} (known: {known})")
    return sorted(given)


def api_key_limits_clean(**limits) -> dict:
    """A key's scopes, daily quota, countries and allowed number types, checked and normalised;
    a ValidationError carries every problem. Only what is given is returned."""
    cleaners = {
        "scopes": scopes_clean,
        "allowed_countries": countries_clean,
        "allowed_number_types": number_types_clean,
    }
    clean: dict[str, object] = {}
    problems: list[str] = []
    for name, value in limits.items():
        try:
            if name == "daily_quota_parts":
                if value is None or int(value) < 0:
                    raise ValidationError("The daily quota of parts is 0 (unlimited) or more")
                clean[name] = int(value)
            else:
                clean[name] = cleaners[name](value)
        except ValidationError as error:
            problems.extend(error.messages)
    if problems:
        raise ValidationError(problems)
    return clean


# Keys verified by this process: their hash -> (the key, when it was read). A key is read again
# once API_KEY_CACHE_SECONDS have passed, so that a revocation made by another process is honoured
# within that time; one saved or deleted in this process leaves at once. Only keys that verified
# are kept, at most _VERIFIED_MAX of them.
_verified: dict[str, tuple[ApiKey, float]] = {}
_verified_lock = threading.Lock()
_VERIFIED_MAX = 1024


def api_key_verify(*, raw_key: str) -> ApiKey | None:
    prefix, _, secret = raw_key.partition(".")
    if not secret or len(prefix) != 12 or len(raw_key) > 200:
        return None
    key_hash = _hash(raw_key)
    ttl = settings.API_KEY_CACHE_SECONDS
    now = time.time()
    cached = _verified.get(key_hash)
    if cached is not None and 0 <= now - cached[1] < ttl:
        return cached[0]
    api_key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, key_hash):
        _verified.pop(key_hash, None)
        return None
    if ttl > 0:
        with _verified_lock:
            if len(_verified) >= _VERIFIED_MAX:
                _verified.clear()
            _verified[key_hash] = (api_key, now)
    return api_key


def api_keys_forget(*, pk: int | None = None) -> None:
    """Drop this process's verified keys (the one with `pk`, or all)."""
    with _verified_lock:
        for key_hash, (api_key, _) in list(_verified.items()):
            if pk is None or api_key.pk == pk:
                del _verified[key_hash]


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
