"""Purposes, versioned notices, impact assessments, consents and their history.

Written only by `consent.services`; read through managers. The audit log is in the base layer
(`portal.models`, written by `portal.audit`).
"""

import uuid
from datetime import datetime
from typing import Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent import rules, rules_query
from portal import clock

LANGUAGES = ("en", "zh-hans")
NOTICE_SECTIONS = (
    ("purpose", _("Purpose")),
    ("method", _("How your face is used")),
    ("data", _("Data collected")),
    ("retention", _("How long it is kept")),
    ("necessity_and_impact", _("Why it is necessary and its impact on you")),
    ("alternatives", _("Ways in without your face")),
    ("rights", _("Your rights and how to exercise them")),
    ("withdrawal", _("How to withdraw")),
)
SECTION_KEYS = tuple(key for key, _label in NOTICE_SECTIONS)

KIND_LABELS = {
    rules.KIND_SIGN_IN: _("portal sign-in"),
    rules.KIND_DOOR: _("door access"),
}
AUDIENCE_LABELS = {
    rules.AUDIENCE_RESIDENTS: _("residents"),
    rules.AUDIENCE_STAFF: _("staff"),
    rules.AUDIENCE_BOTH: _("residents and staff"),
}
STORAGE_LABELS = {
    rules.STORAGE_DEVICE: _("kept on the recognition device only"),
    rules.STORAGE_ON_PREMISES: _("on the operator's own servers inside the building's network"),
    rules.STORAGE_HOSTED: _("sent over the internet to a hosted portal"),
}
# The notice's section on where face data lives, written from the purpose's storage so that
# it always says what the portal does.
STORAGE_HEADING = _("Where your face data is kept")
STORAGE_TEXTS = {
    rules.STORAGE_DEVICE: _(
        "Your face data is kept in the recognition device only. It is not sent over any "
        "network, and this portal never receives your photo or your face template."
    ),
    rules.STORAGE_ON_PREMISES: _(
        "Your photo leaves the camera (your browser or the door terminal) and crosses the "
        "building's network to the operator's own servers, where it is turned into an "
        "encrypted face template and kept; the photo itself is discarded. Because your face "
        "data leaves the device, you are asked for a separate consent to that, with its own "
        "box; without it no face data is kept. You can withdraw that consent on its own at "
        "any time, and your template is then deleted at once."
    ),
    rules.STORAGE_HOSTED: _(
        "Your photo leaves the camera (your browser or the door terminal) and is sent over "
        "the internet to a hosted portal, where it is turned into an encrypted face template "
        "and kept; the photo itself is discarded. Because your face data leaves the device, "
        "you are asked for a separate consent to that, with its own box; without it no face "
        "data is kept. You can withdraw that consent on its own at any time, and your "
        "template is then deleted at once."
    ),
}
STORAGE_CONSENT_LABELS = {
    rules.STORAGE_ON_PREMISES: _(
        "Separately, I agree that my photo leaves the device and my face template is kept on "
        "the operator's own servers inside the building's network."
    ),
    rules.STORAGE_HOSTED: _(
        "Separately, I agree that my photo is sent over the internet and my face template is "
        "kept by a hosted portal."
    ),
}

ALTERNATIVE_LABELS = {
    "password_code": _("password and one-time code"),
    "door_code": _("door code"),
    "card": _("access card"),
    "staff_assisted": _("staff-assisted entry"),
}


class PurposeQuerySet(models.QuerySet["Purpose"]):
    def active(self) -> Self:
        return self.filter(status=rules.ACTIVE)

    def for_buildings(self, building_ids):
        return self.filter(building_id__in=building_ids)

    def for_person(self, person: object) -> Self:
        """Purposes of the person's current buildings that are for one of their roles there."""
        from portal.models import Membership

        offered = Q(pk__in=[])
        for building_id, role in (
            Membership.objects.current().filter(user=person).values_list("building_id", "role")
        ):
            audiences = rules.audiences_for_role(role)
            if audiences:
                offered |= Q(building_id=building_id, audience__in=audiences)
        return self.filter(offered)

    def visible_to(self, person):
        """Purposes a person is asked about: active ones of their current buildings that are
        for one of their roles there, and any purpose they once decided on (so history,
        receipts and withdrawal stay reachable)."""
        decided = Consent.objects.filter(person=person).values("purpose_id")
        offered = self.for_person(person).filter(status=rules.ACTIVE).values("pk")
        return self.filter(Q(pk__in=offered) | Q(id__in=decided))


