from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device as OTPDevice

from portal import rules


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


class MembershipQuerySet(models.QuerySet):
    def current(self):
        return self.filter(left_at__isnull=True)


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
    """Consecutive failures per scope and key (a hashed username, IP, device or account)."""

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="throttle_unique_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key[:8]}"


class BackupCodeDevice(OTPDevice):
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
