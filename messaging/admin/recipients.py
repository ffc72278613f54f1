"""The recipients, the queue's rows: a read-only list filtered by state, provider, channel and
age, searched by any id an operator holds (request, recipient, member, mobile, the provider's
message id), and each row's page with its text as sent, its history and its later attempts.
The resend and cancel actions and the resend page are in actions.py."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from messaging.admin.actions import RecipientActions
from messaging.admin.console import ConsoleAdmin, CreatedWithinFilter, ProviderFilter
from messaging.ids import id_from_text
from messaging.models import Recipient, RecipientEvent, SmsMessage
from messaging.personalise import recipient_text
from messaging.services.receipts import provider_ref_of
from messaging.text import text_layout


def _digits(term: str) -> str:
    return term[1:] if term.startswith("+") else term


class RecipientEventInline(admin.TabularInline):
    model = RecipientEvent
    extra = 0
    can_delete = False
    verbose_name_plural = "History"
    fields = ("at", "state", "provider_message_id", "error_code", "detail")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Recipient)
class RecipientAdmin(RecipientActions, ConsoleAdmin):
    list_display = (
        "id",
        "request",
        "phone",
        "state",
        "provider",
        "provider_message_id",
        "error_code",
        "attempts",
        "resend_of_id",
        "due_at",
        "final_at",
    )
    list_filter = ("state", ProviderFilter, "channel", "priority", CreatedWithinFilter)
    list_select_related = ("message",)
    search_fields = ("phone",)  # the search box; get_search_results reads the term itself
    search_help_text = "A request id, recipient id, member id (or member:ID), mobile (+E.164) or provider message id."
    inlines = [RecipientEventInline]
    actions = ["resend_selected", "cancel_selected"]
    fieldsets = (
        (None, {"fields": ("request", "message", "member", "phone", "channel", "priority", "state", "attempts")}),
        ("As sent", {"fields": ("content_as_sent", "encoding_as_sent", "parts_as_sent")}),
        (
            "Provider",
            {"fields": ("provider", "provider_message_id", "error_code", "error", "outcome_unknown")},
        ),
        ("Times", {"fields": ("created_at", "due_at", "expires_at", "submitted_at", "final_at")}),
        ("Attempts", {"fields": ("resend_of", "later_attempts", "resend_button")}),
    )
    readonly_fields = (
        "request",
        "message",
        "member",
        "phone",
        "channel",
        "priority",
        "state",
        "attempts",
        "content_as_sent",
        "encoding_as_sent",
        "parts_as_sent",
        "provider",
        "provider_message_id",
        "error_code",
        "error",
        "outcome_unknown",
        "created_at",
        "due_at",
        "expires_at",
        "submitted_at",
        "final_at",
        "resend_of",
        "later_attempts",
        "resend_button",
    )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Ids are read by id_from_text: a number past the 64-bit key finds nothing instead of
        # reaching the database (SQLite raises OverflowError on it).
        if term.lower().startswith("member:"):
            member = id_from_text(term.split(":", 1)[1])
            return (queryset.filter(member_id=member) if member is not None else queryset.none()), False
        # The provider's id is found through its canonical form's index (the id itself has none).
        ref = provider_ref_of(term)
        condition = Q(provider_ref=ref, provider_message_id=term) & ~Q(provider_ref="") if ref else Q(pk__in=[])
        digits = _digits(term)
        if digits.isdecimal():
            condition |= Q(phone="+" + digits) | Q(phone=digits)
            number = None if term.startswith("+") else id_from_text(term)
            if number is not None:
                message_ids = list(SmsMessage.objects.filter(request_id=number).values_list("id", flat=True)[:1000])
                condition |= Q(id=number) | Q(member_id=number)
                if message_ids:
                    condition |= Q(message_id__in=message_ids)
        return queryset.filter(condition), False

    @admin.display(description="Request")
    def request(self, recipient):
        url = reverse("admin:messaging_smsrequest_change", args=[recipient.message.request_id])
        return format_html('<a href="{}">{}</a>', url, recipient.message.request_id)

    def _text(self, recipient) -> str:
        return recipient_text(recipient)

    @admin.display(description="Content")
    def content_as_sent(self, recipient):
        return self._text(recipient)

    @admin.display(description="Encoding")
    def encoding_as_sent(self, recipient):
        text = self._text(recipient)
        return "GSM 03.38" if text_layout(text).encoding == "gsm7" else "UCS-2"

    @admin.display(description="Parts")
    def parts_as_sent(self, recipient):
        return text_layout(self._text(recipient)).parts

    @admin.display(description="Later attempts")
    def later_attempts(self, recipient):
        attempts = recipient.attempts_after.order_by("id")[:20]
        return (
            format_html_join(
                ", ",
                '<a class="later-attempt" href="{}">#{} ({})</a>',
                ((reverse("admin:messaging_recipient_change", args=[row.pk]), row.pk, row.state) for row in attempts),
            )
            or "-"
        )
