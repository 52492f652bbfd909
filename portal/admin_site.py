"""Django's admin behind the portal's own sign-in: one guarded entrance for administrators."""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class PortalAdminSite(admin.AdminSite):
    """Django's admin behind the portal's own sign-in: its login page sends people to the
    password + second-factor pages (with their throttling), and only a session that passed
    a second factor (`is_verified`) reaches an admin page."""

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated and not request.user.is_verified():
            return redirect("portal:two-factor")
        return redirect(reverse("portal:login") + "?" + urlencode({"next": target}))


class PortalAdminConfig(AdminConfig):
    """Django's admin app on the guarded site (in INSTALLED_APPS instead of
    django.contrib.admin)."""

    default_site = "portal.admin_site.PortalAdminSite"
