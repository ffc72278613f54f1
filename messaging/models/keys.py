"""Who may call the API: a partner's key (its scopes, quota, countries, number types and quiet
hours), the parts it has booked each day, and the Volt MX access tokens of gateway users."""

import datetime

from django.conf import settings
from django.db import models

# The scopes of a partner key (CONTRACT section 7); a new key has DEFAULT_SCOPES.
SCOPES = ("send", "status", "audience:read", "audience:write", "segments", "templates", "config", "twoway")
DEFAULT_SCOPES = ("send", "status")


def default_scopes() -> list[str]:
    return list(DEFAULT_SCOPES)


def default_daily_quota_parts() -> int:
    return settings.SMS_DEFAULT_DAILY_QUOTA_PARTS


def default_allowed_countries() -> list[str]:
    return list(settings.SMS_DEFAULT_ALLOWED_COUNTRIES)


class ApiKey(models.Model):
    """A partner system's key. Only its hash is stored; the prefix finds the row."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    rate_limit_per_minute = models.PositiveIntegerField(default=0, help_text="0 takes the gateway default.")
    scopes = models.JSONField(
        default=default_scopes, blank=True, help_text="What the key may do: " + ", ".join(SCOPES) + "."
    )
    daily_quota_parts = models.PositiveIntegerField(
        default=default_daily_quota_parts, help_text="Message parts a day; 0 is unlimited."
    )
    allowed_countries = models.JSONField(
        default=default_allowed_countries,
        blank=True,
        help_text='ISO 3166 region codes it may send to, e.g. ["US", "KE"]; empty: any.',
    )
    allowed_number_types = models.JSONField(
        default=list,
        blank=True,
        help_text="Number types refused by default that this key may send to anyway "
        '(phonenumbers names, e.g. ["PREMIUM_RATE", "SHARED_COST"]).',
    )
    quiet_hours_enabled = models.BooleanField(default=False)
    quiet_hours_start = models.TimeField(default=datetime.time(21, 0), help_text="Recipient's local time.")
    quiet_hours_end = models.TimeField(default=datetime.time(8, 0), help_text="Recipient's local time.")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None


class ApiKeyDailyUsage(models.Model):
    """The message parts a key has booked on one UTC day (the day its requests were stored), in
    shards: each request adds its cost to one shard, and every later growth of the day's count (a
    text rendered at send time, a resend, a voice call, an expansion past its counted audience)
    is added too. The shards together never fall below the parts the day's recipients really
    count. With a quota, each shard has a share of it (its budget): a request that fits its
    shard's budget fits the quota, and a key's requests do not wait for one another's commits
    on one row. `verified` and `quota` say the shards were set from the exact count for that
    quota; a request that does not fit, or finds its shard unverified or set for another quota,
    is checked against the exact count with every shard of the day locked
    (messaging.services.quotas)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    shard = models.PositiveSmallIntegerField(default=0)
    parts = models.BigIntegerField(default=0)
    verified = models.BooleanField(default=False)
    quota = models.PositiveIntegerField(default=0, help_text="The daily quota the shards were set for.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "day", "shard"], name="api_key_daily_usage_unique")]

    def __str__(self):
        return f"{self.api_key_id} {self.day} #{self.shard}: {self.parts}"


class AccessToken(models.Model):
    """A Volt MX OAuth access token (GET /api/v1/oauth/accesstoken): a pair handed to a gateway
    user who signed in with Basic; later calls send it in the AccessToken and AccessSecret headers.
    Only the secret's hash is stored."""

    token = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.token[:8]}… for {self.user_id}"
