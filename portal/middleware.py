from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from portal.refusals import error_body

_OPEN_PREFIXES = ("/accounts/", "/static/", "/i18n/")


class RequireSecondFactorMiddleware:
    """Building admins and superusers must have passed a second factor to go anywhere else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not user.is_verified()
            and user.second_factor_required()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    error_body(
                        "second_factor_required", _("Set up and use a second factor to continue.")
                    ),
                    status=403,
                )
            return redirect(reverse("portal:two-factor"))
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Everything is served from our own origin: no CDN, no inline script."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not settings.DEBUG or not request.path.startswith("/api/"):
            response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response


# Room for the form fields and multipart framing around a photo of the largest accepted size.
BODY_OVERHEAD_BYTES = 64 * 1024


def error_response(request, status: int, code: str, title, message, **headers):
    """An error that touches neither the database nor the session: JSON in the portal's error
    shape under /api/, a small page elsewhere."""
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(code, message), status=status)
    else:
        page = render_to_string(
            "portal/error.html", {"title": title, "message": message, "back": request.path}
        )
        response = HttpResponse(page, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


class RequestBodyLimitMiddleware:
    """A body larger than MAX_UPLOAD_BYTES (plus room for form fields) is refused with 413
    before anything reads it. Without this, Django's in-memory upload handler would silently
    drop an oversize photo and the form would only say that the field is required."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE + BODY_OVERHEAD_BYTES:
            return error_response(
                request,
                413,
                "too_large",
                _("Too large"),
                _("The photo is too large. Please send a smaller one."),
            )
        return self.get_response(request)


class ApiGuardMiddleware:
    """Under /api/: a query string with a NUL byte is a 400 in the portal's error shape (the
    database would refuse it with a 500 further in), and every answer, personal by nature
    (my data, consents, receipts, door answers), carries Cache-Control: no-store."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/v1/"):
            return self.get_response(request)
        if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            response = error_response(
                request, 400, "invalid", _("Bad request"), _("The request is malformed.")
            )
        else:
            response = self.get_response(request)
        add_never_cache_headers(response)
        return response
