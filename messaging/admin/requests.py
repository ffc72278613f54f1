"""Requests and their messages: read-only pages, searched by id, with each segment message's
expansion progress. The operator's resend and cancel on a request are in actions.py."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from messaging.admin.actions import RequestActions
from messaging.admin.console import ConsoleAdmin, CreatedWithinFilter
from messaging.ids import id_from_text
from messaging.models import SmsMessage, SmsRequest


def expansion_progress(message, *, done: str) -> str:
    """How far a segment message's expansion is, and why it failed or was given up."""
    if message.expansion_done:
        return f"given up: {message.expansion_error}" if message.expansion_error else done
    progress = f"{message.expanded_count} of {message.expected_total or '?'}"
    if message.expansion_attempts and message.expansion_error:
        progress += f" (try {message.expansion_attempts} failed: {message.expansion_error})"
    return progress


class SmsMessageInline(admin.TabularInline):
    model = SmsMessage
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("position", "content", "channel", "priority", "encoding", "parts", "start_at", "expires_at", "progress")
    readonly_fields = fields

    def progress(self, message):
        return expansion_progress(message, done="expanded" if message.criteria else "-")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def id_search(queryset, search_term: str, matching):
    """The console's search by id: nothing typed is everything, digits are the rows `matching`
    (a Q of the number) picks, anything else is nothing (a search is never a table scan)."""
    term = search_term.strip()
    if not term:
        return queryset, False
    number = id_from_text(term)
    if number is None:
        return queryset.none(), False
    return queryset.filter(matching(number)), False


@admin.register(SmsRequest)
class SmsRequestAdmin(RequestActions, ConsoleAdmin):
    list_display = ("id", "client", "format", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter), "format")
    search_fields = ("=id",)
    inlines = [SmsMessageInline]
    actions = ["resend_failed", "cancel_waiting"]
    readonly_fields = ("id", "client", "format", "api_key", "user", "idempotency_key", "created_at", "recipients_link")

    def get_search_results(self, request, queryset, search_term):
        return id_search(queryset, search_term, lambda number: Q(id=number))

    @admin.display(description="Recipients")
    def recipients_link(self, sms_request):
        url = reverse("admin:messaging_recipient_changelist") + f"?q={sms_request.pk}"
        return format_html('<a href="{}">Recipients of this request</a>', url)


@admin.register(SmsMessage)
class SmsMessageAdmin(ConsoleAdmin):
    list_display = ("id", "request_id", "position", "channel", "priority", "encoding", "parts", "start_at", "progress")
    list_filter = ("channel", "priority", "encoding", "expansion_done", CreatedWithinFilter)
    search_fields = ("=request__id",)
    readonly_fields = (
        "request",
        "position",
        "content",
        "channel",
        "priority",
        "encoding",
        "parts",
        "personalised",
        "criteria",
        "start_at",
        "expires_at",
        "voice_on_failure",
        "progress",
        "created_at",
    )
    exclude = (
        "expansion_cursor",
        "expected_total",
        "expanded_count",
        "expansion_done",
        "expansion_attempts",
        "expansion_error",
    )

    def get_search_results(self, request, queryset, search_term):
        return id_search(queryset, search_term, lambda number: Q(request_id=number) | Q(id=number))

    @admin.display(description="Expansion")
    def progress(self, message):
        return expansion_progress(message, done="done")
