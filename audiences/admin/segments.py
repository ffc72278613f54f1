"""Segments with their conditions inline, checked together as the API checks them; a validate
button that shows the definition as it will be evaluated, a live count of the members it holds,
publishing, and deleting through the segment services, which refuse a segment that a message
not yet sent uses, as the API does."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audiences.models import AudienceAttribute, ConditionType, Segment, SegmentCondition
from audiences.segments import MEMBER_FIELDS, OPERATORS, SegmentError, plan_text, segment_plan, segment_plan_build
from audiences.selectors import plan_member_count
from audiences.services.segments import SegmentActor, SegmentInUse, segment_delete, segment_publish


def _attribute_choices():
    names = [*MEMBER_FIELDS, *AudienceAttribute.objects.order_by("name").values_list("name", flat=True)]
    return [(name, name) for name in names]


class SegmentConditionForm(forms.ModelForm):
    attribute = forms.ChoiceField(choices=_attribute_choices)
    operator = forms.ChoiceField(choices=[(name, name) for name in OPERATORS])

    class Meta:
        model = SegmentCondition
        fields = ("number", "attribute", "operator", "value")


class SegmentConditionFormSet(forms.BaseInlineFormSet):
    """The conditions and the segment's definition are checked together."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        conditions = [
            {
                "number": form.cleaned_data["number"],
                "attribute": form.cleaned_data["attribute"],
                "operator": form.cleaned_data["operator"],
                "value": form.cleaned_data.get("value") or "",
            }
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        segment = self.instance
        if not conditions and segment.name != Segment.ALL_USERS:
            raise ValidationError('A segment needs at least one condition: only "All Users" holds every member.')
        if segment.condition_type in (ConditionType.ALL, ConditionType.ANY):
            # all and any write the definition from the conditions, as the API does
            joiner = " AND " if segment.condition_type == ConditionType.ALL else " OR "
            segment.definition = joiner.join(str(number) for number in sorted(c["number"] for c in conditions))
        try:
            segment_plan_build(definition=segment.definition, conditions=conditions)
        except SegmentError as error:
            raise ValidationError(error.problems) from None


