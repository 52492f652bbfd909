from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from modeltranslation.admin import TranslationAdmin

from portal.models import AuditEntry, Building, Membership, User


class MembershipInline(admin.TabularInline):
    """Read-only: people join through `invite_person` and leave through `mark_person_left`
    (their consents there end and their face data is deleted with it), never by an edit of
    `left_at` here."""

    model = Membership
    extra = 0
    fields = readonly_fields = ["building", "role", "joined_at", "left_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Names, email, date of birth and guardian are written by the services that record them
    (`correct_profile`, `record_age`, `invite_person`), so they are read-only here; accounts
    are made by `invite_person` and `create_first_admin`, erased by `delete_account`."""

    inlines = [MembershipInline]
    fieldsets = UserAdmin.fieldsets + ((None, {"fields": ("birth_date", "guardian")}),)
    readonly_fields = ["first_name", "last_name", "email", "birth_date", "guardian"]
    actions = ["erase_accounts"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        """A plain delete would cascade past the erasure rules (face data first, the audit
        entry, attempt logs kept): accounts are erased only through `delete_account`."""
        return False

    @admin.action(description=gettext_lazy("Erase the selected accounts (face data first)"))
    def erase_accounts(self, request, queryset):
        from recognition.rights.services import delete_account

        erased = 0
        for person in queryset:
            delete_account(person, actor=request.user)
            erased += 1
        self.message_user(request, _("%(count)d accounts erased.") % {"count": erased})


@admin.register(Building)
class BuildingAdmin(TranslationAdmin):
    """Name and handler in English and Simplified Chinese, as residents read them."""

    list_display = ["name", "handler_name"]
    # Whether doors take backup codes is set through `set_door_backup_codes`, with its entry.
    readonly_fields = ["door_backup_codes"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by `portal.audit.record` alone, and the database refuses
    to change or delete them."""

    list_display = ["id", "at", "event", "actor_id", "person_id", "building_id"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
