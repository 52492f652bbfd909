from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from modeltranslation.admin import TranslationAdmin

from portal.models import Building, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    fieldsets = UserAdmin.fieldsets + ((None, {"fields": ("birth_date", "guardian")}),)
    actions = ["erase_accounts"]

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
