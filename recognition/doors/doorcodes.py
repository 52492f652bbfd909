"""Door codes: a person's short-lived, single-use way through a door without their face.

A code is DIGITS random digits, shown once on the person's page (typed at the keypad or read
from its QR code), kept only as an HMAC under the site's secret key, valid for
DOOR_CODE_TTL_MINUTES at the doors of the buildings the person belongs to, and used once.
Asking for a new code cancels the person's earlier ones.
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from portal import clock
from recognition.models import DoorCode

DIGITS = 10
_SALT = "recognition.doors.doorcodes"
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise(text: str) -> str:
    """What was typed or scanned, without spaces and dashes."""
    return _SEPARATORS.sub("", text or "")


def looks_like_door_code(text: str) -> bool:
    return len(text) == DIGITS and text.isdigit()


def hash_code(code: str) -> str:
    return salted_hmac(_SALT, normalise(code), algorithm="sha256").hexdigest()


def display(code: str) -> str:
    """The code in two groups of five, easier to read out and type."""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


def ttl() -> timedelta:
    return timedelta(minutes=settings.DOOR_CODE_TTL_MINUTES)


def issue_door_code(person) -> tuple[DoorCode, str]:
    """A fresh code for the person (returned once, in clear); earlier codes stop working.

    Expired codes of everyone are deleted on the way, so the table holds only live codes.
    """
    now = clock.now()
    with transaction.atomic():
        DoorCode.objects.filter(expires_at__lte=now).delete()
        DoorCode.objects.filter(person=person).delete()
        while True:
            code = "".join(secrets.choice("0123456789") for _digit in range(DIGITS))
            try:
                with transaction.atomic():
                    door_code = DoorCode.objects.create(
                        person=person,
                        code_hash=hash_code(code),
                        created_at=now,
                        expires_at=now + ttl(),
                    )
            except IntegrityError:  # the same digits are live for someone else: draw again
                continue
            return door_code, code


def redeem_door_code(code: str, device, person_id: int | None = None) -> DoorCode | None:
    """Uses the code at this device if it is live and its person belongs to the device's
    building (and is `person_id`, when given); returns it, now used, or None and leaves it
    untouched."""
    code = normalise(code)
    if not looks_like_door_code(code):
        return None
    now = clock.now()
    with transaction.atomic():
        live = DoorCode.objects.filter(
            code_hash=hash_code(code), used_at__isnull=True, expires_at__gt=now
        )
        if person_id is not None:
            live = live.filter(person_id=person_id)
        door_code = live.select_for_update(of=("self",)).select_related("person").first()
        if door_code is None or not door_code.person.is_active:
            return None
        if device.building_id not in door_code.person.building_ids():
            return None
        door_code.used_at = now
        door_code.used_device = device
        door_code.save(update_fields=["used_at", "used_device"])
    return door_code
