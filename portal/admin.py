from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from modeltranslation.admin import TranslationAdmin

from portal.models import Building, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    fieldsets = UserAdmin.fieldsets + ((None, {"fields": ("birth_date", "guardian")}),)


@admin.register(Building)
class BuildingAdmin(TranslationAdmin):
    """Name and handler in English and Simplified Chinese, as residents read them."""

    list_display = ["name", "handler_name"]
