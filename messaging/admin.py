"""The console: read-only queue pages (requests, messages, recipients) with the operator's
actions. Lists never count a large table, and every filter is an indexed range or equality."""

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from messaging.api.access import scopes_beyond
from messaging.ids import id_from_text
from messaging.models import (
    SCOPES,
    AccessToken,
    ApiKey,
    InboundSms,
    Provider,
    Recipient,
    RecipientEvent,
    RecipientState,
    SmsMessage,
    SmsRequest,
)
from messaging.personalise import member_of, member_values, render
from messaging.selectors import id_floor_at, provider_names_known, table_estimate
from messaging.services.access_tokens import access_token_revoke
from messaging.services.api_keys import api_key_revoke, countries_clean, number_types_clean, scopes_clean
from messaging.services.cancel import sms_request_cancel
from messaging.services.operations import recipients_cancel
from messaging.services.providers.configuration import (
    ProviderConfigError,
    properties_masked,
    provider_properties_merge,
)
from messaging.services.receipts import provider_ref_of
from messaging.services.resend import recipients_failed, recipients_resend
from messaging.text import text_layout

BOUNDED_COUNT = 1000
RESEND_PERMISSION = "messaging.resend_recipient"
CANCEL_PERMISSION = "messaging.cancel_recipient"


class UncountedPaginator(Paginator):
    """Pages without counting: the planner's estimate for a whole table, a count bounded at
    a thousand rows for a filtered one."""

    estimated = False
    bounded = False

    @cached_property
    def count(self):
        query = self.object_list
        if not query.query.where:
            estimate = table_estimate(query.model)
            if estimate is not None and estimate > BOUNDED_COUNT:
                self.estimated = True
                return estimate
        counted = query.order_by()[:BOUNDED_COUNT].count()
        self.bounded = counted >= BOUNDED_COUNT
        return counted


class ConsoleAdmin(admin.ModelAdmin):
    """Read-only pages that do not count their tables."""

    paginator = UncountedPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm(RESEND_PERMISSION)

    def has_cancel_permission(self, request):
        return request.user.has_perm(CANCEL_PERMISSION)


class CreatedWithinFilter(admin.SimpleListFilter):
    """Created within the last hour, day, week or month, as an id range (ids grow with time)."""

    title = "created"
    parameter_name = "created"
    SPANS = {
        "hour": timedelta(hours=1),
        "day": timedelta(days=1),
        "week": timedelta(days=7),
        "month": timedelta(days=30),
    }

    def lookups(self, request, model_admin):
        return [(key, f"Last {key}") for key in self.SPANS]

    def queryset(self, request, queryset):
        span = self.SPANS.get(self.value() or "")
        if span is None:
            return queryset
        return queryset.filter(id__gte=id_floor_at(queryset.model, moment=timezone.now() - span))