class Purpose(models.Model):
    METHOD_CHOICES = [
        (rules.VERIFICATION, _("1:1 verification (you show your face to confirm who you are)")),
        (rules.IDENTIFICATION, _("door identification (1:N, the door recognises you)")),
    ]
    STATUS_CHOICES = [
        (rules.DRAFT, _("draft")),
        (rules.ACTIVE, _("active")),
        (rules.RETIRED, _("retired")),
    ]
    ALTERNATIVE_CHOICES = [(key, label) for key, label in ALTERNATIVE_LABELS.items()]
    KIND_CHOICES = list(KIND_LABELS.items())
    AUDIENCE_CHOICES = list(AUDIENCE_LABELS.items())
    STORAGE_CHOICES = list(STORAGE_LABELS.items())

    building = models.ForeignKey(
        "portal.Building", on_delete=models.PROTECT, related_name="purposes"
    )
    name = models.CharField(_("name"), max_length=200)
    specific_purpose = models.TextField(_("specific purpose"))
    necessity_and_impact = models.TextField(
        _("necessity and impact"),
        help_text=_("Why face processing is necessary for this purpose and its impact on people."),
    )
    method = models.CharField(_("method"), max_length=16, choices=METHOD_CHOICES)
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=KIND_CHOICES,
        help_text=_(
            "What the face data is for: portal sign-in or door access. Fixed when the purpose "
            "is created; a template serves only purposes of its kind."
        ),
    )
    audience = models.CharField(
        _("for whom"),
        max_length=16,
        choices=AUDIENCE_CHOICES,
        default=rules.AUDIENCE_BOTH,
        help_text=_("Only people with this role in the building are asked about it."),
    )
    storage = models.CharField(
        _("where face data is kept"),
        max_length=16,
        choices=STORAGE_CHOICES,
        help_text=_(
            "When face data leaves the device, each person is asked for a separate consent to that."
        ),
    )
    retention_days = models.PositiveIntegerField(_("retention in days"), null=True, blank=True)
    until_person_leaves = models.BooleanField(
        _("kept until the person leaves"),
        default=False,
        help_text=_("Face data is deleted when the person leaves the building or job."),
    )
    alternatives = models.JSONField(
        _("non-face alternatives"),
        default=list,
        help_text=_("At least one way in that does not use the face."),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=STATUS_CHOICES, default=rules.DRAFT
    )
    public_security = models.BooleanField(
        _("serves public security"),
        default=False,
        help_text=_(
            "Only such a purpose may run on a face device in a public area (Measures art. 13, "
            "PIPL art. 26)."
        ),
    )
    current_notice = models.ForeignKey(
        "Notice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    needs_assessment_after = models.DateTimeField(
        _("needs an assessment approved after"),
        null=True,
        blank=True,
        help_text=_(
            "An impact assessment approved at or after this time covers the current purpose "
            "and method; moved on when either changes."
        ),
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    objects = PurposeQuerySet.as_manager()

    class Meta:
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        ordering = ["building_id", "name", "id"]
        indexes = [models.Index(fields=["building", "status"])]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        problem = rules.alternatives_problem(self.alternatives, self.method)
        if problem == "code_missing":
            errors["alternatives"] = _(
                "The code route always works, so the notice always lists it: add %(route)s."
            ) % {"route": ALTERNATIVE_LABELS[rules.code_route(self.method)]}
        elif problem is not None:
            errors["alternatives"] = _(
                "Offer at least one non-face alternative, each once, from: %(choices)s."
            ) % {"choices": ", ".join(rules.ALTERNATIVES)}
        problem = rules.kind_problem(self.kind, self.method, self.storage)
        if problem == "sign_in_needs_verification":
            errors["method"] = _("Portal sign-in uses 1:1 verification.")
        elif problem == "sign_in_leaves_device":
            errors["storage"] = _(
                "A photo for portal sign-in always leaves the browser: it cannot be kept on "
                "the device only."
            )
        if rules.retention_problem(self.retention_days, self.until_person_leaves) is not None:
            errors["retention_days"] = _(
                "Say how long face data is kept: a number of days (at least 1), "
                "until the person leaves, or both."
            )
        if errors:
            raise ValidationError(errors)

    def alternative_labels(self) -> list[str]:
        return [str(ALTERNATIVE_LABELS.get(a, a)) for a in self.alternatives]

    def material_terms(self, data_collected: str) -> dict:
        return rules.material_terms(
            specific_purpose=self.specific_purpose,
            method=self.method,
            data_collected=data_collected,
            retention_days=self.retention_days,
            until_person_leaves=self.until_person_leaves,
            storage=self.storage,
        )

    def leaves_device(self) -> bool:
        return rules.leaves_device(self.storage)

    def storage_consent_label(self) -> str:
        return str(STORAGE_CONSENT_LABELS.get(self.storage, ""))


class Notice(models.Model):
    """One published, immutable version of the notice shown before consent."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="notices")
    version = models.PositiveIntegerField(_("version"))
    handler_name = models.CharField(_("personal information handler"), max_length=200)
    handler_contact = models.CharField(_("handler contact"), max_length=300)
    data_collected = models.TextField(_("data collected"))
    terms = models.JSONField(_("material terms"))
    texts = models.JSONField(
        _("text"), help_text=_("The notice sections in each language, by section key.")
    )
    text_hash = models.CharField(_("text hash"), max_length=64)
    requires_renewal = models.BooleanField(_("requires renewal"), default=False)
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["purpose_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "version"], name="notice_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id} v{self.version}"

    def sections(self, language: str | None) -> list[tuple[str, str]]:
        """(heading, text) pairs in the asked language, falling back to English."""
        language = (language or "en").lower()
        chosen = self.texts.get(language) or self.texts.get("en") or {}
        sections = [(label, chosen.get(key, "")) for key, label in NOTICE_SECTIONS]
        storage = self.storage()
        if storage in STORAGE_TEXTS:
            sections.insert(3, (STORAGE_HEADING, str(STORAGE_TEXTS[storage])))
        return sections

    def storage(self) -> str | None:
        """Where face data lives, as this notice said. Notices published before the notice
        named it take the purpose's value while they are current (it changes only with a new
        notice); older ones said nothing about it."""
        if self.terms.get("storage"):
            return self.terms["storage"]
        if self.purpose.current_notice_id == self.pk:
            return self.purpose.storage
        return None


class Assessment(models.Model):
    """A personal-information protection impact assessment (PIPIA) for one purpose."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="assessments")
    lawfulness_and_necessity = models.TextField(
        _("lawfulness, legitimacy and necessity of the purpose and method")
    )
    impact_and_mitigations = models.TextField(_("impact on rights and interests, mitigations"))
    security_risks = models.TextField(_("risks of leakage, tampering, loss or misuse"))
    protection_adequacy = models.TextField(_("adequacy and effectiveness of protection measures"))
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    keep_until = models.DateField(_("keep until"), null=True, blank=True)

    class Meta:
        verbose_name = _("impact assessment")
        verbose_name_plural = _("impact assessments")
        ordering = ["purpose_id", "-created_at"]

    def __str__(self) -> str:
        return f"PIPIA {self.pk} ({self.purpose_id})"

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


