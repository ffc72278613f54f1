"""The operator's actions on the queue: resend what failed and cancel what waits, on requests and
on recipients, with the recipient's own resend page. Each parses, calls one service and reports
a count. The permissions are messaging.resend_recipient and messaging.cancel_recipient, which
ConsoleAdmin asks (has_resend_permission, has_cancel_permission)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from messaging.models import Recipient, RecipientState
from messaging.services.cancel import sms_request_cancel
from messaging.services.operations import recipients_cancel
from messaging.services.resend import ResendReport, recipients_failed, recipients_resend


class RequestActions:
    """Resend and cancel on the requests' list (SmsRequestAdmin)."""

    @admin.action(description="Resend the rejected, undelivered and expired recipients", permissions=["resend"])
    def resend_failed(self, request, queryset):
        by = request.user.get_username()
        reports = [
            recipients_resend(recipient_ids=recipients_failed(request_id=sms_request.pk), by=by)
            for sms_request in queryset[:100]
        ]
        if reports:
            self.message_user(request, f"Resend: {ResendReport.total_of(reports).summary()}.", messages.SUCCESS)

    @admin.action(description="Cancel what is not yet submitted", permissions=["cancel"])
    def cancel_waiting(self, request, queryset):
        cancelled = sum(sms_request_cancel(request_id=sms_request.pk) for sms_request in queryset[:100])
        self.message_user(request, f"Cancelled {cancelled} recipients not yet submitted.", messages.SUCCESS)


class RecipientActions:
    """Resend and cancel on the recipients' list, and the resend button and page of one recipient
    (RecipientAdmin); the button shows only to staff who may resend."""

    def get_fieldsets(self, request, obj=None):
        if self.has_resend_permission(request):
            return self.fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "resend_button"]})
            for name, options in self.fieldsets
        ]

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
