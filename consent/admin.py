"""Read-only views of consent records in the Django admin: services are the only writers."""

from django.contrib import admin

from consent.models import Assessment, Consent, ConsentEvent, Notice, Purpose


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Purpose)
class PurposeAdmin(ReadOnlyAdmin):
    list_display = ["name", "building", "kind", "audience", "storage", "method", "status"]
    list_filter = ["status", "kind", "audience", "storage", "method"]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["purpose", "version", "requires_renewal", "published_at"]


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ["purpose", "created_at", "approved_at", "keep_until"]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["person", "purpose", "status", "decided_at", "renewal_needed_at"]
    list_filter = ["status"]
    list_select_related = ["person", "purpose"]
    show_full_result_count = False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["consent", "kind", "at", "actor", "channel"]
    show_full_result_count = False
