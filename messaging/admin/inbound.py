"""What members sent to the gateway (two-way): a read-only list, newest first, where STOP and
START show as the opt-out or opt-in they made. Lifting an opt-out is the audience's page
(audiences/admin/members.py)."""

from django.contrib import admin

from messaging.admin.console import ConsoleAdmin
from messaging.models import InboundSms


@admin.register(InboundSms)
class InboundSmsAdmin(ConsoleAdmin):
    """What members sent to the gateway, newest first; STOP and START show as their action."""

    list_display = ("received_at", "phone", "short_text", "action", "sent_to", "provider", "member")
    list_filter = ("action", "provider")
    list_select_related = ("member",)
    search_fields = ("=phone", "provider_message_id")
    search_help_text = "A mobile (+E.164) or the provider's message id."
    ordering = ("-received_at", "-id")
    fields = ("received_at", "phone", "text", "action", "sent_to", "provider", "provider_message_id", "member")
    readonly_fields = fields

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 60 else obj.text[:59] + "…"
