"""The only writers of incidents, requests, filings, profile corrections and account deletion.

Each entry point is one transaction with one audit entry (`portal.audit.record`), except
where noted: an incident's email notices are sent after the portal notices are committed.
"""

import logging
from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent import rules as consent_rules
from consent.models import Consent, Purpose
from consent.services import ConsentError
from portal import audit, clock
from portal.models import Building, Membership, User
from recognition.rights import rules
from recognition.rights.models import AffectedPerson, Filing, Incident, RightsRequest

logger = logging.getLogger(__name__)

# Incidents --------------------------------------------------------------------------------

INCIDENT_FIELDS = (
    "title",
    "what_happened",
    "occurred_at",
    "found_at",
    "data_involved",
    "cause",
    "likely_harm",
    "measures_taken",
    "self_help",
    "contact",
)


def affected_people(
    building: Building, purposes: Iterable[Purpose], *, since: datetime, found_at: datetime
) -> "QuerySet[Consent, int]":
    """People whose face data for these purposes may have been held when the incident ran:
    consent granted before it was found and not ended (withdrawn, refused after a grant,
    person left) before it began. A set-based query over consents."""
    return (
        Consent.objects.filter(
            building=building,
            purpose__in=purposes,
            granted_at__isnull=False,
            granted_at__lte=found_at,
        )
        .exclude(
            Q(status=consent_rules.WITHDRAWN, withdrawn_at__lt=since)
            | Q(status=consent_rules.ENDED, ended_at__lt=since)
            | Q(status=consent_rules.REFUSED, refused_at__lt=since)
        )
        .values_list("person_id", flat=True)
        .distinct()
    )


@transaction.atomic
def record_incident(
    building: Building,
    *,
    actor: User,
    purposes: Iterable[Purpose],
    found_at: datetime,
    occurred_at: datetime | None = None,
    **fields: object,
) -> Incident:
    """Records an incident and works out the people affected from the data."""
    purposes = list(purposes)
    if any(p.building_id != building.pk for p in purposes):
        raise ConsentError("not_found", _("A purpose of another building was chosen."))
    fields = {k: v for k, v in fields.items() if k in INCIDENT_FIELDS}
    now = clock.now()
    if found_at > now:
        raise ConsentError("invalid", _("An incident cannot be found in the future."))
    if occurred_at and occurred_at > found_at:
        raise ConsentError("invalid", _("An incident cannot happen after it was found."))
    incident = Incident.objects.create(
        building=building,
        recorded_at=now,
        recorded_by=actor,
        found_at=found_at,
        occurred_at=occurred_at,
        **fields,
    )
    incident.purposes.set(purposes)
    people = affected_people(
        building,
        purposes,
        since=occurred_at or found_at,
        found_at=found_at,
    )
    AffectedPerson.objects.bulk_create(
        AffectedPerson(incident=incident, person_id=person_id) for person_id in people
    )
    incident.people_affected = incident.affected.count()
    incident.save(update_fields=["people_affected"])
    audit.record(
        "incident.recorded",
        actor=actor,
        building=building,
        data={
            "incident": incident.pk,
            "purposes": [p.pk for p in purposes],
            "people_affected": incident.people_affected,
            "found_at": found_at.isoformat(),
        },
    )
    return incident


def _email_body(incident: Incident) -> tuple[str, str]:
    """Subject and text in both languages: the portal does not know a person's language."""
    subjects, bodies = [], []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            subjects.append(_("Security incident: %(title)s") % {"title": incident.title})
            bodies.append(render_to_string("rights/incident_email.txt", {"incident": incident}))
    return " / ".join(subjects), "\n\n----\n\n".join(bodies)


