"""Custom attributes: declared with their type (a pick list with its values), checked as the API
checks them, and kept while a segment's condition names them."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from audiences import values
from audiences.models import AttributeType, AudienceAttribute, Segment, SegmentCondition


class AudienceAttributeForm(forms.ModelForm):
    class Meta:
        model = AudienceAttribute
        fields = ("name", "type", "choices", "required", "reconciliation_key")

    def clean_name(self):
        try:
            return values.attribute_name_clean(self.cleaned_data["name"])
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        others = (
            AudienceAttribute.objects.exclude(pk=self.instance.pk) if self.instance.pk else AudienceAttribute.objects
        )
        if others.count() >= values.MAX_ATTRIBUTES:
            raise ValidationError(f"at most {values.MAX_ATTRIBUTES} custom attributes can be declared")
        choices = cleaned.get("choices")
        if cleaned.get("type") == AttributeType.PICK_LIST and not (
            isinstance(choices, list) and choices and all(isinstance(c, str) and c for c in choices)
        ):
            raise ValidationError({"choices": 'a pick list needs its values, e.g. ["gold", "silver"]'})
        return cleaned


@admin.register(AudienceAttribute)
class AudienceAttributeAdmin(admin.ModelAdmin):
    form = AudienceAttributeForm
    list_display = ("name", "type", "choices", "required", "used_by")
    readonly_fields = ("created_by", "modified_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        obj.modified_by = request.user.get_username()
        super().save_model(request, obj, form, change)

    @admin.display(description="Used by segments")
    def used_by(self, attribute):
        return ", ".join(
            Segment.objects.filter(conditions__attribute=attribute.name).distinct().values_list("name", flat=True)
        )

    def has_delete_permission(self, request, obj=None):
        """An attribute that a segment's condition names stays until the condition goes."""
        if obj is not None and SegmentCondition.objects.filter(attribute=obj.name).exists():
            return False
        return super().has_delete_permission(request, obj)
