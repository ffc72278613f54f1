"""What members send to the gateway (two-way)."""

from django.db import models
from django.db.models import Q


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