def notify_incident(incident: Incident, *, actor: User) -> dict[str, int]:
    """Tells every affected person: a portal message (one transaction, one audit entry), then
    an email each through INCIDENT_EMAIL_BACKEND (Django's email backend by default) to those
    with an address, each success recorded, the count audited. Idempotent: nobody is told twice.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        now = clock.now()
        told = AffectedPerson.objects.filter(incident=incident, notified_at__isnull=True).update(
            notified_at=now
        )
        incident.notified_at = incident.notified_at or now
        incident.save(update_fields=["notified_at"])
        audit.record(
            "incident.people_notified",
            actor=actor,
            building=incident.building_id,
            data={"incident": incident.pk, "in_portal": told},
        )
    subject, body = _email_body(incident)
    pending = list(
        AffectedPerson.objects.filter(incident=incident, emailed_at__isnull=True)
        .exclude(person__email="")
        .select_related("person")
    )
    sent_ids, failed = [], 0
    connection = get_connection(settings.INCIDENT_EMAIL_BACKEND or None)
    for row in pending:
        try:
            send_mail(
                subject,
                body,
                settings.DEFAULT_FROM_EMAIL,
                [row.person.email],
                connection=connection,
            )
        except Exception:  # noqa: BLE001 - one bad address must not stop the others
            logger.exception("incident %s: email to person %s failed", incident.pk, row.person_id)
            failed += 1
        else:
            sent_ids.append(row.pk)
    if pending:
        with transaction.atomic():
            AffectedPerson.objects.filter(pk__in=sent_ids).update(emailed_at=clock.now())
            audit.record(
                "incident.emails_sent",
                actor=actor,
                building=incident.building_id,
                data={"incident": incident.pk, "sent": len(sent_ids), "failed": failed},
            )
    return {"in_portal": told, "emailed": len(sent_ids), "failed": failed}


@transaction.atomic
def mark_incident_reported(incident: Incident, *, actor: User) -> Incident:
    """The report for the regulator was produced (and is to be sent); kept in the timeline."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    incident.reported_at = clock.now()
    incident.save(update_fields=["reported_at"])
    audit.record(
        "incident.reported",
        actor=actor,
        building=incident.building_id,
        data={"incident": incident.pk},
    )
    return incident


@transaction.atomic
def mark_incident_notices_read(person: User) -> int:
    return AffectedPerson.objects.filter(
        person=person, notified_at__isnull=False, read_at__isnull=True
    ).update(read_at=clock.now())


# Requests ---------------------------------------------------------------------------------


@transaction.atomic
def file_request(
    person: User, *, building: Building, kind: str, details: str = ""
) -> RightsRequest:
    """A person's request to a building they belong to; due in 15 working days."""
    if not Membership.objects.current().filter(user=person, building=building).exists():
        raise ConsentError("not_found", _("You are not a member of that building."))
    if kind not in dict(RightsRequest.KIND_CHOICES):
        raise ConsentError("invalid", _("Choose what you are asking for."))
    now = clock.now()
    due = rules.request_due_on(
        timezone.localdate(now), settings.FILING_HOLIDAYS, settings.FILING_WORKDAYS
    )
    request = RightsRequest.objects.create(
        person=person,
        building=building,
        kind=kind,
        details=details.strip(),
        filed_at=now,
        due_on=due,
    )
    audit.record(
        "request.filed",
        actor=person,
        person=person,
        building=building,
        data={"request": request.pk, "kind": kind, "due_on": due.isoformat()},
    )
    return request


@transaction.atomic
def answer_request(
    request: RightsRequest, *, actor: User, status: str, answer: str
) -> RightsRequest:
    """An admin of the request's building answers it (or declines it, with reasons)."""
    request = RightsRequest.objects.select_for_update().get(pk=request.pk)
    if request.building_id not in actor.admin_building_ids():
        raise ConsentError("not_found", _("No such request."))
    if request.status != RightsRequest.OPEN:
        raise ConsentError("conflict", _("This request was already answered."))
    if status not in (RightsRequest.ANSWERED, RightsRequest.DECLINED) or not answer.strip():
        raise ConsentError("invalid", _("Write the answer, or the reasons for declining."))
    request.status = status
    request.answer = answer.strip()
    request.answered_at = clock.now()
    request.answered_by = actor
    request.save(update_fields=["status", "answer", "answered_at", "answered_by"])
    audit.record(
        "request.answered",
        actor=actor,
        person=request.person_id,
        building=request.building_id,
        data={
            "request": request.pk,
            "status": status,
            "on_time": timezone.localdate(request.answered_at) <= request.due_on,
        },
    )
    return request


# Profile and account -----------------------------------------------------------------------


@transaction.atomic
def correct_profile(person: User, **changes: object) -> list[str]:
    """Self-service corrections of the safe fields (names, email); returns the changed names."""
    changed = []
    for name in rules.SELF_SERVICE_FIELDS:
        if name in changes and getattr(person, name) != changes[name]:
            setattr(person, name, changes[name])
            changed.append(name)
    if changed:
        person.full_clean(validate_unique=False, exclude=["password", "username"])
        person.save(update_fields=changed)
        audit.record(
            "profile.corrected", actor=person, person=person, data={"fields": sorted(changed)}
        )
    return changed


