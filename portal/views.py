import base64
import sys
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found
from django_otp import login as otp_login
from django_otp_webauthn.models import WebAuthnCredential

from portal import accounts, backup_codes, signals, signin, trusted
from portal.forms import CodeForm, ConfirmPasswordForm, PasswordSignInForm
from portal.middleware import error_response
from portal.models import SealedTOTPDevice


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return reverse("portal:home")


@login_required
def home(request):
    return render(request, "portal/home.html")


@sensitive_post_parameters("password")
@never_cache
def login_password(request):
    next_url = _next_url(request)
    form = PasswordSignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user, error = signin.check_password(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        if user is None:
            form.add_error(None, error)
        else:
            if signin.has_second_factor(user):
                signin.start_pending(request, user, next_url)
                return redirect("portal:login-code")
            signin.finish(request, user)
            signals.signed_in_without_code.send(
                sender=type(user), person=user, method=signals.PASSWORD
            )
            if user.second_factor_required():
                return redirect("portal:two-factor")
            return redirect(next_url)
    return render(
        request,
        "portal/login.html",
        {"form": form, "next": next_url, "face_offered": signin.face_offered(request)},
    )


@sensitive_post_parameters("code")
@never_cache
def login_code(request):
    user, next_url = signin.pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again: the sign-in step timed out."))
        return redirect("portal:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, error = signin.verify_code(request, user, form.cleaned_data["code"])
        if device is not None:
            signin.finish(request, user, device)
            response = redirect(next_url or "portal:home")
            trusted.remember(request, response, user)
            return response
        form.add_error("code", error)
    return render(
        request,
        "portal/login_code.html",
        {"form": form, "next": next_url or reverse("portal:home")},
    )


@require_POST
def logout_view(request):
    logout(request)
    return redirect("portal:login")


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@sensitive_post_parameters("code")
@never_cache
@login_required
def two_factor(request):
    user = request.user
    confirmed = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        return render(
            request,
            "portal/two_factor_done.html",
            {
                "device": confirmed,
                "backup_left": backup_codes.remaining(user),
                "passkeys": _passkeys(user),
            },
        )
    if not signin.password_recently_checked(request, user):
        return _confirm_password(request)
    device = accounts.start_authenticator(user, actor=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = accounts.confirm_authenticator(user, form.cleaned_data["code"], actor=user)
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            return render(request, "portal/backup_codes.html", {"codes": codes})
        form.add_error("code", _("That code is not correct. Check the time on your phone."))
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "portal/two_factor.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": secret,
            "passkeys": _passkeys(user),
        },
    )


@sensitive_post_parameters("password")
def _confirm_password(request):
    """A new second factor is enrolled only within SECOND_FACTOR_REAUTH_SECONDS of the
    password typed again: a session alone (a face sign-in, a borrowed browser) never gets
    a fresh authenticator secret. Wrong passwords count like sign-in failures."""
    user = request.user
    form = ConfirmPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        checked, error = signin.check_password(
            request, user.get_username(), form.cleaned_data["password"]
        )
        if checked is not None and checked.pk == user.pk:
            return redirect("portal:two-factor")
        form.add_error("password", error)
    return render(request, "portal/two_factor_password.html", {"form": form})


def _passkeys(user) -> list:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at"))


@sensitive_post_parameters("password")
@never_cache
@login_required
def backup_codes_view(request):
    """How many backup codes are left; a new set (shown once) after the password again.
    Wrong passwords count like sign-in failures: a borrowed session is no password oracle."""
    user = request.user
    form = ConfirmPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        found = signin.counters(request, "password", user, user.username)
        wait = signin.seconds_to_wait(found)
        if wait:
            form.add_error(None, signin.locked_message(wait))
        elif user.check_password(form.cleaned_data["password"]):
            signin.clear(found)
            codes = backup_codes.generate_backup_codes(user)
            return render(request, "portal/backup_codes.html", {"codes": codes})
        else:
            wait = signin.count_failure(found)
            form.add_error(
                "password",
                signin.locked_message(wait) if wait else _("That is not your password."),
            )
    return render(
        request,
        "portal/backup_codes_manage.html",
        {"form": form, "left": backup_codes.remaining(user), "total": backup_codes.COUNT},
    )


def server_error(request):
    """The 500 handler; a database that cannot be reached (restarting, say) is a 503 that
    asks to try again shortly. Touches neither the database nor the session."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return error_response(
            request,
            503,
            "unavailable",
            _("Try again in a moment"),
            _("The portal cannot reach its database just now. Please try again in a moment."),
            **{"Retry-After": "5"},
        )
    return error_response(
        request,
        500,
        "server_error",
        _("Something went wrong"),
        _("Something went wrong on our side. Please try again."),
    )


def not_found(request, exception=None):
    """404: in the portal's error shape under /api/ (a path that matches no route, such as a
    negative id, included), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(request, 404, "not_found", _("Not found"), _("Not found."))
    return page_not_found(request, exception)
