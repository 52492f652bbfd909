"""Impact assessments (PIPIA): written, changed until approved, approved once and kept."""

from django.db import transaction
from django.utils.translation import gettext as _

from consent import rules
from consent.models import (
    Assessment,
    Purpose,
)
from consent.services.common import (
    ASSESSMENT_FIELDS,
    ConsentError,
    locked_purpose,
    only,
    validated,
)
from portal import audit, clock
from portal.models import User


@transaction.atomic
def create_assessment(purpose: Purpose, *, actor: User, **fields: object) -> Assessment:
    purpose = locked_purpose(purpose)
    if purpose.status == rules.RETIRED:
        raise ConsentError("retired", _("A retired purpose gets no new assessments."))
    assessment = Assessment(
        purpose=purpose, assessor=actor, created_at=clock.now(), **only(fields, ASSESSMENT_FIELDS)
    )
    validated(assessment)
    assessment.save()
    audit.record(
        "assessment.created",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk, "assessment": assessment.pk},
    )
    return assessment


@transaction.atomic
def update_assessment(assessment: Assessment, *, actor: User, **changes: object) -> Assessment:
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.approved:
        raise ConsentError(
            "approved", _("An approved assessment cannot be changed; write a new one.")
        )
    for name, value in only(changes, ASSESSMENT_FIELDS).items():
        setattr(assessment, name, value)
    validated(assessment)
    assessment.save()
    audit.record(
        "assessment.updated",
        actor=actor,
        building=assessment.purpose.building_id,
        data={"assessment": assessment.pk, "fields": sorted(changes)},
    )
    return assessment


@transaction.atomic
def approve_assessment(assessment: Assessment, *, actor: User) -> Assessment:
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.approved:
        raise ConsentError("approved", _("This assessment is already approved."))
    now = clock.now()
    assessment.approved_by = actor
    assessment.approved_at = now
    assessment.keep_until = rules.assessment_keep_until(now)
    assessment.save(update_fields=["approved_by", "approved_at", "keep_until"])
    audit.record(
        "assessment.approved",
        actor=actor,
        building=assessment.purpose.building_id,
        data={
            "purpose": assessment.purpose_id,
            "assessment": assessment.pk,
            "keep_until": assessment.keep_until.isoformat(),
        },
    )
    return assessment