@transaction.atomic
def delete_account(person: User, *, actor: User) -> dict[str, int]:
    """Erases everything held about the person, face data first, in one transaction.

    Kept, because the law asks for them: the audit log (ids only, no name, no contact) and the
    attempt logs (processing records, PIPL art. 56), detached from the person.
    """
    from recognition.lifecycle.services import delete_templates
    from recognition.models import Attempt, FaceTemplate

    audit._lock_chain()  # as every writer of face data: the chain's lock before template rows
    templates = delete_templates(
        FaceTemplate.objects.filter(person=person),
        reason="withdrawn",
        trigger="request",
        actor=actor if actor.pk != person.pk else None,
    )
    attempts = Attempt.objects.filter(person=person).update(person=None)
    consents = Consent.objects.filter(person=person).count()
    requests = RightsRequest.objects.filter(person=person).count()
    buildings = sorted(set(person.memberships.values_list("building_id", flat=True)))
    person_id = person.pk
    person.delete()
    audit.record(
        "account.deleted",
        actor=None if actor.pk == person_id else actor,
        person=person_id,
        data={
            "templates_deleted": templates,
            "consents_erased": consents,
            "requests_erased": requests,
            "attempt_logs_kept_without_person": attempts,
            "buildings": buildings,
        },
    )
    return {"templates": templates, "consents": consents, "attempts_kept": attempts}


@transaction.atomic
def record_age(
    person: User,
    *,
    actor: User,
    building: Building,
    birth_date: date | None = None,
    adult_attested: bool = False,
) -> User:
    """An admin records a person's date of birth, or attests that they are an adult."""
    if building.pk not in actor.admin_building_ids():
        raise ConsentError("not_found", _("No such person."))
    if birth_date is not None:
        if birth_date > timezone.localdate(clock.now()):
            raise ConsentError("invalid", _("A date of birth cannot be in the future."))
        person.birth_date = birth_date
    elif adult_attested:
        person.adult_attested_at = clock.now()
        person.adult_attested_by = actor
    else:
        raise ConsentError(
            "invalid", _("Enter the date of birth, or confirm that this person is an adult.")
        )
    person.save(update_fields=["birth_date", "adult_attested_at", "adult_attested_by"])
    audit.record(
        "person.age_recorded",
        actor=actor,
        person=person,
        building=building,
        data={"birth_date": birth_date is not None, "adult_attested": birth_date is None},
    )
    return person


# Filings ----------------------------------------------------------------------------------

FILING_PROBLEMS = {
    "filed_in_future": lambda: _("A filing cannot be dated in the future."),
    "duty_after_filing": lambda: _("The duty cannot arise after the filing was made."),
    "already_registered": lambda: _(
        "An initial filing is already recorded; record a change or a de-registration."
    ),
    "no_initial": lambda: _("Record the initial filing first."),
}


@transaction.atomic
def record_filing(
    *,
    actor: User,
    kind: str,
    duty_arose_on: date,
    filed_on: date,
    reference: str,
    authority: str,
    note: str = "",
) -> Filing:
    audit._lock_chain()  # serialises filings: the order check below reads the previous ones
    previous = list(Filing.objects.order_by("filed_on", "id").values_list("kind", flat=True))
    if kind not in dict(Filing.KIND_CHOICES):
        raise ConsentError("invalid", _("Choose the kind of filing."))
    problem = rules.filing_problem(
        kind,
        previous,
        duty_arose_on=duty_arose_on,
        filed_on=filed_on,
        today=timezone.localdate(clock.now()),
    )
    if problem:
        raise ConsentError("invalid", FILING_PROBLEMS[problem]())
    filing = Filing.objects.create(
        kind=kind,
        duty_arose_on=duty_arose_on,
        filed_on=filed_on,
        reference=reference.strip(),
        authority=authority.strip(),
        note=note.strip(),
        recorded_at=clock.now(),
        recorded_by=actor,
    )
    due = rules.filing_due_on(duty_arose_on, settings.FILING_HOLIDAYS, settings.FILING_WORKDAYS)
    audit.record(
        "filing.recorded",
        actor=actor,
        data={
            "filing": filing.pk,
            "kind": kind,
            "filed_on": filed_on.isoformat(),
            "due_on": due.isoformat(),
            "on_time": filed_on <= due,
        },
    )
    return filing
