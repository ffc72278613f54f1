"""The recipients, the rows that are the queue: one phone of one message, its states and their
history, and the receipts that came before the row they belong to."""

from django.db import models
from django.db.models import Q

from messaging.models.requests import Channel, SmsMessage


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