class ProviderFilter(admin.SimpleListFilter):
    """Providers from the configuration and those that sent (ops's traffic totals), never a DISTINCT scan."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(name, name) for name in provider_names_known()]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


def _digits(term: str) -> str:
    return term[1:] if term.startswith("+") else term


class ApiKeyForm(forms.ModelForm):
    """A key's limits as staff set them: scopes and refused number types to tick, countries as
    a comma list; each checked as create_api_key checks it. A scope is added only by a staff
    member who holds the permissions of the routes it opens (`editor`, set by the admin)."""

    editor = None

    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the key may do; outside them a call is 403.",
    )
    allowed_countries = forms.CharField(
        required=False,
        help_text="ISO 3166 codes it may send to, comma-separated (e.g. US, KE); empty: any country.",
    )
    allowed_number_types = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Number types refused by default (SMS_REFUSED_NUMBER_TYPES) that this key may send to anyway.",
    )

    class Meta:
        model = ApiKey
        fields = (
            "name",
            "scopes",
            "rate_limit_per_minute",
            "daily_quota_parts",
            "allowed_countries",
            "allowed_number_types",
            "quiet_hours_enabled",
            "quiet_hours_start",
            "quiet_hours_end",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = list(self.instance.allowed_number_types or []) if self.instance.pk else []
        names = sorted({str(name).upper() for name in [*settings.SMS_REFUSED_NUMBER_TYPES, *stored]})
        self.fields["allowed_number_types"].choices = [(name, name) for name in names]
        if self.instance.pk:
            self.initial["allowed_countries"] = ", ".join(self.instance.allowed_countries or [])

    def clean_scopes(self):
        scopes = scopes_clean(self.cleaned_data["scopes"])
        added = [scope for scope in scopes if scope not in (self.instance.scopes or [])]
        beyond = scopes_beyond(self.editor, added) if self.editor is not None else []
        if beyond:
            raise ValidationError(
                f"You may not grant {', '.join(beyond)}: a scope is granted only by staff who hold the "
                "permissions of the routes it opens."
            )
        return scopes

    def clean_allowed_countries(self):
        return countries_clean(self.cleaned_data["allowed_countries"].replace(";", ",").split(","))

    def clean_allowed_number_types(self):
        return number_types_clean(self.cleaned_data["allowed_number_types"])


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "daily_quota_parts", "rate_limit_per_minute", "created_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "revoked_at", "last_used_at")
    fieldsets = (
        (None, {"fields": ("name", "prefix", "created_at", "last_used_at", "revoked_at")}),
        (
            "What it may send",
            {
                "fields": (
                    "scopes",
                    "rate_limit_per_minute",
                    "daily_quota_parts",
                    "allowed_countries",
                    "allowed_number_types",
                )
            },
        ),
        ("Quiet hours", {"fields": ("quiet_hours_enabled", "quiet_hours_start", "quiet_hours_end")}),
    )
    search_fields = ("name", "prefix")
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False  # keys are issued by `manage.py create_api_key`, which shows the key once

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.editor = request.user
        return form

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} keys.", messages.SUCCESS)


class ProviderForm(forms.ModelForm):
    """A provider's properties with its secrets shown as the mask. The mask sent back unchanged
    keeps the stored secret, unless the save moves the provider (a host, URL or port, or its kind):
    then each secret must be typed again, as in the API."""

    class Meta:
        model = Provider
        fields = (
            "name",
            "kind",
            "enabled",
            "order",
            "properties",
            "quiet_hours_enabled",
            "quiet_hours_start",
            "quiet_hours_end",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_properties = dict(self.instance.properties or {}) if self.instance.pk else {}
        self.stored_kind = self.instance.kind if self.instance.pk else None
        if self.instance.pk:
            self.initial["properties"] = properties_masked(self.stored_properties)

    def clean_properties(self):
        given = self.cleaned_data.get("properties")
        if given in (None, ""):
            given = {}
        if not isinstance(given, dict) or any(isinstance(value, (dict, list)) for value in given.values()):
            raise ValidationError('The properties are one object of "key": "value" pairs.')
        return {str(key).strip(): "" if value is None else str(value).strip() for key, value in given.items()}

    def clean(self):
        cleaned = super().clean()
        if "properties" not in cleaned:
            return cleaned
        moved = self.stored_kind is not None and cleaned.get("kind") != self.stored_kind
        try:
            cleaned["properties"] = provider_properties_merge(
                stored=self.stored_properties, given=cleaned["properties"], replace=True, moved=moved
            )
        except ProviderConfigError as error:
            self.add_error("properties", str(error))
        return cleaned


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    """Providers; their secrets are never shown again once saved, to any group."""

    form = ProviderForm
    list_display = ("name", "kind", "enabled", "order", "updated_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    readonly_fields = ("masked_properties",)

    def get_fields(self, request, obj=None):
        fields = list(ProviderForm.Meta.fields)
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page shows its fields as stored: the properties go through the mask.
            fields[fields.index("properties")] = "masked_properties"
        return fields

    @admin.display(description="Properties")
    def masked_properties(self, provider):
        shown = json.dumps(properties_masked(provider.properties or {}), indent=2, ensure_ascii=False)
        return format_html("<pre>{}</pre>", shown)


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


@admin.register(SmsRequest)
class SmsRequestAdmin(ConsoleAdmin):
    list_display = ("id", "client", "format", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter), "format")
    search_fields = ("=id",)
    inlines = [SmsMessageInline]
    actions = ["resend_failed", "cancel_waiting"]
    readonly_fields = ("id", "client", "format", "api_key", "user", "idempotency_key", "created_at", "recipients_link")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        number = id_from_text(term)
        if number is None:
            return queryset.none(), False
        return queryset.filter(id=number), False

    @admin.display(description="Recipients")
    def recipients_link(self, sms_request):
        url = reverse("admin:messaging_recipient_changelist") + f"?q={sms_request.pk}"
        return format_html('<a href="{}">Recipients of this request</a>', url)

    @admin.action(description="Resend the rejected, undelivered and expired recipients", permissions=["resend"])
    def resend_failed(self, request, queryset):
        total = None
        for sms_request in queryset[:100]:
            report = recipients_resend(
                recipient_ids=recipients_failed(request_id=sms_request.pk), by=request.user.get_username()
            )
            if total is None:
                total = report
            else:
                total.resent += report.resent
                total.opted_out += report.opted_out
                total.not_failed += report.not_failed
                total.already_resent += report.already_resent
        if total is not None:
            self.message_user(request, f"Resend: {total.summary()}.", messages.SUCCESS)

    @admin.action(description="Cancel what is not yet submitted", permissions=["cancel"])
    def cancel_waiting(self, request, queryset):
        cancelled = sum(sms_request_cancel(request_id=sms_request.pk) for sms_request in queryset[:100])
        self.message_user(request, f"Cancelled {cancelled} recipients not yet submitted.", messages.SUCCESS)


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
        term = search_term.strip()
        if not term:
            return queryset, False
        number = id_from_text(term)
        if number is None:
            return queryset.none(), False
        return queryset.filter(Q(request_id=number) | Q(id=number)), False

    @admin.display(description="Expansion")
    def progress(self, message):
        return expansion_progress(message, done="done")


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
class RecipientAdmin(ConsoleAdmin):
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

    def get_fieldsets(self, request, obj=None):
        if self.has_resend_permission(request):
            return self.fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "resend_button"]})
            for name, options in self.fieldsets
        ]

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
        message = recipient.message
        if recipient.content:
            return recipient.content
        if message.personalised:
            member = member_of(recipient)
            values = member_values(member) if member else {"mobile": recipient.phone}
            return render(message.content, values)
        return message.content

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

    @admin.display(description="Resend")
    def resend_button(self, recipient):
        if recipient.state not in (RecipientState.REJECTED, RecipientState.UNDELIVERED, RecipientState.EXPIRED):
            return "-"
        url = reverse("admin:messaging_recipient_resend", args=[recipient.pk])
        return format_html('<a class="button" id="resend-link" href="{}">Resend as a new attempt</a>', url)

    def get_urls(self):
        own = [
            path(
                "<int:recipient_id>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="messaging_recipient_resend",
            )
        ]
        return own + super().get_urls()

    def resend_view(self, request, recipient_id: int):
        """Confirm (GET) and resend (POST) one recipient; refused without the resend permission."""
        if not self.has_resend_permission(request):
            raise PermissionDenied
        recipient = get_object_or_404(Recipient.objects.select_related("message"), pk=recipient_id)
        if request.method == "POST":
            report = recipients_resend(recipient_ids=[recipient.pk], by=request.user.get_username())
            level = messages.SUCCESS if report.resent else messages.WARNING
            self.message_user(request, f"Resend: {report.summary()}.", level)
            target = report.new_ids[0] if report.new_ids else recipient.pk
            return HttpResponseRedirect(reverse("admin:messaging_recipient_change", args=[target]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Resend recipient {recipient.pk}",
            "recipient": recipient,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/console/resend_confirm.html", context)

    @admin.action(description="Resend the selected failed recipients as new attempts", permissions=["resend"])
    def resend_selected(self, request, queryset):
        report = recipients_resend(recipient_ids=queryset.values_list("id", flat=True), by=request.user.get_username())
        self.message_user(request, f"Resend: {report.summary()}.", messages.SUCCESS)

    @admin.action(description="Cancel the selected recipients not yet submitted", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        cancelled = recipients_cancel(recipient_ids=ids, by=request.user.get_username())
        self.message_user(
            request,
            f"Cancelled {cancelled} recipients; {len(ids) - cancelled} were already submitted or final.",
            messages.SUCCESS,
        )


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


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    """Volt MX access tokens handed to gateway users; only the token half is shown (the secret is
    stored as its hash). Revoking one ends it at once."""

    list_display = ("short_token", "user", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("short_token", "user", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False  # a token is issued by GET /api/v1/oauth/accesstoken to the user who signs in

    @admin.display(description="token")
    def short_token(self, obj):
        return obj.token[:8] + "…"

    @admin.action(description="Revoke the selected access tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        for access_token in queryset.filter(revoked_at__isnull=True):
            access_token_revoke(access_token=access_token)
        self.message_user(request, "Revoked the selected access tokens.", messages.SUCCESS)
