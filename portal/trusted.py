"""Trusted browsers (OWASP's device cookies): a browser that completed password + second factor
for an account holds a signed cookie naming the account and a random nonce. Failures from that
browser are counted under (account, nonce), apart from every other client, so an attacker who
locks the account's untrusted counters never locks its owner's browser out.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing

COOKIE = "portal_trusted"
_SALT = "portal.trusted-device"
MAX_ACCOUNTS = 5  # accounts one browser remembers (a shared family computer, say)


def _max_age() -> int:
    return int(timedelta(days=settings.TRUSTED_DEVICE_DAYS).total_seconds())


def entries(request) -> dict[str, str]:
    """Account id -> nonce for every account this browser is trusted for ({} when forged)."""
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


def nonce_for(request, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return entries(request).get(str(user_id))


def is_trusted(request, user_id: int | None) -> bool:
    return nonce_for(request, user_id) is not None


def signed(known: dict[str, str]) -> str:
    return signing.dumps(known, salt=_SALT, compress=True)


def remember(request, response, user_id: int) -> None:
    """Marks this browser as trusted for the account (keeps the nonce it already had)."""
    known = entries(request)
    nonce = known.pop(str(user_id), None) or secrets.token_urlsafe(16)
    known[str(user_id)] = nonce
    kept = dict(list(known.items())[-MAX_ACCOUNTS:])
    response.set_cookie(
        COOKIE,
        signed(kept),
        max_age=_max_age(),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
