"""Volt MX OAuth access tokens (GET /api/v1/oauth/accesstoken): a token and a secret handed to a
gateway user who signed in with Basic. The secret is returned once and stored as its SHA-256
hash; a token past its expiry, revoked, or whose user is no longer active is refused."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging.models import AccessToken


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def access_token_issue(*, user) -> tuple[AccessToken, str]:
    """A new token for the user, and its secret in clear (this once). The user's tokens that have
    expired are dropped on the way: they can no longer be used."""
    now = timezone.now()
    AccessToken.objects.filter(user=user, expires_at__lte=now).delete()
    secret = secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        token=secrets.token_hex(24),
        secret_hash=_hash(secret),
        user=user,
        expires_at=now + timedelta(seconds=settings.VOLTMX_ACCESS_TOKEN_SECONDS),
    )
    return token, secret


def access_token_verify(*, token: str, secret: str) -> AccessToken | None:
    """The live token that this pair names, or None."""
    if not token or not secret or len(token) > 64 or len(secret) > 200:
        return None
    found = (
        AccessToken.objects.select_related("user")
        .filter(token=token, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if found is None or not found.user.is_active or not hmac.compare_digest(found.secret_hash, _hash(secret)):
        return None
    return found


def access_token_revoke(*, access_token: AccessToken) -> None:
    if access_token.revoked_at is None:
        access_token.revoked_at = timezone.now()
        access_token.save(update_fields=["revoked_at"])


def access_tokens_revoke_for_user(*, user) -> int:
    """Revoke every live token of a user (a lost laptop, a password change); the count revoked."""
    now = timezone.now()
    return AccessToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).update(revoked_at=now)
