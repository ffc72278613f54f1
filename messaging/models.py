import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from messaging.providers.registry import kind_choices


class RequestFormat(models.TextChoices):
    JSON = "json", "JSON"
    XML = "xml", "XML"


class Channel(models.TextChoices):
    TEXT = "text", "Text SMS"
    VOICE = "voice", "Voice SMS"


class Encoding(models.TextChoices):
    GSM7 = "gsm7", "GSM 03.38"
    UCS2 = "ucs2", "UCS-2"


class RecipientState(models.TextChoices):
    INITIAL = "initial", "initial"
    SUBMITTED = "submitted", "submitted"
    DELIVERED = "delivered", "delivered"
    UNDELIVERED = "undelivered", "undelivered"
    REJECTED = "rejected", "rejected"
    CANCELLED = "cancelled", "cancelled"
    EXPIRED = "expired", "expired"
    NOT_ATTEMPTED = "not attempted", "not attempted"


FINAL_STATES = frozenset(
    {
        RecipientState.DELIVERED,
        RecipientState.UNDELIVERED,
        RecipientState.REJECTED,
        RecipientState.CANCELLED,
        RecipientState.EXPIRED,
        RecipientState.NOT_ATTEMPTED,
    }
)


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


class Provider(models.Model):
    """A carrier or aggregator that SMS are handed to, configured as CONTRACT section 8 gives it."""

    name = models.CharField(max_length=100, unique=True)
    # The registered kinds (messaging/providers/registry.py); a new kind needs a migration.
    kind = models.CharField(max_length=16, choices=kind_choices())
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=1, help_text="Failover order, lowest first.")
    properties = models.JSONField(default=dict, blank=True, help_text="The CONTRACT's key/value properties.")
    quiet_hours_enabled = models.BooleanField(default=False)
    quiet_hours_start = models.TimeField(default=datetime.time(21, 0))
    quiet_hours_end = models.TimeField(default=datetime.time(8, 0))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class SmsRequest(models.Model):
    """One accepted POST /api/v1/message/sms. Its id is the request id given to the partner."""

    id = models.BigIntegerField(primary_key=True)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="requests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="sms_requests"
    )
    format = models.CharField(max_length=8, choices=RequestFormat.choices)
    body_hash = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    client = models.CharField(max_length=64, help_text="Who sent it: key:<id> or user:<id>.")
    check_user_existence = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "SMS request"
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="sms_request_idempotency_unique",
            )
        ]

    def __str__(self):
        return str(self.id)


class SmsMessage(models.Model):
    """One `message` of a request: its content, channel and timing."""

    request = models.ForeignKey(SmsRequest, on_delete=models.CASCADE, related_name="messages")
    position = models.PositiveIntegerField(help_text="1-based place of the message in the request.")
    content = models.TextField()
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.TEXT)
    priority = models.BooleanField(default=False)
    start_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    voice_on_failure = models.BooleanField(default=False)
    encoding = models.CharField(max_length=8, choices=Encoding.choices)
    parts = models.PositiveIntegerField()
    personalised = models.BooleanField(default=False)
    criteria = models.JSONField(default=list, blank=True, help_text="Segment criteria, OR-ed.")
    expected_total = models.PositiveIntegerField(null=True, blank=True)
    expanded_count = models.PositiveIntegerField(default=0)
    expansion_done = models.BooleanField(default=True)
    expansion_cursor = models.BigIntegerField(default=0)
    expansion_attempts = models.PositiveIntegerField(default=0, help_text="Expansion tries that failed.")
    expansion_error = models.CharField(
        max_length=500, blank=True, default="", help_text="Why expansion was given up, when it was."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "position"]
        constraints = [models.UniqueConstraint(fields=["request", "position"], name="sms_message_position_unique")]
        indexes = [models.Index(fields=["expansion_done"], condition=Q(expansion_done=False), name="msg_expanding")]

    def __str__(self):
        return f"{self.request_id}#{self.position}"


