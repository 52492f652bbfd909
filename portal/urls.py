from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import urls as webauthn_urls
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from consent import urls as consent_urls
from portal import api, health, passkeys, views
from recognition import urls as recognition_urls
from recognition.entry import urls as entry_urls
from recognition.rights import urls as rights_urls

accounts = [
    path("", views.home, name="home"),
    path("accounts/login/", views.login_password, name="login"),
    path("accounts/login/code/", views.login_code, name="login-code"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/two-factor/", views.two_factor, name="two-factor"),
    path("accounts/backup-codes/", views.backup_codes_view, name="backup-codes"),
    # An invited person sets their own password through the link their admin handed over.
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portal/set_password.html",
            success_url=reverse_lazy("portal:set-password-done"),
        ),
        name="set-password",
    ),
    path(
        "accounts/set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/set_password_done.html"),
        name="set-password-done",
    ),
]

# django-otp-webauthn's ceremonies; its last sign-in step is ours, to log the sign-in.
passkey_urls = [
    path(
        "authentication/complete/",
        passkeys.PasskeySignInView.as_view(),
        name="credential-authentication-complete",
    ),
    *[
        pattern
        for pattern in webauthn_urls.urlpatterns
        if pattern.name != "credential-authentication-complete"
    ],
]

api_v1 = [
    path("me/", api.MeView.as_view(), name="api-me"),
]

api_v1 += consent_urls.api_urlpatterns + recognition_urls.api_urlpatterns
api_v1 += entry_urls.api_urlpatterns

urlpatterns = [
    path("", include((accounts, "portal"))),
    path("", include((consent_urls.urlpatterns, "consent"))),
    path("", include((recognition_urls.urlpatterns, "recognition"))),
    path("", include((rights_urls.urlpatterns, "rights"))),
    path("", include((entry_urls.urlpatterns, "entry"))),
    path("accounts/passkeys/", include((passkey_urls, "otp_webauthn"))),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("django-admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
