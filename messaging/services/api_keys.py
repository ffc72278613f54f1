"""Partner API keys: issued once in clear, stored as a SHA-256 hash, found by their prefix."""

import hashlib
import hmac
import secrets

from django.utils import timezone

from messaging.models import ApiKey


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


def api_key_verify(*, raw_key: str) -> ApiKey | None:
    prefix, _, secret = raw_key.partition(".")
    if not secret or len(prefix) != 12 or len(raw_key) > 200:
        return None
    api_key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(raw_key)):
        return None
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
