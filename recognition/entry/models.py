from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AccessCardQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class AccessCard(models.Model):
    """A card a building issued to a person. Only a keyed hash of its number is kept, and the
    last digits so that people and admins can tell their cards apart."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_cards"
    )
    building = models.ForeignKey(
        "portal.Building", on_delete=models.CASCADE, related_name="access_cards"
    )
    number_hash = models.CharField(max_length=64)
    last_digits = models.CharField(_("last digits"), max_length=4)
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AccessCardQuerySet.as_manager()

    class Meta:
        verbose_name = _("access card")
        verbose_name_plural = _("access cards")
        constraints = [
            # A card number opens for one person at a time in the whole portal.
            models.UniqueConstraint(
                fields=["number_hash"],
                condition=Q(revoked_at__isnull=True),
                name="access_card_live_number_unique",
            )
        ]
        indexes = [models.Index(fields=["building", "revoked_at"])]

    def __str__(self) -> str:
        return f"card …{self.last_digits} of {self.person_id}"


class AssistedOpening(models.Model):
    """A door a staff member opened for a resident after checking who they are, in person."""

    ID_DOCUMENT = "id_document"
    KNOWN_IN_PERSON = "known_in_person"
    CHECK_CHOICES = [
        (ID_DOCUMENT, _("checked an identity document")),
        (KNOWN_IN_PERSON, _("knows the person by sight")),
    ]

    attempt = models.OneToOneField(
        "recognition.Attempt", on_delete=models.CASCADE, related_name="assisted_opening"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity_check = models.CharField(
        _("identity checked by"), max_length=32, choices=CHECK_CHOICES
    )

    def __str__(self) -> str:
        return f"opened by {self.staff_id} ({self.identity_check})"


class KioskPairing(models.Model):
    """A short code shown on the devices page, typed once on the door's tablet to pair it."""

    device = models.OneToOneField(
        "recognition.Device", on_delete=models.CASCADE, related_name="kiosk_pairing"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pairing of device {self.device_id}"


class KioskChallenge(models.Model):
    """The live face challenge a paired kiosk was last given: one per device, replaced by the
    next, removed when answered. Nothing personal: a nonce, the turns asked and the time."""

    device = models.OneToOneField(
        "recognition.Device", on_delete=models.CASCADE, related_name="kiosk_challenge"
    )
    challenge = models.JSONField()

    def __str__(self) -> str:
        return f"face challenge of device {self.device_id}"
