"""Sign-in without a face: password, then a one-time code (TOTP or a single-use backup code).

The steps keep the half-signed-in person in the session only as a user id with a time stamp;
the person is signed in (`login`) only after the last step succeeds.
"""

from datetime import timedelta

from django.contrib.auth import login
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp import devices_for_user
from django_otp import login as otp_login

from portal import clock, signals, throttle
from portal.models import User

PENDING = "signin_pending"
PENDING_TTL = timedelta(minutes=5)
BACKEND = "django.contrib.auth.backends.ModelBackend"


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def locked_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "Too many failed attempts. Try again in %(minutes)d minute.",
        "Too many failed attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def has_second_factor(user: User) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def start_pending(request, user: User, next_url: str) -> None:
    request.session[PENDING] = {
        "user": user.pk,
        "at": clock.now().timestamp(),
        "next": next_url,
    }


def pending_user(request) -> tuple[User | None, str]:
    data = request.session.get(PENDING)
    if not data:
        return None, ""
    if clock.now().timestamp() - data["at"] > PENDING_TTL.total_seconds():
        request.session.pop(PENDING, None)
        return None, ""
    user = User.objects.filter(pk=data["user"], is_active=True).first()
    return user, data.get("next", "")


def finish(request, user: User, device=None) -> None:
    request.session.pop(PENDING, None)
    login(request, user, backend=BACKEND)
    if device is not None:
        otp_login(request, device)


def check_password_throttle(username: str, ip: str) -> int:
    return max(
        throttle.seconds_locked("password-user", username.lower()),
        throttle.seconds_locked("password-ip", ip),
    )


def password_failed(username: str, ip: str) -> int:
    from django.conf import settings

    lock_user = throttle.record_failure("password-user", username.lower())
    lock_ip = throttle.record_failure(
        "password-ip", ip, free_failures=settings.SIGNIN_FREE_FAILURES * 4
    )
    return max(lock_user, lock_ip)


def verify_code(user: User, code: str):
    """Returns (device, error message). Counts failures per person across all their devices."""
    key = str(user.pk)
    wait = throttle.seconds_locked("code", key)
    if wait:
        signals.code_sign_in.send(sender=User, person=user, result=signals.LOCKED)
        return None, locked_message(wait)
    for device in devices_for_user(user, confirmed=True):
        allowed, _extra = device.verify_is_allowed()
        if allowed and device.verify_token(code):
            throttle.reset("code", key)
            signals.code_sign_in.send(sender=User, person=user, result=signals.SUCCEEDED)
            return device, ""
    signals.code_sign_in.send(sender=User, person=user, result=signals.FAILED)
    wait = throttle.record_failure("code", key)
    if wait:
        return None, locked_message(wait)
    return None, _("That code is not correct. Check the time on your phone, or use a backup code.")
