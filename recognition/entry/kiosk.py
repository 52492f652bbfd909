"""Pairing a door kiosk (a tablet at the door) with its device, once, by a short code; and
the kiosk's live face challenges, bound to that device.

An admin asks for a code on the devices page; it is shown once, kept only as a keyed hash,
valid for PAIRING_MINUTES and used once. Typed on the tablet, it gives the tablet a fresh key
of that device (the device's earlier key stops working, as with "New key"); the tablet keeps
the key and calls the device API with it like any door terminal.

The kiosk has no session: the challenge of its face check (recognition.engine.liveness, as at face
sign-in) is kept against its device, one at a time, and taken (removed) by the burst that
answers it, so another device's key never finds it and it answers once.
"""

import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from portal import audit, clock
from recognition.doors import devices
from recognition.engine import live, liveness
from recognition.entry.models import KioskChallenge, KioskPairing
from recognition.models import Device

PAIRING_MINUTES = 10
LENGTH = 8
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_SALT = "entry.kiosk"
_SEPARATORS = re.compile(r"[\s\-]+")
PAIR_IP = "kiosk-pair-ip"


def normalise(code: str) -> str:
    return _SEPARATORS.sub("", code or "").upper()


def hash_code(code: str) -> str:
    return salted_hmac(_SALT, normalise(code), algorithm="sha256").hexdigest()


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def issue_pairing_code(device: Device, *, actor) -> str:
    """A fresh code for this device (shown once); an earlier unused code stops working."""
    if device.revoked_at is not None:
        raise devices.DeviceRefused("revoked", _("This device is revoked; register a new one."))
    code = "".join(secrets.choice(ALPHABET) for _c in range(LENGTH))
    with transaction.atomic():
        KioskPairing.objects.update_or_create(
            device=device,
            defaults={
                "code_hash": hash_code(code),
                "expires_at": clock.now() + timedelta(minutes=PAIRING_MINUTES),
            },
        )
        audit.record(
            "kiosk.pairing_code_issued",
            actor=actor,
            building=device.building_id,
            data={"device": device.pk},
        )
    return display(code)


def pair_kiosk(code: str) -> tuple[Device, str] | None:
    """(device, its new key) for a live code, which is used up; None otherwise."""
    code = normalise(code)
    if len(code) != LENGTH or not code.isalnum():
        return None
    with transaction.atomic():
        pairing = (
            KioskPairing.objects.select_for_update()
            .select_related("device")
            .filter(code_hash=hash_code(code))
            .first()
        )
        if pairing is None:
            return None
        device = pairing.device
        expired = pairing.expires_at <= clock.now()
        pairing.delete()
        if expired or device.revoked_at is not None:
            return None
        key = devices.rotate_device_key(device, actor=None)
    return device, key


def issue_challenge(device: Device) -> liveness.Challenge:
    """A fresh challenge for this device's kiosk, replacing any earlier one."""
    challenge = liveness.new_challenge(clock.now().timestamp(), live.SCOPE_DOOR)
    KioskChallenge.objects.update_or_create(
        device=device, defaults={"challenge": challenge.as_dict()}
    )
    return challenge


def take_challenge(device: Device) -> dict | None:
    """The device's challenge, removed: each challenge is answered at most once, and only by
    the device it was issued to."""
    with transaction.atomic():
        found = KioskChallenge.objects.select_for_update().filter(device=device).first()
        if found is None:
            return None
        found.delete()
    return found.challenge
