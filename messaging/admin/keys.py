"""Who may call the API: partners' keys (their scopes, quotas, countries, number types and quiet
hours, and revoking them) and the Volt MX access tokens handed to gateway users."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from messaging.api.access import scopes_beyond
from messaging.models import SCOPES, AccessToken, ApiKey
from messaging.services.access_tokens import access_token_revoke
from messaging.services.api_keys import api_key_revoke, countries_clean, number_types_clean, scopes_clean


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
