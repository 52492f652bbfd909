"""Operator actions on accounts (the only writers of accounts outside Django's own forms)."""

import base64
import secrets
from dataclasses import dataclass
from typing import Self

from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit, backup_codes, clock, rules
from portal.audit.events import AuditEvent
from portal.models import Building, Membership, SealedTOTPDevice, User


class AccountRefused(ValueError):
    """The account cannot be created as asked; the message says why."""


@dataclass
class NewMember:
    """A new account's secrets, returned once: its password and its authenticator's."""

    user: User
    password: str
    totp_secret: str  # base32, for typing into an authenticator app
    totp_url: str  # otpauth:// link, for a phone

    @classmethod
    def enrolled(cls, user: User, password: str, **extra: Building) -> Self:
        """The account's authenticator made and confirmed now, its secrets with the password."""
        device = SealedTOTPDevice.create_for(user, "Authenticator app", confirmed=True)
        return cls(
            user=user,
            password=password,
            totp_secret=base64.b32encode(device.bin_key).decode(),
            totp_url=device.config_url,
            **extra,
        )


@dataclass(kw_only=True)
class FirstAdmin(NewMember):
    building: Building


@transaction.atomic(durable=True)
def create_first_admin(
    *, username: str, building_name: str, handler_name: str, handler_contact: str, address: str = ""
) -> FirstAdmin:
    """A building and its first admin (superuser, so Django's admin works for them), with a
    random password and an authenticator enrolled at once: no account ever needs
    `createsuperuser`, and none exists with a password alone. Secrets are returned once."""
    if not username.strip() or not building_name.strip() or not handler_name.strip():
        raise AccountRefused("A username, a building name and a handler are needed.")
    if User.objects.filter(username=username).exists():
        raise AccountRefused(f"The username {username!r} is taken.")
    password = secrets.token_urlsafe(18)
    building = Building.objects.create(
        name=building_name,
        address=address,
        handler_name=handler_name,
        handler_contact=handler_contact,
    )
    user = User.objects.create_superuser(username=username, password=password, email="")
    Membership.objects.create(user=user, building=building, role=rules.ADMIN)
    made = FirstAdmin.enrolled(user, password, building=building)
    audit.record(
        AuditEvent.FIRST_ADMIN_CREATED,
        person=user,
        building=building,
        data={"second_factor": True},
    )
    return made


@transaction.atomic
def create_member_with_authenticator(
    building: Building, *, role: str, username: str, first_name: str = "", last_name: str = ""
) -> NewMember:
    """An adult member of the building with a random password and an authenticator app enrolled
    at once (the demo's people): nobody gets an account with a password alone. Secrets are
    returned once; the audit entry holds none of them."""
    if role not in dict(Membership.ROLE_CHOICES):
        raise AccountRefused(f"No such role: {role!r}.")
    if not username.strip() or User.objects.filter(username__iexact=username).exists():
        raise AccountRefused(f"The username {username!r} is empty or taken.")
    password = secrets.token_urlsafe(12)
    user = User.objects.create_user(
        username=username,
        password=password,
        first_name=first_name,
        last_name=last_name,
        adult_attested_at=clock.now(),
    )
    Membership.objects.create(user=user, building=building, role=role)
    made = NewMember.enrolled(user, password)
    audit.record(
        AuditEvent.MEMBER_CREATED,
        person=user,
        building=building,
        data={"role": role, "second_factor": True},
    )
    return made


@transaction.atomic
def start_authenticator(person: User, *, actor: User) -> SealedTOTPDevice:
    """The person's authenticator waiting for its first code: the one made earlier, or a new one
    with a fresh secret (shown by the two-factor page). Its callers ask for the password again
    first: a session alone never gets an authenticator secret."""
    # django-otp ships no types, so its device manager's queries are untyped: named here.
    waiting: SealedTOTPDevice | None = (
        SealedTOTPDevice.objects.select_for_update().filter(user=person, confirmed=False).first()
    )
    if waiting is not None:
        return waiting
    device = SealedTOTPDevice.create_for(person, _("Authenticator app"), confirmed=False)
    audit.record(AuditEvent.TOTP_STARTED, actor=actor, person=person, data={"device": device.pk})
    return device


@transaction.atomic
def confirm_authenticator(person: User, code: str, *, actor: User) -> list[str] | None:
    """Confirms the person's waiting authenticator with a code it shows, and gives them their
    first set of backup codes (returned once, in clear, recorded in the same entry); None, and
    nothing changed, when no authenticator waits or the code is not its current one."""
    device = (
        SealedTOTPDevice.objects.select_for_update().filter(user=person, confirmed=False).first()
    )
    if device is None or not device.verify_token(code):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = backup_codes.replace_codes(person)
    audit.record(
        AuditEvent.TOTP_CONFIRMED,
        actor=actor,
        person=person,
        data={"device": device.pk, "backup_codes": len(codes)},
    )
    return codes


def rotate_totp_keys(*, batch_size: int = 1000) -> int:
    """Re-encrypts every authenticator seed with the newest key of the key ring (the first of
    FACE_ENCRYPTION_KEYS); returns how many. Batches of `batch_size`, each its own transaction
    with its rows locked, so sign-ins carry on meanwhile."""
    done = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                SealedTOTPDevice.objects.select_for_update()
                .filter(pk__gt=last_id)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return done
            for device in batch:
                device.reseal()
            SealedTOTPDevice.objects.bulk_update(batch, ["sealed_key"])
            audit.record(AuditEvent.TOTP_KEYS_ROTATED, data={"devices": len(batch)})
        done += len(batch)
        last_id = batch[-1].pk
