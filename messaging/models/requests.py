"""A send request as accepted (one POST) and its messages: content, channel, timing and, for a
segment message, the progress of its expansion."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from messaging.models.keys import ApiKey


class RequestFormat(models.TextChoices):
    JSON = "json", "JSON"
    XML = "xml", "XML"


class Channel(models.TextChoices):
    TEXT = "text", "Text SMS"
    VOICE = "voice", "Voice SMS"


class Encoding(models.TextChoices):
    GSM7 = "gsm7", "GSM 03.38"
    UCS2 = "ucs2", "UCS-2"


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
