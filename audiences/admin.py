"""The audience pages for marketing staff: members (search, filters, CSV import and export),
custom attributes, and segments with their conditions, a validate button that shows the
definition as it will be evaluated, and a live count of the members it holds."""

import io
import tempfile

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from audiences import values
from audiences.models import AttributeType, AudienceAttribute, ConditionType, Member, Segment, SegmentCondition
from audiences.segments import MEMBER_FIELDS, OPERATORS, SegmentError, plan_text, segment_plan, segment_plan_build
from audiences.selectors import plan_member_count
from audiences.services.importing import ImportRefused, members_export_rows, members_import
from audiences.services.members import MemberError, member_fields_clean, member_opt_out_lift
from audiences.services.segments import SegmentActor, segment_publish

MAX_UPLOAD_BYTES = 512 * 1024 * 1024


# Members ---------------------------------------------------------------------------------------


class MemberForm(forms.ModelForm):
    """The API's rules for a member (E.164 mobile, state in the USA, typed attributes)."""

    class Meta:
        model = Member
        fields = (
            "first_name",
            "last_name",
            "email",
            "mobile",
            "country",
            "state",
            "active",
            "sms_subscription",
            "voice_subscription",
            "email_subscription",
            "last_active_date",
            "attributes",
        )

    def clean(self):
        cleaned = super().clean()
        given = {
            "firstName": cleaned.get("first_name"),
            "lastName": cleaned.get("last_name"),
            "email": cleaned.get("email"),
            "mobileNumber": cleaned.get("mobile"),
            "country": cleaned.get("country"),
            "state": cleaned.get("state"),
            "active": cleaned.get("active"),
            "smsSubscription": cleaned.get("sms_subscription"),
            "voiceSubscription": cleaned.get("voice_subscription"),
            "emailSubscription": cleaned.get("email_subscription"),
            "attributes": cleaned.get("attributes") or {},
        }
        declared = values.attributes_declared()
        try:
            fields = member_fields_clean(given, declared=declared)
        except (MemberError, ValueError) as error:
            raise ValidationError(str(error)) from None
        cleaned.update(email=fields.email, mobile=fields.mobile, attributes=fields.attributes)
        return cleaned


class LiftOptOutForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the person may be texted again (e.g. written consent received on 2026-11-30). "
        "Kept on the member and in the admin's history.",
    )


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: firstName, lastName, email, country, mobileNumber, ...")
    strict = forms.BooleanField(required=False, help_text="Import nothing when any row is bad.")


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    form = MemberForm
    change_list_template = "admin/audiences/member/change_list.html"
    list_display = (
        "id",
        "first_name",
        "last_name",
        "mobile",
        "email",
        "country",
        "state",
        "active",
        "sms_subscription",
        "sms_opted_out_at",
    )
    list_filter = (
        "active",
        "sms_subscription",
        ("sms_opted_out_at", admin.EmptyFieldListFilter),
        "voice_subscription",
        "email_subscription",
        "country",
        "state",
    )
    search_fields = ("first_name", "last_name", "=mobile", "email")
    show_full_result_count = False
    readonly_fields = ("owner", "sms_opted_out_at", "sms_opt_out_lifted", "created_at", "updated_at")
    actions = ["export_selected", "lift_opt_out"]

    def get_readonly_fields(self, request, obj=None):
        """The SMS subscription of a member who texted STOP is the person's: the lift action
        (with its permission and a reason) changes it, the form does not."""
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.sms_opted_out_at is not None:
            return (*fields, "sms_subscription")
        return fields

    def has_lift_opt_out_permission(self, request):
        return request.user.has_perm("audiences.lift_opt_out")

    @admin.action(
        description="Lift the opt-out these members texted (STOP), with a reason", permissions=["lift_opt_out"]
    )
    def lift_opt_out(self, request, queryset):
        form = LiftOptOutForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            lifted = 0
            for member in queryset.filter(sms_opted_out_at__isnull=False):
                if member_opt_out_lift(member=member, reason=reason, actor=request.user.get_username()):
                    self.log_change(request, member, f"Lifted the opt-out the person texted (STOP): {reason}")
                    lifted += 1
            messages.success(request, f"{lifted} members subscribed to SMS again.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Lift an opt-out the person texted",
            "form": form,
            "members": queryset.filter(sms_opted_out_at__isnull=False),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/audiences/member/lift_opt_out.html", context)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="audiences_member_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name="audiences_member_export"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
            else:
                try:
                    report = _import_upload(upload, strict=form.cleaned_data["strict"])
                except ImportRefused as error:
                    form.add_error("file", str(error))
                except UnicodeDecodeError:
                    form.add_error("file", "the file is not UTF-8 text")
                else:
                    _report_import(request, report)
                    return HttpResponseRedirect(reverse("admin:audiences_member_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Import members from CSV", "form": form}
        context["opts"] = self.model._meta
        return TemplateResponse(request, "admin/audiences/member/import.html", context)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return _csv_response(members_export_rows())

    @admin.action(description="Export selected members as CSV", permissions=["view"])
    def export_selected(self, request, queryset):
        return _csv_response(members_export_rows(members=queryset))


def _import_upload(upload, *, strict: bool):
    with tempfile.TemporaryFile() as spool:
        for chunk in upload.chunks():
            spool.write(chunk)
        spool.seek(0)
        with io.TextIOWrapper(spool, encoding="utf-8-sig", newline="") as text:
            return members_import(stream=text, strict=strict, parallel=False)


def _report_import(request, report) -> None:
    shown = "; ".join(f"line {line}: {problem}" for line, problem in report.bad[:10])
    more = f" (and {report.bad_count - 10} more)" if report.bad_count > 10 else ""
    if not report.imported:
        messages.error(request, f"Nothing imported: {report.bad_count} bad rows of {report.rows}. {shown}{more}")
        return
    messages.success(request, f"{report.rows} rows: {report.created} members added, {report.updated} updated.")
    if report.bad_count:
        messages.warning(request, f"{report.bad_count} bad rows skipped. {shown}{more}")


def _csv_response(rows):
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="members-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


# Attributes ------------------------------------------------------------------------------------


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


# Segments --------------------------------------------------------------------------------------


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
    actions = ["publish_segments", "unpublish_segments"]
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
