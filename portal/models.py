import secrets
import time
from typing import Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import rules, rules_query
from portal.keyring import fernet


class User(AbstractUser):
    """A person: resident, staff member or building admin, by their memberships."""

    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    guardian = models.ForeignKey(
        "self",
        verbose_name=_("guardian"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="wards",
        help_text=_("Gives consent on behalf of a person under 14."),
    )
    # Without a birth date, only an admin's explicit attestation makes a person an adult here.
    adult_attested_at = models.DateTimeField(_("attested adult at"), null=True, blank=True)
    adult_attested_by = models.ForeignKey(
        "self",
        verbose_name=_("attested adult by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # How many times the account was disabled: a browser trusted before the last time is
    # trusted no more once the account is enabled again (portal.trusted).
    disabled_times = models.PositiveIntegerField(_("times disabled"), default=0, editable=False)

    def save(self, *args, **kwargs) -> None:
        fields = kwargs.get("update_fields")
        if (
            self.pk is not None
            and not self.is_active
            and (fields is None or "is_active" in fields)
            and type(self).objects.filter(pk=self.pk, is_active=True).exists()
        ):
            self.disabled_times += 1
            if fields is not None:
                kwargs["update_fields"] = {*fields, "disabled_times"}
        super().save(*args, **kwargs)

    def roles(self) -> set[str]:
        return set(self.memberships.current().values_list("role", flat=True))

    def admin_building_ids(self) -> list[int]:
        return list(
            self.memberships.current()
            .filter(role=rules.ADMIN)
            .values_list("building_id", flat=True)
        )

    def building_ids(self) -> list[int]:
        return list(self.memberships.current().values_list("building_id", flat=True).distinct())

    def second_factor_required(self) -> bool:
        return rules.second_factor_required(self.roles(), self.is_superuser)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Building(models.Model):
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    handler_name = models.CharField(
        _("personal information handler"),
        max_length=200,
        help_text=_("The organisation responsible for the face data, as named in notices."),
    )
    handler_contact = models.CharField(_("handler contact"), max_length=300)
    door_backup_codes = models.BooleanField(
        _("doors accept backup codes"),
        default=False,
        help_text=_(
            "Whether a person may type one of their backup codes at this building's doors."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def current(self) -> Self:
        return self.filter(rules_query.current_member())


class Membership(models.Model):
    ROLE_CHOICES = [
        (rules.RESIDENT, _("resident")),
        (rules.STAFF, _("staff member")),
        (rules.ADMIN, _("building admin")),
    ]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=ROLE_CHOICES)
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "building", "role"], name="membership_unique_role"
            )
        ]
        indexes = [models.Index(fields=["building", "role"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.building} ({self.role})"


class Throttle(models.Model):
    """Failures per scope and key (a hashed username, IP, device or account): `score` decays
    (halves every SIGNIN_DECAY_SECONDS from `scored_at`), `failures` is the plain count."""

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    score = models.FloatField(default=0.0)
    scored_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="throttle_unique_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key[:8]}"


class SealedTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238) whose seed is kept encrypted with the portal's
    key ring (FACE_ENCRYPTION_KEYS, rotated by `rotate_totp_keys`): a database dump holds no
    usable second-factor secret. Verification is django-otp's own TOTPDevice code."""

    sealed_key = models.BinaryField()
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")

    @classmethod
    def create_for(cls, user: "User", name: str, *, confirmed: bool) -> "SealedTOTPDevice":
        device = cls(user=user, name=name, confirmed=confirmed)
        device.set_key(secrets.token_bytes(20))
        device.save()
        return device

    def set_key(self, raw: bytes) -> None:
        self.sealed_key = fernet().encrypt(raw)

    @property
    def bin_key(self) -> bytes:
        return fernet().decrypt(bytes(self.sealed_key))

    def reseal(self) -> None:
        """Re-encrypts the seed with the newest key (the caller saves)."""
        self.sealed_key = fernet().rotate(bytes(self.sealed_key))

    def was_used_already(self, token: str) -> bool:
        """Is `token` this device's current code, already used (a TOTP code opens once)?"""
        try:
            number = int(token)
        except ValueError:
            return False
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        return totp.verify(number, self.tolerance) and totp.t() <= self.last_t

    verify_token = TOTPDevice.verify_token
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings

    def get_throttle_factor(self):
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)


class BackupCodeDevice(Device):
    """A person's set of single-use backup codes; only keyed hashes of the codes are kept."""

    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()

    def verify_token(self, token) -> bool:
        from portal import backup_tokens

        return backup_tokens.use_code(self, str(token))


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="backup_code_unique")
        ]

    def __str__(self) -> str:
        return f"backup code {self.pk}"


class AuditEntry(models.Model):
    """One link of the append-only, hash-chained audit log. Ids only: no biometric content.

    People and buildings are plain ids, not foreign keys, so the log outlives them; the
    database refuses UPDATE and DELETE on this table and TRUNCATE of it (see consent's
    migrations 0002 and 0006, which made it; the table keeps its name from there).
    """

    at = models.DateTimeField()
    event = models.CharField(max_length=64)
    actor_id = models.BigIntegerField(null=True, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    building_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "consent_auditentry"
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["id"]
        indexes = [models.Index(fields=["building_id", "-id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event}"


class AuditCheck(models.Model):
    """The result of one walk over the whole audit chain (`portal.audit.check_chain`)."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    PAGE = "page"
    EXPORT = "export"
    TRIGGER_CHOICES = [
        (SCHEDULE, _("scheduled check")),
        (MANUAL, _("command run by hand")),
        (PAGE, _("asked for on the dashboard")),
        (EXPORT, _("evidence export")),
    ]

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    entries = models.PositiveBigIntegerField(_("entries checked intact"))
    last_entry_id = models.BigIntegerField(_("last entry checked"), null=True, blank=True)
    intact = models.BooleanField(_("intact"))
    break_entry_id = models.BigIntegerField(_("first broken entry"), null=True, blank=True)
    break_reason = models.CharField(_("why it is broken"), max_length=200, blank=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=TRIGGER_CHOICES)

    class Meta:
        db_table = "consent_auditcheck"
        verbose_name = _("audit chain check")
        verbose_name_plural = _("audit chain checks")
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["-finished_at"], name="auditcheck_recent")]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} {'intact' if self.intact else 'broken'}"


class AuditCheckpoint(models.Model):
    """A signed head of the audit chain (`portal.audit.checkpoints`); the key is not in the
    database."""

    made_at = models.DateTimeField(_("made at"))
    entry_id = models.BigIntegerField(_("head entry"))
    entry_hash = models.CharField(_("head entry hash"), max_length=64)
    entries = models.PositiveBigIntegerField(_("entries up to the head"))
    key_id = models.CharField(_("key fingerprint"), max_length=16)
    signature = models.CharField(_("signature (HMAC-SHA256)"), max_length=64)

    class Meta:
        db_table = "consent_auditcheckpoint"
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.entry_id} {self.made_at:%Y-%m-%d %H:%M}"
