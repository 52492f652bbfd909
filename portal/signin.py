"""Sign-in without a face: password, then a one-time code (TOTP or a single-use backup code).

The steps keep the half-signed-in person in the session only as a user id with a time stamp;
the person is signed in (`login`) only after the last step succeeds.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login

from portal import clock, rules, signals, throttle, trusted
from portal.models import User

log = logging.getLogger(__name__)

PENDING = "signin_pending"
PENDING_TTL = timedelta(minutes=5)
BACKEND = "django.contrib.auth.backends.ModelBackend"


PASSWORD_CHECKED_AT = "password_checked_at"  # noqa: S105 (a session key, not a secret)

# A counter: (scope, key, options for throttle.record_failure).
Counter = tuple[str, str, dict]


def client_ip(request) -> str:
    """The client's address, read through TRUSTED_PROXY_COUNT proxies."""
    return rules.client_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.TRUSTED_PROXY_COUNT,
    )


def face_client(request) -> str:
    """Whose face-check budget a sign-in request spends (challenges, face work): a trusted
    browser its own, keyed by its trusted nonce, so that someone at the same address (an
    office or a building behind one router), who cannot have such a cookie, cannot use it up;
    any other client its address's."""
    nonces = sorted(trusted.entries(request).values())
    return f"browser:{nonces[0]}" if nonces else f"ip:{client_ip(request)}"


def locked_message(seconds: int) -> str:
    seconds = max(1, seconds)
    return ngettext(
        "Too many failed attempts. Wait %(seconds)d second and try again.",
        "Too many failed attempts. Wait %(seconds)d seconds and try again.",
        seconds,
    ) % {"seconds": seconds}


def counters(request, route: str, user: User | None, username: str = "") -> list[Counter]:
    """The counters a sign-in step on `route` (password, code, face) is judged by: in a browser
    trusted for the account only its own (account, browser) counter, short waits at most,
    until it has failed four times the free failures recently; elsewhere the account's
    untrusted counter and the client address."""
    nonce = trusted.nonce_for(request, user.pk if user else None)
    if nonce is not None:
        options: dict = {"max_seconds": settings.SIGNIN_TRUSTED_MAX_SECONDS}
        if route == "code":
            options["half_life"] = throttle.CODE_HALF_LIFE
        scope, key = f"{route}-trusted", f"{user.pk}:{nonce}"
        score = throttle.current_score(scope, key, options.get("half_life"))
        if score + rules.SLACK < settings.SIGNIN_FREE_FAILURES * 4:
            return [(scope, key, options)]
        # A trusted browser that keeps failing (its cookie stolen, say) is trusted no more
        # (OWASP: the device cookie is locked out): the untrusted counters below apply.
    if route == "code":
        return [("code", str(user.pk), {"half_life": throttle.CODE_HALF_LIFE})]
    scopes = {"password": "password-user", "face": "face-user"}
    found = [(scopes[route], username.lower(), {})]
    address_options = {"free_failures": settings.SIGNIN_FREE_FAILURES * 4}
    found.append((f"{route}-ip", client_ip(request), address_options))
    return found


USED_ALREADY = gettext_lazy(
    "That code has been used already. Wait for the next code from your app and type it."
)

FACE_NEEDS_TRUSTED_BROWSER = gettext_lazy(
    "Face sign-in works only in a browser where you have signed in with your password and code "
    "before. Please sign in with your password and code."
)


def face_allowed_here(request, user: User | None) -> bool:
    """Face sign-in is offered and accepted only in a browser trusted for the account, unless
    FACE_SIGNIN_ANY_BROWSER relaxes it for shared kiosks. An unknown username gets the same
    answer as a known one in an untrusted browser."""
    if settings.FACE_SIGNIN_ANY_BROWSER:
        return True
    user_id = user.pk if user else None
    if trusted.is_trusted(request, user_id):
        return True
    log.info(
        "face sign-in refused in an untrusted browser: %s",
        trusted.why_not_trusted(request, user_id),
        extra={"person": user_id, "ip": client_ip(request)},
    )
    return False


def face_offered(request) -> bool:
    """Whether to show the face sign-in link at all: some account trusts this browser."""
    return settings.FACE_SIGNIN_ANY_BROWSER or bool(trusted.entries(request))


def seconds_to_wait(found: list[Counter]) -> int:
    return max((throttle.seconds_locked(scope, key) for scope, key, _o in found), default=0)


