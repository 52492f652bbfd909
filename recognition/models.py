import uuid
from typing import Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from recognition import policy


class Location(models.Model):
    building = models.ForeignKey(
        "portal.Building", on_delete=models.CASCADE, related_name="locations"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=32, choices=policy.LOCATION_TYPES)
    security_justification = models.TextField(_("public-security justification"), blank=True)
    sign_confirmed = models.BooleanField(_("a prominent sign is up"), default=False)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return self.name

    def placement(self) -> policy.Placement:
        return policy.face_device_placement(
            self.kind,
            security_justification=self.security_justification,
            sign_confirmed=self.sign_confirmed,
        )


class Device(models.Model):
    """A door terminal or kiosk; it calls the device API with a key stored only as a hash."""

    building = models.ForeignKey(
        "portal.Building", on_delete=models.CASCADE, related_name="devices"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(_("name"), max_length=200)
    purpose = models.ForeignKey(
        "consent.Purpose", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key_prefix = models.CharField(max_length=12, blank=True, db_index=True)
    key_hash = models.CharField(max_length=128, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        placement = self.location.placement()
        if not placement.allowed:
            raise ValidationError({"location": placement.reason})
        if self.location.building_id != self.building_id:
            raise ValidationError({"location": _("The location is in another building.")})
        from recognition.doors.devices import BINDING_REFUSALS, binding_problem

        problem = binding_problem(self.purpose, self.building_id)
        if problem is not None:
            raise ValidationError({"purpose": BINDING_REFUSALS[problem]})


class FaceTemplateQuerySet(models.QuerySet["FaceTemplate"]):
    def for_active_consent(self) -> Self:
        """Templates whose person still holds an active consent for the template's purpose."""
        from consent.models import Consent

        active = Consent.objects.active().filter(
            person_id=OuterRef("person_id"), purpose_id=OuterRef("purpose_id")
        )
        return self.filter(Exists(active))


class FaceTemplate(models.Model):
    """One encrypted embedding per person and purpose; never an image."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_templates"
    )
    purpose = models.ForeignKey(
        "consent.Purpose", on_delete=models.CASCADE, related_name="face_templates"
    )
    building = models.ForeignKey("portal.Building", on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=64)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField()
    lapses_at = models.DateTimeField(null=True, blank=True)

    objects = FaceTemplateQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "purpose"], name="one_template_per_purpose")
        ]
        indexes = [
            models.Index(fields=["building", "purpose"]),
            models.Index(
                fields=["lapses_at"],
                condition=Q(lapses_at__isnull=False),
                name="template_lapses_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"template {self.pk} ({self.model_id})"


class FaceDataKey(models.Model):
    """A person's data key for their templates, wrapped by the key ring
    (recognition.lifecycle.datakeys). Used when FACE_KEY_DATABASE_URL does not put the keys in a
    database of their own."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"data key of person {self.person_id}"


class AttemptQuerySet(models.QuerySet):
    def at_doors(self):
        return self.filter(channel=Attempt.DOOR)

    def for_buildings(self, building_ids):
        return self.filter(building_id__in=building_ids)

    def since(self, when):
        return self.filter(created_at__gte=when)

    def figures(self) -> dict[str, dict[str, dict[str, int]]]:
        """Accepted and refused attempts per channel and method, in one grouped query.

        `{"door": {"face": {"accepted": 12, "refused": 3}, "code": {...}}, "sign_in": {...}}`;
        enrolments are not attempts to get in and are left out. This is what shows that
        nobody is pushed to use their face: the non-face route's numbers beside the face's.
        """
        rows = (
            self.exclude(channel=Attempt.ENROLMENT)
            .values("channel", "method", "result")
            .annotate(count=Count("id"))
            .order_by()
        )
        figures: dict[str, dict[str, dict[str, int]]] = {}
        for row in rows:
            counts = figures.setdefault(row["channel"], {}).setdefault(
                row["method"], {"accepted": 0, "refused": 0}
            )
            counts["accepted" if row["result"] == Attempt.MATCH else "refused"] += row["count"]
        return figures


class Attempt(models.Model):
    """One face or code attempt, at a page or a device. Never an image or embedding."""

    FACE = "face"
    CODE = "code"
    CARD = "card"
    STAFF = "staff"
    PASSKEY = "passkey"
    PASSWORD = "password"  # noqa: S105 (a password alone, for people with no second factor)
    METHOD_CHOICES = [
        (FACE, _("face")),
        (CODE, _("one-time code")),
        (CARD, _("access card")),
        (STAFF, _("opened by staff")),
        (PASSKEY, _("passkey")),
        (PASSWORD, _("password only")),
    ]
    # How a code attempt that opened was answered (`detail`), in words: a door code and an
    # authenticator code are different things to the person reading their log.
    CODE_KINDS = {
        "door_code": _("door code"),
        "one_time_code": _("one-time code (authenticator app)"),
        "backup_code": _("backup code"),
    }
    MATCH = "match"
    NO_MATCH = "no_match"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    THROTTLED = "throttled"
    ENROLLED = "enrolled"
    RESULT_CHOICES = [
        (MATCH, _("accepted")),
        (NO_MATCH, _("not accepted")),
        (REJECTED, _("photo refused")),
        (UNAVAILABLE, _("face service unavailable")),
        (THROTTLED, _("too many attempts")),
        (ENROLLED, _("face enrolled")),
    ]
    SIGN_IN = "sign_in"
    ENROLMENT = "enrolment"
    DOOR = "door"
    CHANNEL_CHOICES = [
        (SIGN_IN, _("portal sign-in")),
        (ENROLMENT, _("face enrolment")),
        (DOOR, _("door device")),
    ]

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="face_attempts",
    )
    building = models.ForeignKey(
        "portal.Building", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    purpose = models.ForeignKey(
        "consent.Purpose", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    method = models.CharField(max_length=8, choices=METHOD_CHOICES)
    result = models.CharField(max_length=16, choices=RESULT_CHOICES)
    distance = models.FloatField(null=True, blank=True)
    detail = models.CharField(max_length=32, blank=True)
    # What a door terminal that runs its own liveness check attested for this photo, as sent.
    liveness = models.CharField(max_length=200, blank=True, default="")
    job_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(db_index=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["person", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.channel}/{self.method}/{self.result}"

    def method_label(self) -> str:
        if self.method == self.CODE and self.detail in self.CODE_KINDS:
            return str(self.CODE_KINDS[self.detail])
        return str(self.get_method_display())


class PurgeRecord(models.Model):
    """What one deletion removed, and why: one row per run, reason and building.

    Counts and times only: no biometric content, no person, no list of templates. A run that
    deleted nothing for a reason still leaves one row (building empty) with zero counts.
    """

    WITHDRAWN = policy.WITHDRAWN
    CONSENT_EXPIRED = policy.CONSENT_EXPIRED
    RENEWAL_LAPSED = policy.RENEWAL_LAPSED
    CONSENT_INACTIVE = policy.CONSENT_INACTIVE
    RETENTION = policy.RETENTION
    PURPOSE_RETIRED = policy.PURPOSE_RETIRED
    PERSON_LEFT = policy.PERSON_LEFT
    ATTEMPT_LOGS = "attempt_logs"
    REASON_CHOICES = [
        (WITHDRAWN, _("consent withdrawn or refused")),
        (CONSENT_EXPIRED, _("consent expired")),
        (RENEWAL_LAPSED, _("consent not renewed within the grace period")),
        (CONSENT_INACTIVE, _("consent no longer active")),
        (RETENTION, _("retention period ended")),
        (PURPOSE_RETIRED, _("purpose retired")),
        (PERSON_LEFT, _("person left")),
        (ATTEMPT_LOGS, _("attempt logs past retention")),
    ]
    REQUEST = "request"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    TRIGGER_CHOICES = [
        (REQUEST, _("at once, on the request")),
        (SCHEDULE, _("scheduled purge")),
        (MANUAL, _("purge run by hand")),
    ]
    run_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    building = models.ForeignKey(
        "portal.Building",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # purge_building_recent starts with it
    )
    reason = models.CharField(max_length=32, choices=REASON_CHOICES)
    templates_deleted = models.PositiveIntegerField(default=0)
    attempts_deleted = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    trigger = models.CharField(max_length=16, choices=TRIGGER_CHOICES)

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [
            models.Index(fields=["building", "-finished_at"], name="purge_building_recent"),
            models.Index(fields=["-finished_at"], name="purge_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.reason}: {self.templates_deleted}"


class DoorCode(models.Model):
    """A short-lived, single-use code a person shows at a door instead of their face.

    Only a keyed hash of the code is kept; the code itself is shown once, on the person's page.
    """

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="door_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("door code")
        verbose_name_plural = _("door codes")

    def __str__(self) -> str:
        return f"door code {self.pk} of {self.person_id}"


class GalleryGeneration(models.Model):
    """A counter per building and purpose, raised in the same transaction as every write or
    deletion of their face templates. Workers that hold decrypted embeddings for door
    identification compare it on every request and reload when it moved."""

    building = models.ForeignKey("portal.Building", on_delete=models.CASCADE, related_name="+")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.CASCADE, related_name="+")
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["building", "purpose"], name="one_gallery_generation_per_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"gallery {self.building_id}/{self.purpose_id}: {self.value}"


class GallerySnapshot(models.Model):
    """One door gallery (building, purpose, face model) as one sealed block, so that a worker's
    warm-up reads and decrypts one block per gallery instead of one template per row
    (recognition.doors.snapshots). Deleted with any template of its gallery, in the same
    transaction; its key is kept in the key store beside the per-person data keys."""

    building = models.ForeignKey("portal.Building", on_delete=models.CASCADE, related_name="+")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=64)
    generation = models.PositiveBigIntegerField()
    key_name = models.CharField(max_length=64)
    templates = models.PositiveIntegerField()
    block = models.BinaryField()
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["building", "purpose", "model_id"], name="one_snapshot_per_gallery"
            )
        ]

    def __str__(self) -> str:
        return f"snapshot of gallery {self.building_id}/{self.purpose_id} at {self.generation}"


class GalleryKey(models.Model):
    """The key of one gallery snapshot, wrapped by the key ring (recognition.lifecycle.datakeys).
    Used when FACE_KEY_DATABASE_URL does not put the keys in a database of their own."""

    name = models.CharField(max_length=64, primary_key=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"gallery snapshot key {self.name}"


class ThresholdCrossing(models.Model):
    """The day stored face data first covered `threshold` distinct people: the filing duty
    (30 working days) runs from it. Kept for good, even if the count falls back later."""

    ENROLMENT = "enrolment"
    CHECK = "check"
    SOURCE_CHOICES = [
        (ENROLMENT, _("the enrolment that reached it")),
        (CHECK, _("a later count (data that predates the record)")),
    ]

    threshold = models.PositiveIntegerField(_("threshold"), unique=True)
    reached_at = models.DateTimeField(_("reached at"))
    reached_on = models.DateField(_("reached on (local date)"))
    people = models.PositiveIntegerField(_("people counted"))
    source = models.CharField(_("recorded by"), max_length=16, choices=SOURCE_CHOICES)

    class Meta:
        verbose_name = _("filing threshold crossing")
        verbose_name_plural = _("filing threshold crossings")

    def __str__(self) -> str:
        return f"{self.threshold} reached on {self.reached_on}"


class AttemptTally(models.Model):
    """Sign-in and door attempts counted per local day, building, channel and method, for the
    fallback-parity figures: counting the attempt log itself on every dashboard request would
    not keep up with a door's traffic. Written only by `recognition.reporting.tally`; counts only.

    `building_id` and `device_id` are plain ids, 0 for portal sign-ins (they belong to no
    building and no device), so a row outlives a deleted building like the audit log does.
    """

    day = models.DateField()
    building_id = models.BigIntegerField(default=0)
    device_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=16, choices=Attempt.CHANNEL_CHOICES)
    method = models.CharField(max_length=8, choices=Attempt.METHOD_CHOICES)
    accepted = models.PositiveBigIntegerField(default=0)
    refused = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["building_id", "day", "device_id", "channel", "method"],
                name="one_tally_per_day",
            )
        ]
        indexes = [models.Index(fields=["device_id", "day"], name="tally_device_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.building_id} {self.channel}/{self.method}"


class AttemptTallyMark(models.Model):
    """One row: attempts created before `counted_until` are in the tallies, later ones not."""

    counted_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"attempts counted until {self.counted_until}"


class FacePerson(models.Model):
    """How many templates one person has (rows only for people with at least one).

    With `FaceHeadcount`, kept by the database itself on PostgreSQL: statement-level
    triggers on the template table, in the writer's own transaction (see the migration that
    adds them). Python never writes either; nothing here is biometric.
    """

    person_id = models.BigIntegerField(unique=True)
    templates = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.person_id}: {self.templates}"


class FaceHeadcount(models.Model):
    """One row: distinct people with stored face data across every building."""

    people = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.people} people"
