"""Door devices and their API keys: registered, rotated and revoked only here, each audited.

A key reads `<prefix>.<secret>`. It is shown once, when issued; the database keeps the prefix
(to find the device) and a SHA-256 of the whole key (to check it). The secret is 256 random
bits, so a plain hash is enough: nothing can be guessed from it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from consent import rules as consent_rules
from portal import audit, clock, names
from portal.refusals import Refused
from recognition import policy
from recognition.models import Device

PREFIX_BYTES = 6  # 12 hex characters, the width of Device.key_prefix
SECRET_BYTES = 32
HASH_SCHEME = "sha256"
# last_contact_at is written at most this often per device, not on every request.
CONTACT_RESOLUTION = timedelta(seconds=30)


class DeviceRefused(Refused):
    """A device action the rules refuse; `message` is for the admin."""


def hash_key(key: str) -> str:
    return f"{HASH_SCHEME}${hashlib.sha256(key.encode()).hexdigest()}"


def key_matches(key: str, stored: str) -> bool:
    return bool(stored) and hmac.compare_digest(hash_key(key), stored)


def split_key(key: str) -> tuple[str, str] | None:
    prefix, dot, secret = key.strip().partition(".")
    if not dot or len(prefix) != PREFIX_BYTES * 2 or not secret:
        return None
    return prefix, secret


def new_key() -> tuple[str, str]:
    """(prefix, key): a fresh key and the prefix it is found by."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    return prefix, f"{prefix}.{secrets.token_urlsafe(SECRET_BYTES)}"


def _set_new_key(device: Device) -> str:
    while True:
        prefix, key = new_key()
        if not Device.objects.filter(key_prefix=prefix).exists():
            break
    device.key_prefix = prefix
    device.key_hash = hash_key(key)
    return key


def check_placement(location) -> None:
    placement = location.placement()
    if not placement.allowed:
        raise DeviceRefused("location_not_allowed", placement.reason)


BINDING_REFUSALS = {
    "other_building": _("The purpose belongs to another building."),
    "not_door": _(
        "A door device serves only door-access purposes: face data given for portal sign-in "
        "never opens a door."
    ),
}


def binding_problem(purpose, building_id: int) -> str | None:
    """Why a device of `building_id` may not serve `purpose` (None: it may, or no purpose)."""
    if purpose is None:
        return None
    return consent_rules.device_binding_problem(
        purpose_kind=purpose.kind,
        purpose_building_id=purpose.building_id,
        device_building_id=building_id,
    )


def check_binding(purpose, building_id: int) -> None:
    problem = binding_problem(purpose, building_id)
    if problem is not None:
        code = "wrong_building" if problem == "other_building" else "wrong_kind"
        raise DeviceRefused(code, BINDING_REFUSALS[problem])


def check_public_area_purpose(location, purpose) -> None:
    problem = policy.public_area_purpose_problem(
        location.kind, None if purpose is None else purpose.public_security
    )
    if problem:
        raise DeviceRefused("public_security_only", problem)


def register_device(
    location, name: str, purpose, *, actor, name_zh_hans: str = ""
) -> tuple[Device, str]:
    """Registers a device at an allowed location and returns it with its key (shown once).

    `purpose` is the face purpose the device serves (None for a device without a camera);
    every device accepts the code route whatever its purpose.
    """
    check_placement(location)
    check_binding(purpose, location.building_id)
    check_public_area_purpose(location, purpose)
    with transaction.atomic():
        device = Device(
            building_id=location.building_id,
            location=location,
            purpose=purpose,
            **names.for_creation({"name": name, "name_zh_hans": name_zh_hans or None}),
        )
        key = _set_new_key(device)
        device.full_clean()
        device.save()
        audit.record(
            "device.registered",
            actor=actor,
            building=device.building_id,
            data={
                "device": device.pk,
                "location": location.pk,
                "purpose": purpose.pk if purpose else None,
            },
        )
    return device, key


def rotate_device_key(device: Device, *, actor) -> str:
    """Gives the device a new key (shown once); the old one stops working at once."""
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        if device.revoked_at is not None:
            raise DeviceRefused("revoked", _("This device is revoked; register a new one."))
        check_placement(device.location)
        check_public_area_purpose(device.location, device.purpose)
        key = _set_new_key(device)
        device.save(update_fields=["key_prefix", "key_hash"])
        audit.record(
            "device.key_rotated",
            actor=actor,
            building=device.building_id,
            data={"device": device.pk},
        )
    return key


def revoke_device(device: Device, *, actor) -> Device:
    """Stops the device's key for good. Revoking twice changes nothing."""
    return revoke_once(device, "device.revoked", actor=actor, data={"device": device.pk})


def revoke_once(row, event: str, *, actor, data: dict, **audit_fields):
    """Marks a row that opens doors (a device, an access card) revoked now, with its audit
    entry, once: the row is locked, so two revocations at once write one entry."""
    with transaction.atomic():
        row = type(row).objects.select_for_update().get(pk=row.pk)
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            row.save(update_fields=["revoked_at"])
            audit.record(event, actor=actor, building=row.building_id, data=data, **audit_fields)
    return row


def device_for_key(key: str) -> Device | None:
    """The device a key belongs to, revoked or not; None for an unknown or malformed key."""
    parts = split_key(key)
    if parts is None:
        return None
    for device in Device.objects.select_related("location", "purpose", "building").filter(
        key_prefix=parts[0]
    ):
        if key_matches(key, device.key_hash):
            return device
    return None


def note_contact(device: Device) -> None:
    now = clock.now()
    if device.last_contact_at is None or now - device.last_contact_at >= CONTACT_RESOLUTION:
        Device.objects.filter(pk=device.pk).update(last_contact_at=now)
        device.last_contact_at = now
