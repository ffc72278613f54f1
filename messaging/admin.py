from django.contrib import admin, messages

from messaging.models import ApiKey, Recipient, RecipientEvent, SmsMessage, SmsRequest
from messaging.services.api_keys import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "rate_limit_per_minute", "created_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "revoked_at", "last_used_at")
    search_fields = ("name", "prefix")
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False  # keys are issued by `manage.py create_api_key`, which shows the key once

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} keys.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SmsRequest)
class SmsRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "client", "format", "created_at")
    search_fields = ("=id",)
    show_full_result_count = False


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "request_id", "position", "channel", "priority", "start_at", "expires_at", "parts")
    list_filter = ("channel", "priority")
    search_fields = ("=request__id",)
    show_full_result_count = False


class RecipientEventInline(admin.TabularInline):
    model = RecipientEvent
    extra = 0
    can_delete = False
    readonly_fields = ("state", "at", "provider_message_id", "error_code", "detail")


@admin.register(Recipient)
class RecipientAdmin(ReadOnlyAdmin):
    list_display = ("id", "phone", "state", "provider", "provider_message_id", "due_at", "submitted_at")
    list_filter = ("state", "channel", "priority")
    search_fields = ("=phone", "=provider_message_id", "=message__request__id")
    raw_id_fields = ("message", "member")
    inlines = [RecipientEventInline]
    show_full_result_count = False
