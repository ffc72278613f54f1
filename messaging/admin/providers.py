"""Providers: their configuration as CONTRACT section 8 gives it, checked as the API checks it,
with their secrets never shown again once saved, to any group."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from messaging.models import Provider
from messaging.services.providers.configuration import (
    ProviderConfigError,
    properties_masked,
    provider_properties_merge,
)


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
