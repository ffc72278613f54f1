"""What the console's queue pages share: the paginator that never counts a large table, the
read-only base of those pages with the operator's two permissions (resend, cancel), and the list
filters that read an indexed range or equality (created within a span, provider)."""

from datetime import timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.functional import cached_property

from messaging.selectors import id_floor_at, provider_names_known, table_estimate

BOUNDED_COUNT = 1000
RESEND_PERMISSION = "messaging.resend_recipient"
CANCEL_PERMISSION = "messaging.cancel_recipient"


class UncountedPaginator(Paginator):
    """Pages without counting: the planner's estimate for a whole table, a count bounded at
    a thousand rows for a filtered one."""

    estimated = False
    bounded = False

    @cached_property
    def count(self):
        query = self.object_list
        if not query.query.where:
            estimate = table_estimate(query.model)
            if estimate is not None and estimate > BOUNDED_COUNT:
                self.estimated = True
                return estimate
        counted = query.order_by()[:BOUNDED_COUNT].count()
        self.bounded = counted >= BOUNDED_COUNT
        return counted


class ConsoleAdmin(admin.ModelAdmin):
    """Read-only pages that do not count their tables."""

    paginator = UncountedPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm(RESEND_PERMISSION)

    def has_cancel_permission(self, request):
        return request.user.has_perm(CANCEL_PERMISSION)


class CreatedWithinFilter(admin.SimpleListFilter):
    """Created within the last hour, day, week or month, as an id range (ids grow with time)."""

    title = "created"
    parameter_name = "created"
    SPANS = {
        "hour": timedelta(hours=1),
        "day": timedelta(days=1),
        "week": timedelta(days=7),
        "month": timedelta(days=30),
    }

    def lookups(self, request, model_admin):
        return [(key, f"Last {key}") for key in self.SPANS]

    def queryset(self, request, queryset):
        span = self.SPANS.get(self.value() or "")
        if span is None:
            return queryset
        return queryset.filter(id__gte=id_floor_at(queryset.model, moment=timezone.now() - span))


class ProviderFilter(admin.SimpleListFilter):
    """Providers from the configuration and those that sent (ops's traffic totals), never a DISTINCT scan."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(name, name) for name in provider_names_known()]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset
