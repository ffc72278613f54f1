"""Members in and out as CSV: the import page (an upload spooled to disk, then the import
service, strict or not) with its report of bad rows, and the export of every member or of the
selected ones, in the import's columns so that an export imports again."""

import io
import tempfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from audiences.services.importing import ImportRefused, members_export_rows, members_import

MAX_UPLOAD_BYTES = 512 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: firstName, lastName, email, country, mobileNumber, ...")
    strict = forms.BooleanField(required=False, help_text="Import nothing when any row is bad.")


class MemberCsvViews:
    """The import and export pages and the export action of MemberAdmin."""

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