def count_failure(found: list[Counter]) -> int:
    return max(
        (throttle.record_failure(scope, key, **options) for scope, key, options in found),
        default=0,
    )


def clear(found: list[Counter]) -> None:
    """After a success: the account's and browser's counters start again (an address shared
    with others keeps its count)."""
    for scope, key, _options in found:
        if not scope.endswith("-ip"):
            throttle.reset(scope, key)


def check_password(request, username: str, password: str) -> tuple[User | None, str]:
    """The password step: (the user, "") or (None, what to say). Judged by the counters of
    `counters`; guesses for one account (from one trusted browser, or from all untrusted
    clients) are checked one at a time, so guesses sent in parallel cannot all pass the lock
    check before the failures before them count."""
    named = User.objects.filter(username=username).first()
    found = counters(request, "password", named, username)
    scope, key, _options = found[0]
    with throttle.held(scope, key):
        wait = seconds_to_wait(found)
        if wait:
            return None, locked_message(wait)
        user = authenticate(request, username=username, password=password)
        if user is None:
            wait = count_failure(found)
            if wait:
                return None, locked_message(wait)
            return None, _("The username or password is not correct.")
        clear(found)
    mark_password_checked(request, user)
    return user, ""


def password_recently_checked(request, user: User) -> bool:
    """Did this session type `user`'s password within SECOND_FACTOR_REAUTH_SECONDS?"""
    checked = request.session.get(PASSWORD_CHECKED_AT)
    if not isinstance(checked, dict) or checked.get("user") != user.pk:
        return False
    return clock.now().timestamp() - checked["at"] <= settings.SECOND_FACTOR_REAUTH_SECONDS


def mark_password_checked(request, user: User) -> None:
    request.session[PASSWORD_CHECKED_AT] = {"user": user.pk, "at": clock.now().timestamp()}


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
    password_at = request.session.get(PASSWORD_CHECKED_AT)
    request.session.pop(PENDING, None)
    login(request, user, backend=BACKEND)
    if password_at is not None:  # login() cycles the session key, not its contents
        request.session[PASSWORD_CHECKED_AT] = password_at
    if device is not None:
        otp_login(request, device)


def is_backup_device(device) -> bool:
    """A device of single-use backup codes (ours, or django-otp's static tokens)."""
    from django_otp.plugins.otp_static.models import StaticDevice

    from portal.models import BackupCodeDevice

    return isinstance(device, BackupCodeDevice | StaticDevice)


def match_code(user: User, code: str, *, backup_codes: bool = True):
    """The confirmed device of `user` that accepts `code` (an authenticator code, or a backup
    code unless `backup_codes` is False), or None: django-otp's own `match_token`, the devices
    locked for the check. django-otp's per-device throttle is off (OTP_*_THROTTLE_FACTOR = 0):
    callers count failures under their own counters."""
    if backup_codes:
        return match_token(user, code)
    with transaction.atomic():
        devices = devices_for_user(user, confirmed=True, for_verify=True)
        wanted = (device for device in devices if not is_backup_device(device))
        return next((device for device in wanted if device.verify_token(code)), None)


def verify_code(request, user: User, code: str):
    """Returns (device, error message). Counts failures per account (this trusted browser, or
    every untrusted client together) across all the account's devices. While a counter holds,
    no code is checked and the answer says how long to wait: a correct code is never called
    "not correct"."""
    found = counters(request, "code", user)
    # for_verify locks the account's devices: codes sent in parallel are checked one at a
    # time, each after the failures before it counted.
    with transaction.atomic():
        devices = list(devices_for_user(user, confirmed=True, for_verify=True))
        wait = seconds_to_wait(found)
        if wait:
            signals.code_sign_in.send(sender=User, person=user, result=signals.LOCKED)
            return None, locked_message(wait)
        matched = match_code(user, code)
        if matched is not None:
            clear(found)
            signals.code_sign_in.send(sender=User, person=user, result=signals.SUCCEEDED)
            return matched, ""
        signals.code_sign_in.send(sender=User, person=user, result=signals.FAILED)
        if any(
            hasattr(device, "was_used_already") and device.was_used_already(code)
            for device in devices
        ):
            return None, USED_ALREADY  # the right code, once too often: not a guess
        wait = count_failure(found)
    if wait:
        return None, locked_message(wait)
    return None, _("That code is not correct. Check the time on your phone, or use a backup code.")
