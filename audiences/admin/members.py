"""Members for marketing staff: search by name, mobile or email, filters by subscription and
place, the member form with the API's rules, and lifting an opt-out the person texted (STOP)
with a reason. The CSV import and export pages are in members_csv.py."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from audiences import values
from audiences.admin.members_csv import MemberCsvViews
from audiences.models import Member
from audiences.services.members import MemberError, member_fields_clean, member_opt_out_lift


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


@admin.register(Member)
class MemberAdmin(MemberCsvViews, admin.ModelAdmin):
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