class Recipient(models.Model):
    """One phone number of one message: the unit that is queued, sent and tracked."""

    message = models.ForeignKey(SmsMessage, on_delete=models.CASCADE, related_name="recipients")
    # No database constraint on the two links below: each costs a trigger per written row (a
    # segment message writes hundreds of thousands), and neither protects anything the code
    # relies on. A member deleted through the ORM still clears its rows' link (SET_NULL, by the
    # partial index below); one deleted while a chunk that took it commits leaves an id that
    # names no member, which every reader treats as no member (select_related, member_of).
    member = models.ForeignKey(
        "audiences.Member",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recipients",
        db_constraint=False,
        db_index=False,
    )
    phone = models.CharField(max_length=20)
    resend_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attempts_after",
        db_constraint=False,
        db_index=False,
        help_text="The recipient row this one sends again (a resend, or the voice fallback of a text).",
    )
    content = models.TextField(blank=True, default="", help_text="Personalised text; empty means the message's.")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.TEXT)
    state = models.CharField(max_length=16, choices=RecipientState.choices, default=RecipientState.INITIAL)
    priority = models.BooleanField(default=False)
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    outcome_unknown = models.BooleanField(
        default=False, help_text="A submit whose outcome was never learned; it was sent again."
    )
    provider = models.CharField(max_length=100, blank=True, default="")
    provider_message_id = models.CharField(max_length=100, blank=True, default="")
    provider_ref = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text="The provider's id in one canonical form (lower case, no leading zeros), for receipts.",
    )
    error_code = models.CharField(max_length=64, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One original row per phone and message; resends and voice fallbacks link to it.
            models.UniqueConstraint(
                fields=["message", "phone"], condition=Q(resend_of__isnull=True), name="recipient_message_phone_unique"
            )
        ]
        # Every index here is written for each new row whose condition it holds: a row is
        # written once per recipient and again at each change of state, so an index is kept
        # only for a query that needs it, and one over a column that most rows leave empty
        # holds only the rows that fill it (docs/BENCHMARKS.md, the recipient table's diet).
        indexes = [
            # The queue: what waits to be sent, priority first, then by due time.
            models.Index(
                fields=["-priority", "due_at", "id"],
                condition=Q(state="initial"),
                name="recipient_queue",
            ),
            # Receipts, and the console's search by the provider's id (through its canonical form:
            # provider_message_id itself has no index). Queries say `~Q(provider_ref="")` too.
            models.Index(fields=["provider_ref"], condition=~Q(provider_ref=""), name="recipient_provider_ref"),
            models.Index(fields=["phone"], name="recipient_phone"),
            # A member's messages (status and fetch APIs, console search) and the member's delete.
            models.Index(fields=["member"], condition=Q(member__isnull=False), name="recipient_member"),
            # The attempts after a row (resends, voice fallbacks): a few rows of many.
            models.Index(fields=["resend_of"], condition=Q(resend_of__isnull=False), name="recipient_resend_of"),
            # The console's state filter, newest first, without walking the table for a rare state.
            # Rows waiting in `initial` are left to the queue's index: new rows skip this one.
            models.Index(fields=["state", "id"], condition=~Q(state="initial"), name="recipient_state_id"),
            # The sweeper's search for submitted rows whose receipt is overdue.
            models.Index(fields=["expires_at"], condition=Q(state="submitted"), name="recipient_submitted_expiry"),
            models.Index(
                fields=["submitted_at"],
                condition=Q(state="submitted", expires_at__isnull=True),
                name="recipient_submitted_at",
            ),
        ]

    def __str__(self):
        return f"{self.phone} [{self.state}]"


class RecipientEvent(models.Model):
    """The history of one recipient's states, with the provider's id and error."""

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="events", db_index=False)
    state = models.CharField(max_length=16, choices=RecipientState.choices)
    at = models.DateTimeField()
    provider_message_id = models.CharField(max_length=100, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["recipient_id", "at", "id"]
        # Its index serves the recipient link too: the link itself has none of its own.
        indexes = [models.Index(fields=["recipient", "at"], name="recipient_event_at")]

    def __str__(self):
        return f"{self.recipient_id} {self.state} {self.at:%Y-%m-%d %H:%M:%S}"


class PendingReceipt(models.Model):
    """A delivery receipt that matched no recipient yet (it can overtake the submit's record);
    matching is tried again for a while."""

    provider = models.CharField(max_length=100, blank=True, default="")
    provider_ref = models.CharField(max_length=100, db_index=True)
    provider_message_id = models.CharField(max_length=100)
    delivered = models.BooleanField()
    status = models.CharField(max_length=32, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    reported_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.provider} {self.provider_message_id} {self.status}"


class InboundSms(models.Model):
    """An SMS a member sent to the gateway (two-way), kept whatever it says; STOP and START also
    change the sender's SMS subscription (`action`). A provider's retry of the same message is
    kept once."""

    phone = models.CharField(max_length=20, db_index=True)
    text = models.TextField(blank=True, default="")
    sent_to = models.CharField(max_length=32, blank=True, default="", help_text="The number or sender it was sent to.")
    provider = models.CharField(max_length=100, blank=True, default="", help_text="Empty for the inbound API.")
    provider_message_id = models.CharField(max_length=100, blank=True, default="")
    action = models.CharField(max_length=8, blank=True, default="", help_text="opt-out, opt-in, or empty.")
    member = models.ForeignKey(
        "audiences.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_sms"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "inbound SMS"
        verbose_name_plural = "inbound SMS"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="inbound_sms_once_per_provider_id",
            )
        ]

    def __str__(self):
        return f"{self.phone}: {self.text[:40]}"


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


class ThrottleBucket(models.Model):
    """A provider's shared send rate when no Redis holds it (messaging.throttle): the moment,
    in Unix seconds, from which its next message part may go."""

    provider = models.CharField(max_length=100, primary_key=True)
    ready_at = models.FloatField(default=0.0)

    def __str__(self):
        return f"{self.provider} ready at {self.ready_at:.3f}"
