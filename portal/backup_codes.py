"""Backup codes: single-use codes for when the phone is not at hand.

A set of COUNT codes is shown once, when generated; the database keeps only an HMAC of each
under the site's secret key (the codes are random, so a keyed hash cannot be reversed by
guessing). Generating a new set voids the old one. A code is used once, at sign-in, or at a
door of a building that accepts backup codes (`Building.door_backup_codes`).
"""

import re
import secrets

from django.db import transaction
from django.utils.crypto import salted_hmac

from consent import audit
from portal import clock
from portal.models import BackupCode, BackupCodeDevice, User

COUNT = 10
LENGTH = 10
# No 0/o, 1/l/i: easy to copy by hand and read out.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_SALT = "portal.backup_codes"
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise(text: str) -> str:
    return _SEPARATORS.sub("", text or "").lower()


def hash_code(code: str) -> str:
    return salted_hmac(_SALT, normalise(code), algorithm="sha256").hexdigest()


def display(code: str) -> str:
    """The code in two groups of five."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def looks_like_backup_code(text: str) -> bool:
    """Worth a look-up: letters and digits of a plausible length (older sets had 8)."""
    code = normalise(text)
    return 6 <= len(code) <= 16 and code.isascii() and code.isalnum()


def device_of(user: User) -> BackupCodeDevice | None:
    return BackupCodeDevice.objects.filter(user=user, confirmed=True).first()


def remaining(user: User) -> int:
    device = device_of(user)
    return 0 if device is None else device.remaining()


def generate_backup_codes(user: User) -> list[str]:
    """A fresh set for the person (returned once, in clear); every earlier code stops working."""
    codes = ["".join(secrets.choice(ALPHABET) for _c in range(LENGTH)) for _i in range(COUNT)]
    with transaction.atomic():
        device, _created = BackupCodeDevice.objects.select_for_update().get_or_create(
            user=user, defaults={"name": "backup", "confirmed": True}
        )
        device.codes.all().delete()
        device.generated_at = clock.now()
        device.save(update_fields=["generated_at"])
        BackupCode.objects.bulk_create(
            BackupCode(device=device, code_hash=hash_code(code)) for code in codes
        )
        audit.record("backup_codes.generated", actor=user, person=user, data={"count": COUNT})
    return [display(code) for code in codes]


def use_code(device: BackupCodeDevice, text: str) -> bool:
    """Uses one unused code of this set; True when it was one. Each code works once."""
    if not looks_like_backup_code(text):
        return False
    with transaction.atomic():
        used = (
            BackupCode.objects.select_for_update()
            .filter(device=device, code_hash=hash_code(text), used_at__isnull=True)
            .update(used_at=clock.now())
        )
    return used == 1
