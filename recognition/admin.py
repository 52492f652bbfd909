"""Door devices in the Django admin: read-only, with revocation through the service. Keys are
issued and rotated on the building admin's device pages, where they are shown once."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from recognition.doors import devices
from recognition.models import Device


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "building", "location", "purpose", "key_prefix", "last_contact_at"]
    list_filter = ["building", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["building", "location", "purpose"]
    fields = ["name", "building", "location", "purpose", "key_prefix", "created_at"]
    fields += ["last_contact_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the keys of the selected devices"))
    def revoke(self, request, queryset):
        count = 0
        for device in queryset.filter(revoked_at__isnull=True):
            devices.revoke_device(device, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d device revoked.", "%(count)d devices revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )
