"""Backup codes: single-use codes for when the phone is not at hand.

A set of COUNT codes is shown once, when generated; the database keeps only an HMAC of each
under the site's secret key (the codes are random, so a keyed hash cannot be reversed by
guessing). Generating a new set voids the old one. A code is used once, at sign-in, or at a
door of a building that accepts backup codes (`Building.door_backup_codes`).
"""

import secrets

from django.db import transaction

from portal import audit, clock
from portal.audit.events import AuditEvent
from portal.backup_tokens import hash_code, looks_like_backup_code, normalise, use_code
from portal.models import BackupCode, BackupCodeDevice, User

__all__ = ["hash_code", "looks_like_backup_code", "normalise", "use_code"]

COUNT = 10
LENGTH = 10
# No 0/o, 1/l/i: easy to copy by hand and read out.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def display(code: str) -> str:
    """The code in two groups of five."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def device_of(user: User) -> BackupCodeDevice | None:
    # django-otp ships no types, so its device manager's queries are untyped: named here.
    device: BackupCodeDevice | None = BackupCodeDevice.objects.filter(
        user=user, confirmed=True
    ).first()
    return device


def remaining(user: User) -> int:
    device = device_of(user)
    return 0 if device is None else device.remaining()


@transaction.atomic
def generate_backup_codes(user: User) -> list[str]:
    """A fresh set for the person (returned once, in clear); every earlier code stops working."""
    codes = replace_codes(user)
    audit.record(AuditEvent.BACKUP_CODES_GENERATED, actor=user, person=user, data={"count": COUNT})
    return codes


def replace_codes(user: User) -> list[str]:
    """The writing part of a new set, for services that record it in their own audit entry
    (enrolling an authenticator); call it inside their transaction."""
    codes = ["".join(secrets.choice(ALPHABET) for _c in range(LENGTH)) for _i in range(COUNT)]
    device, _created = BackupCodeDevice.objects.select_for_update().get_or_create(
        user=user, defaults={"name": "backup", "confirmed": True}
    )
    device.codes.all().delete()
    device.generated_at = clock.now()
    device.save(update_fields=["generated_at"])
    BackupCode.objects.bulk_create(
        BackupCode(device=device, code_hash=hash_code(code)) for code in codes
    )
    return [display(code) for code in codes]
