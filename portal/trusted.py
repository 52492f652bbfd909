"""Trusted browsers (OWASP's device cookies): a browser that completed password + second factor
for an account holds a signed cookie naming the account and a random nonce. Failures from that
browser are counted under (account, nonce), apart from every other client, so an attacker who
locks the account's untrusted counters never locks its owner's browser out.

Each entry is bound to the account's password as it was when the browser earned its trust (a
keyed hash of the stored password hash, as Django binds sessions): a password change or reset
voids every browser trusted before it, with no list to keep. An account that is disabled or
deleted has no trusted browser; one enabled again has none of before (the binding counts the
times it was disabled); one deleted and made again under the same id has another password
hash, so the old cookies stay void.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.models import User

COOKIE = "portal_trusted"
_SALT = "portal.trusted-device"
_BINDING_SALT = "portal.trusted-device.password"
MAX_ACCOUNTS = 5  # accounts one browser remembers (a shared family computer, say)


def _max_age() -> int:
    return int(timedelta(days=settings.TRUSTED_DEVICE_DAYS).total_seconds())


def binding(user) -> str:
    """Changes whenever the account's password does (its hash carries a fresh salt), and each
    time the account is disabled (an account enabled again trusts no browser of before)."""
    bound = f"{user.pk}:{user.password}"
    if user.disabled_times:
        bound += f":{user.disabled_times}"  # none before the first: earlier cookies stay valid
    return salted_hmac(_BINDING_SALT, bound, algorithm="sha256").hexdigest()


def entry(user, nonce: str) -> str:
    """One account's value in the cookie: the nonce and the password binding."""
    return f"{nonce}:{binding(user)}"


def _signed_entries(request) -> dict[str, str]:
    """Account id -> entry as signed ({} when forged or expired); not yet checked against the
    accounts as they are now."""
    raw = request.COOKIES.get(COOKIE)
    if not raw:
        return {}
    try:
        data = signing.loads(raw, salt=_SALT, max_age=_max_age())
    except (signing.BadSignature, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(key): str(value) for key, value in data.items()}


def _valid_entries(request) -> dict[str, str]:
    """The signed entries whose account is active and whose password is the one they were
    bound to (one query)."""
    signed_entries = _signed_entries(request)
    ids = [int(key) for key in signed_entries if key.isdigit()]
    if not ids:
        return {}
    users = {str(user.pk): user for user in User.objects.filter(pk__in=ids, is_active=True)}
    valid = {}
    for key, value in signed_entries.items():
        nonce, _sep, bound = value.rpartition(":")
        user = users.get(key)
        if user is not None and nonce and constant_time_compare(bound, binding(user)):
            valid[key] = value
    return valid


def entries(request) -> dict[str, str]:
    """Account id -> nonce for every account this browser is still trusted for; read once per
    request and cookie (a face sign-in asks three times: its counters, the trust check and its
    face-work budget)."""
    raw = request.COOKIES.get(COOKIE)
    read = getattr(request, "_trusted_entries", None)
    if read is None or read[0] != raw:
        valid = _valid_entries(request)
        read = (raw, {key: value.rpartition(":")[0] for key, value in valid.items()})
        request._trusted_entries = read
    return dict(read[1])


def nonce_for(request, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return entries(request).get(str(user_id))


def is_trusted(request, user_id: int | None) -> bool:
    return nonce_for(request, user_id) is not None


def why_not_trusted(request, user_id: int | None) -> str:
    """Why this browser is not trusted for the account, for the log (never shown: it would
    tell a stranger whether an account exists): "no_cookie", "unreadable" (forged, expired or
    from another secret key), "other_accounts", "inactive" or "password_changed"."""
    if not request.COOKIES.get(COOKIE):
        return "no_cookie"
    signed_entries = _signed_entries(request)
    if not signed_entries:
        return "unreadable"
    if user_id is None or str(user_id) not in signed_entries:
        return "other_accounts"
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return "inactive"
    return "password_changed" if not is_trusted(request, user_id) else ""


def signed(known: dict[str, str]) -> str:
    """The cookie's value for account id -> `entry(...)`."""
    return signing.dumps(known, salt=_SALT, compress=True)


def cookie_for(user, nonce: str) -> str:
    """The cookie a password + second factor sign-in of `user` leaves (for tests and benches
    that start from a trusted browser)."""
    return signed({str(user.pk): entry(user, nonce)})


def remember(request, response, user) -> None:
    """Marks this browser as trusted for the account (keeps the nonce it already had while its
    entry is still valid; entries no longer valid are dropped)."""
    known = _valid_entries(request)
    held = known.pop(str(user.pk), None)
    nonce = held.rpartition(":")[0] if held else secrets.token_urlsafe(16)
    known[str(user.pk)] = entry(user, nonce)
    kept = dict(list(known.items())[-MAX_ACCOUNTS:])
    response.set_cookie(
        COOKIE,
        signed(kept),
        max_age=_max_age(),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
