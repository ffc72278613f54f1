from django.contrib import admin

from audiences.models import AudienceAttribute, Member, Segment, SegmentCondition


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("id", "first_name", "last_name", "mobile", "email", "country", "state", "active")
    list_filter = ("active", "sms_subscription", "voice_subscription", "country")
    search_fields = ("first_name", "last_name", "=mobile", "email")
    show_full_result_count = False


@admin.register(AudienceAttribute)
class AudienceAttributeAdmin(admin.ModelAdmin):
    list_display = ("name", "type")


class SegmentConditionInline(admin.TabularInline):
    model = SegmentCondition
    extra = 1


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "definition")
    inlines = [SegmentConditionInline]
