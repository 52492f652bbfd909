"""Security incidents and who they touched, people's requests, and the filings made.

Written only by `rights.services`; each write leaves one audit entry (`portal.audit`).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Incident(models.Model):
    """A security incident (PIPL art. 57): what happened, to which data, and what was done."""

    building = models.ForeignKey(
        "portal.Building", on_delete=models.PROTECT, related_name="incidents"
    )
    title = models.CharField(_("title"), max_length=200)
    what_happened = models.TextField(_("what happened"))
    occurred_at = models.DateTimeField(_("when it happened"), null=True, blank=True)
    found_at = models.DateTimeField(_("when it was found"))
    purposes = models.ManyToManyField(
        "consent.Purpose",
        verbose_name=_("purposes whose data is involved"),
        related_name="+",
        help_text=_("The people who held consent to these purposes are the people affected."),
    )
    data_involved = models.TextField(_("which data"))
    cause = models.TextField(_("cause"))
    likely_harm = models.TextField(_("likely harm"))
    measures_taken = models.TextField(_("measures taken"))
    self_help = models.TextField(_("what people can do themselves"))
    contact = models.CharField(_("contact"), max_length=300)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    people_affected = models.PositiveIntegerField(_("people affected"), default=0)
    notified_at = models.DateTimeField(_("people notified at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("report for the regulator made at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-found_at", "-id"]

    def __str__(self) -> str:
        return self.title


class AffectedPerson(models.Model):
    """One person an incident touched, and how they were told."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_notices"
    )
    notified_at = models.DateTimeField(_("told in the portal at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("sent by email at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "person"], name="affected_once")]
        indexes = [models.Index(fields=["person", "read_at"])]

    def __str__(self) -> str:
        return f"{self.incident_id} / {self.person_id}"


class RightsRequest(models.Model):
    """A person's request about their data (PIPL arts. 44-50), answered by a building admin."""

    ACCESS = "access"
    COPY = "copy"
    CORRECTION = "correction"
    DELETION = "deletion"
    EXPLANATION = "explanation"
    KIND_CHOICES = [
        (ACCESS, _("see my data")),
        (COPY, _("a copy of my data")),
        (CORRECTION, _("correct my data")),
        (DELETION, _("delete my data")),
        (EXPLANATION, _("explain how my data is processed")),
    ]
    OPEN = "open"
    ANSWERED = "answered"
    DECLINED = "declined"
    STATUS_CHOICES = [
        (OPEN, _("open")),
        (ANSWERED, _("answered")),
        (DECLINED, _("declined, with reasons")),
    ]

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rights_requests"
    )
    building = models.ForeignKey(
        "portal.Building", on_delete=models.PROTECT, related_name="rights_requests"
    )
    kind = models.CharField(_("request"), max_length=16, choices=KIND_CHOICES)
    details = models.TextField(_("details"), blank=True)
    filed_at = models.DateTimeField(_("filed at"))
    due_on = models.DateField(_("answer due by"))
    status = models.CharField(_("status"), max_length=16, choices=STATUS_CHOICES, default=OPEN)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["building", "status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.person_id}"


class Filing(models.Model):
    """A filing with the provincial cyberspace office (Measures art. 15)."""

    INITIAL = "initial"
    CHANGE = "change"
    DEREGISTRATION = "deregistration"
    KIND_CHOICES = [
        (INITIAL, _("initial filing")),
        (CHANGE, _("change filing")),
        (DEREGISTRATION, _("de-registration")),
    ]

    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    duty_arose_on = models.DateField(
        _("duty arose on"),
        help_text=_(
            "The day the number was reached, the change was made or the processing ended; the "
            "30 working days count from the day after."
        ),
    )
    filed_on = models.DateField(_("filed on"))
    reference = models.CharField(_("reference"), max_length=100)
    authority = models.CharField(_("filed with"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("filing")
        verbose_name_plural = _("filings")
        ordering = ["-filed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"