class ConsentQuerySet(models.QuerySet["Consent"]):
    def active(self, now: datetime | None = None) -> Self:
        """Consents that allow face processing now, as one SQL filter (usable in subqueries):
        the rule `consent.rules_query.active`."""
        now = now or clock.now()
        adult_cutoff = rules.adult_born_on_or_before(timezone.localdate(now))
        return self.filter(rules_query.active(now, adult_cutoff))

    def active_for(
        self, person: object, purpose: object, now: datetime | None = None
    ) -> "Consent | None":
        """The active consent of `person` for `purpose`, or None."""
        return self.active(now).filter(person=person, purpose=purpose).first()

    def for_buildings(self, building_ids):
        return self.filter(building_id__in=building_ids)


class Consent(models.Model):
    """The current decision of one person about one purpose; its history is ConsentEvent."""

    CHANNEL_CHOICES = [
        ("web", _("web page")),
        ("api", _("API")),
        ("kiosk", _("kiosk")),
        ("staff", _("staff on the person's behalf")),
        ("system", _("system")),
    ]
    STATUS_CHOICES = [
        (rules.GRANTED, _("granted")),
        (rules.REFUSED, _("refused")),
        (rules.WITHDRAWN, _("withdrawn")),
        (rules.ENDED, _("ended (left)")),
    ]

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="consents")
    # Copied from the purpose so admin lists page through one index (building, -id).
    building = models.ForeignKey(
        "portal.Building", on_delete=models.PROTECT, related_name="consents"
    )
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="consents")
    notice_hash = models.CharField(_("hash of the notice shown"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=STATUS_CHOICES)
    decided_at = models.DateTimeField(_("decided at"))
    granted_at = models.DateTimeField(_("granted at"), null=True, blank=True)
    refused_at = models.DateTimeField(_("refused at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    renewal_needed_at = models.DateTimeField(_("renewal needed since"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The guardian who granted consent for a person under 14."),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=CHANNEL_CHOICES)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    receipt_id = models.UUIDField(_("receipt id"), default=uuid.uuid4, unique=True)
    storage_consented_at = models.DateTimeField(
        _("separate consent to face data leaving the device given at"),
        null=True,
        blank=True,
        help_text=_("Empty: not given, or withdrawn; no face data is then kept off the device."),
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["person", "purpose"], name="consent_one_per_purpose")
        ]
        indexes = [
            models.Index(fields=["purpose", "status"]),
            models.Index(fields=["building", "-id"], name="consent_building_recent"),
            # The few consents awaiting renewal, counted per purpose on the dashboard.
            models.Index(
                fields=["purpose"],
                condition=Q(renewal_needed_at__isnull=False),
                name="consent_renewal_needed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} / {self.purpose_id}: {self.status}"

    def state(self, now=None) -> str:
        now = now or clock.now()
        return rules.effective_state(
            self.status,
            now=now,
            renewal_needed_at=self.renewal_needed_at,
            expires_at=self.expires_at,
            purpose_status=self.purpose.status,
            guardian_needed=rules.guardian_required(
                self.person.birth_date, timezone.localdate(now)
            ),
            granted_by_guardian=self.granted_by_id is not None,
        )


class ConsentEvent(models.Model):
    """Append-only history of one consent: who decided what, when, on which notice."""

    KIND_CHOICES = [
        (rules.GRANTED, _("granted")),
        (rules.REFUSED, _("refused")),
        (rules.WITHDRAWN, _("withdrawn")),
        (rules.RENEWAL_NEEDED, _("renewal needed (the notice changed)")),
        (rules.ENDED, _("ended (left)")),
        (rules.STORAGE_WITHDRAWN, _("consent to face data leaving the device withdrawn")),
    ]

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="events")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("event"), max_length=24, choices=KIND_CHOICES)
    at = models.DateTimeField(_("at"))
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Consent.CHANNEL_CHOICES)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    storage_consent = models.BooleanField(
        _("separate consent to face data leaving the device"),
        null=True,
        blank=True,
        help_text=_("On a grant: whether its own box was ticked (empty when not asked)."),
    )

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["person", "-at"])]

    def __str__(self) -> str:
        return f"{self.consent_id} {self.kind} {self.at:%Y-%m-%d}"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """A message for a person inside the portal (a notice changed, consent needs renewal)."""

    NOTICE_CHANGED = "notice_changed"
    WARD_NOTICE_CHANGED = "ward_notice_changed"
    KIND_CHOICES = [
        (NOTICE_CHANGED, _("notice changed: please decide again")),
        (WARD_NOTICE_CHANGED, _("notice changed: please decide again for the person in your care")),
    ]
    MESSAGES = {
        NOTICE_CHANGED: _(
            "The notice for “%(purpose)s” changed what you agreed to. Face use for it "
            "is paused until you read the new notice and decide again."
        ),
        WARD_NOTICE_CHANGED: _(
            "The notice for “%(purpose)s” changed what was agreed for %(ward)s. Face use for "
            "it is paused until you read the new notice and decide again for them."
        ),
    }

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_notifications"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="+")
    ward = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("For a guardian: the person in their care the message is about."),
    )
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "read_at"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind}"

    def message(self) -> str:
        return self.MESSAGES[self.kind] % {
            "purpose": self.purpose.name,
            "ward": str(self.ward) if self.ward_id else "",
        }


class ConsentCount(models.Model):
    """How many consents of a purpose are in each status (and awaiting renewal or not).

    Kept by the database itself on PostgreSQL: statement-level triggers on the consent table
    add the rows each INSERT, UPDATE or DELETE brings and take away the rows it removes, in the
    writer's own transaction (see the migration that adds this table). Python never writes it;
    the dashboard reads it instead of counting a million consents on each request.
    """

    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Consent.STATUS_CHOICES)
    awaiting_renewal = models.BooleanField()
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "status", "awaiting_renewal"], name="one_count_per_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id} {self.status}: {self.count}"
