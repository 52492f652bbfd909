"""Checking a backup code against its keyed hash: what sign-in and the door need, without the
services that make a set (`portal.backup_codes`), so the account models import nothing more."""

import re

from django.db import transaction
from django.utils.crypto import salted_hmac

from portal import clock

_SALT = "portal.backup_codes"
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise(text: str) -> str:
    return _SEPARATORS.sub("", text or "").lower()


def hash_code(code: str) -> str:
    return salted_hmac(_SALT, normalise(code), algorithm="sha256").hexdigest()


def looks_like_backup_code(text: str) -> bool:
    """Worth a look-up: letters and digits of a plausible length (older sets had 8)."""
    code = normalise(text)
    return 6 <= len(code) <= 16 and code.isascii() and code.isalnum()


def use_code(device, text: str) -> bool:
    """Uses one unused code of this set; True when it was one. Each code works once."""
    from portal.models import BackupCode

    if not looks_like_backup_code(text):
        return False
    with transaction.atomic():
        used = BackupCode.objects.filter(
            device=device, code_hash=hash_code(text), used_at__isnull=True
        ).update(used_at=clock.now())
    return used == 1
