from django.db import models
from django.db.models import Q


def owner_field() -> models.CharField:
    """Whose a member or segment is: the partner key that made it, or the shared audience."""
    return models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",
        db_index=True,
        help_text="key:<id> of the partner system that made it; empty: the gateway's shared audience.",
    )


class AttributeType(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    PICK_LIST = "picklist", "Pick list"


class AudienceAttribute(models.Model):
    """A custom attribute that members may carry (at most 30 are declared)."""

    name = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=16, choices=AttributeType.choices, default=AttributeType.STRING)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values of a pick list.")
    required = models.BooleanField(
        default=False, db_default=False, help_text="Every member created from now on must carry a value."
    )
    reconciliation_key = models.BooleanField(
        default=False, db_default=False, help_text="Volt MX allowedReconciliationKey: kept and shown, not acted on."
    )
    created_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    modified_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    def __str__(self):
        return self.name


class ReconciliationKey(models.TextChoices):
    NONE = "", "none"
    EMAIL = "email", "email"
    MOBILE = "mobile number", "mobile number"


class AudienceSettings(models.Model):
    """The audience's general settings (Volt MX Modify Details (General), PUT /api/v1/admin): one
    row. The reconciliation key is the field every new member must carry; the other documented
    keys are kept as given and shown back."""

    reconciliation_key = models.CharField(
        max_length=16,
        choices=ReconciliationKey.choices,
        blank=True,
        default="",
        help_text="Empty: neither is required.",
    )
    retries_per_notification = models.PositiveSmallIntegerField(null=True, blank=True)
    campaign_execution_interval = models.PositiveIntegerField(null=True, blank=True)
    preferred_time_zone = models.CharField(max_length=64, blank=True, default="")
    updated_by = models.CharField(max_length=150, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "audience settings"
        verbose_name_plural = "audience settings"

    def __str__(self):
        return f"reconciliation key: {self.reconciliation_key or 'none'}"


class Member(models.Model):
    """An audience member: someone the gateway may text or call."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, null=True, blank=True)
    mobile = models.CharField(max_length=20, null=True, blank=True, help_text="E.164, leading +.")
    country = models.CharField(max_length=64)
    state = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=True)
    sms_subscription = models.BooleanField(default=True)
    voice_subscription = models.BooleanField(default=True)
    email_subscription = models.BooleanField(default=True)
    last_active_date = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    owner = owner_field()
    sms_opted_out_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the person texted STOP from this number. While set, only a text from the number "
        "or a staff member with the permission (and a reason) subscribes it again.",
    )
    sms_opt_out_lifted = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="Who lifted the person's last STOP, when, and why.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("lift_opt_out", "Can lift an opt-out the person texted (STOP), with a reason")]
        constraints = [
            models.UniqueConstraint(fields=["mobile"], condition=Q(mobile__isnull=False), name="member_mobile_unique"),
            models.UniqueConstraint(fields=["email"], condition=Q(email__isnull=False), name="member_email_unique"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name} ({self.mobile or self.email or self.pk})"


class ConditionType(models.TextChoices):
    """How a segment joins its conditions (Volt MX `conditionType`)."""

    ALL = "all", "All conditions"
    ANY = "any", "Any condition"
    ADVANCED = "advanced", "Advanced (the definition)"


class Segment(models.Model):
    """A named set of members, defined by numbered conditions joined by AND/OR.

    `definition` always holds the expression that is evaluated: for `all` and `any` it is the
    conditions joined by AND or OR, for `advanced` the definition as given. Only a published
    segment can be sent to; only "All Users" holds every member without a condition.
    """

    ALL_USERS = "All Users"

    name = models.CharField(max_length=200, unique=True)
    definition = models.CharField(
        max_length=1000,
        blank=True,
        default="",
        help_text="Condition numbers joined by AND, OR and parentheses, e.g. 1 OR (2 AND 3). Empty matches all.",
    )
    owner = owner_field()
    condition_type = models.CharField(max_length=16, choices=ConditionType.choices, default=ConditionType.ALL)
    published = models.BooleanField(
        default=False, help_text="Only a published segment can be sent to (Volt MX publish and unpublish)."
    )
    owner_label = models.CharField(
        max_length=150, blank=True, default="", help_text="The Volt MX `owner`: a name, shown as given."
    )
    created_by = models.CharField(max_length=150, blank=True, default="")
    last_modified_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.name


class SegmentCondition(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="conditions")
    number = models.PositiveIntegerField()
    attribute = models.CharField(max_length=64)
    operator = models.CharField(max_length=64)
    value = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["segment", "number"], name="segment_condition_number_unique")]

    def __str__(self):
        return f"{self.number}: {self.attribute} {self.operator} {self.value}"