class SegmentConditionInline(admin.TabularInline):
    model = SegmentCondition
    form = SegmentConditionForm
    formset = SegmentConditionFormSet
    extra = 1


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "condition_type", "definition", "published", "owner", "updated_at")
    list_filter = ("published", "condition_type")
    search_fields = ("name",)
    inlines = [SegmentConditionInline]
    readonly_fields = ("owner", "created_by", "last_modified_by", "evaluated_as", "matching_members")
    fields = (
        "name",
        "condition_type",
        "definition",
        "published",
        "owner",
        "created_by",
        "last_modified_by",
        "evaluated_as",
        "matching_members",
    )
    # Django's own delete action, replaced (first, where the site's stood) by one that refuses whole.
    actions = ["delete_selected", "publish_segments", "unpublish_segments"]
    change_form_template = "admin/audiences/segment/change_form.html"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        obj.last_modified_by = request.user.get_username()
        super().save_model(request, obj, form, change)

    @admin.action(
        description="Publish the selected segments (only published segments are sent to)", permissions=["change"]
    )
    def publish_segments(self, request, queryset):
        self._publish(request, queryset, published=True)

    @admin.action(description="Unpublish the selected segments", permissions=["change"])
    def unpublish_segments(self, request, queryset):
        self._publish(request, queryset.exclude(name=Segment.ALL_USERS), published=False)

    def _publish(self, request, queryset, *, published: bool):
        actor = SegmentActor(owner=None, name=request.user.get_username())
        changed = 0
        for segment_id in queryset.values_list("id", flat=True):
            try:
                segment_publish(segment_id=segment_id, published=published, actor=actor)
            except SegmentError as error:
                self.message_user(request, f"Segment {segment_id} unchanged: {error}", level=messages.WARNING)
                continue
            changed += 1
        self.message_user(request, f"{changed} segment(s) {'published' if published else 'unpublished'}.")

    def get_urls(self):
        return [
            path("validate/", self.admin_site.admin_view(self.validate_view), name="audiences_segment_validate"),
            *super().get_urls(),
        ]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name == Segment.ALL_USERS:
            return False
        return super().has_delete_permission(request, obj)

    # Deleting goes through segment_delete, as the API's does: a segment that a message not yet
    # sent uses stays (SegmentInUse, the API's 409), and the page says why.

    def delete_model(self, request, obj):
        segment_delete(segment_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for segment_id in queryset.values_list("id", flat=True):
            segment_delete(segment_id=segment_id)

    def delete_view(self, request, object_id, extra_context=None):
        """Django's delete page. A refusal undoes the deletion's log entry (the page's transaction)
        and comes back to the segment's page with the reason."""
        try:
            return super().delete_view(request, object_id, extra_context)
        except (SegmentInUse, SegmentError) as error:
            self.message_user(request, f"The segment was not deleted: {error}.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:audiences_segment_change", args=[object_id]))

    @admin.action(description=django_delete_selected.short_description, permissions=["delete"])
    def delete_selected(self, request, queryset):
        """Django's delete action in one transaction: when one segment is refused, none is deleted."""
        try:
            with transaction.atomic():
                return django_delete_selected(self, request, queryset)
        except (SegmentInUse, SegmentError) as error:
            self.message_user(request, f"No segment was deleted: {error}.", messages.ERROR)
            return None

    @admin.display(description="Evaluated as")
    def evaluated_as(self, segment):
        if segment.pk is None:
            return "-"
        try:
            return plan_text(segment_plan(segment))
        except SegmentError as error:
            return f"invalid: {error}"

    @admin.display(description="Matching members now")
    def matching_members(self, segment):
        if segment.pk is None:
            return "-"
        try:
            plan_filter = segment_plan(segment)
        except SegmentError:
            return "-"
        try:
            everyone = plan_member_count(plan=plan_filter)
            reachable = plan_member_count(plan=plan_filter, channel="text")
        except SegmentError as error:
            return f"cannot be counted: {error}"
        return format_html("{} members, of whom {} active and SMS-subscribed", everyone, reachable)

    def validate_view(self, request):
        """The change form's definition and conditions, checked without saving."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:audiences_segment_changelist"))
        definition = request.POST.get("definition", "")
        conditions = _posted_conditions(request.POST)
        condition_type = request.POST.get("condition_type")
        if condition_type in (ConditionType.ALL, ConditionType.ANY):
            joiner = " AND " if condition_type == ConditionType.ALL else " OR "
            definition = joiner.join(str(c["number"]) for c in conditions if isinstance(c["number"], int))
        context = {
            **self.admin_site.each_context(request),
            "title": "Segment definition",
            "opts": self.model._meta,
            "definition": definition,
        }
        try:
            plan = segment_plan_build(definition=definition, conditions=conditions)
        except SegmentError as error:
            context["problems"] = error.problems
        else:
            context["evaluated"] = plan_text(plan)
            try:
                context["everyone"] = plan_member_count(plan=plan)
                context["reachable"] = plan_member_count(plan=plan, channel="text")
            except SegmentError as error:
                context["problems"] = error.problems
        return TemplateResponse(request, "admin/audiences/segment/validate.html", context)


def _posted_conditions(post) -> list[dict]:
    prefix = "conditions"
    try:
        total = min(int(post.get(f"{prefix}-TOTAL_FORMS", "0")), 200)
    except ValueError:
        total = 0
    conditions = []
    for index in range(total):
        key = f"{prefix}-{index}-"
        if post.get(key + "DELETE") or not (post.get(key + "number") or "").strip():
            continue
        number = post.get(key + "number").strip()
        conditions.append(
            {
                "number": int(number) if number.isdecimal() else number,
                "attribute": post.get(key + "attribute", ""),
                "operator": post.get(key + "operator", ""),
                "value": post.get(key + "value", ""),
            }
        )
    return conditions
