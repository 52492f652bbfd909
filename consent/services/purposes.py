"""Purposes: created as drafts, changed while drafts, activated once assessed and noticed, retired
for good."""

from django.db import transaction
from django.utils.translation import gettext as _

from consent import rules, signals
from consent.models import (
    Purpose,
)
from consent.services.common import (
    CREATE_FIELDS,
    PURPOSE_FIELDS,
    ConsentError,
    locked_purpose,
    only,
    scope,
    validated,
)
from portal import audit, clock, names
from portal.models import Building, User


def has_current_assessment(purpose: Purpose) -> bool:
    """An approved assessment covers the purpose and method as they stand now."""
    approved = purpose.assessments.filter(approved_at__isnull=False)
    if purpose.needs_assessment_after is not None:
        approved = approved.filter(approved_at__gte=purpose.needs_assessment_after)
    return approved.exists()


@transaction.atomic
def create_purpose(building: Building, *, actor: User, **fields: object) -> Purpose:
    now = clock.now()
    purpose = Purpose(
        building=building,
        created_at=now,
        needs_assessment_after=now,
        **names.for_creation(only(fields, CREATE_FIELDS)),
    )
    validated(purpose)
    purpose.save()
    audit.record(
        "purpose.created",
        actor=actor,
        building=building,
        data={
            "purpose": purpose.pk,
            "method": purpose.method,
            "kind": purpose.kind,
            "audience": purpose.audience,
            "storage": purpose.storage,
        },
    )
    return purpose


@transaction.atomic
def update_purpose(purpose: Purpose, *, actor: User, **changes: object) -> Purpose:
    """Changes a draft. An active purpose changes only through a new notice version."""
    purpose = locked_purpose(purpose)
    if purpose.status != rules.DRAFT:
        raise ConsentError(
            "not_draft",
            _(
                "Only a draft purpose can be edited. Publish a new notice version to change "
                "an active purpose."
            ),
        )
    before = scope(purpose)
    for name, value in names.for_update(only(changes, PURPOSE_FIELDS)).items():
        setattr(purpose, name, value)
    validated(purpose)
    if rules.scope_changed(before, scope(purpose)):
        purpose.needs_assessment_after = clock.now()  # an earlier approval no longer covers it
    purpose.save()
    audit.record(
        "purpose.updated",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk, "fields": sorted(changes)},
    )
    return purpose


@transaction.atomic
def delete_purpose(purpose: Purpose, *, actor: User) -> None:
    """Deletes a draft that has no notice and no assessment (those are kept; retire instead)."""
    purpose = locked_purpose(purpose)
    if purpose.status != rules.DRAFT or purpose.notices.exists() or purpose.assessments.exists():
        raise ConsentError(
            "not_deletable",
            _(
                "Only a draft without notices or assessments can be deleted; retire this "
                "purpose instead so its records are kept."
            ),
        )
    audit.record(
        "purpose.deleted",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk},
    )
    purpose.delete()


@transaction.atomic
def activate_purpose(purpose: Purpose, *, actor: User) -> Purpose:
    """Starts a purpose; refused without an approved assessment and a published notice."""
    purpose = locked_purpose(purpose)
    if purpose.status != rules.DRAFT:
        raise ConsentError("not_draft", _("Only a draft purpose can be activated."))
    missing = rules.activation_missing(
        has_approved_assessment=has_current_assessment(purpose),
        has_published_notice=purpose.current_notice_id is not None,
    )
    if missing:
        messages = {
            "assessment": _("an approved impact assessment (PIPIA)"),
            "notice": _("a published notice"),
        }
        if purpose.assessments.filter(approved_at__isnull=False).exists():
            messages["assessment"] = _(
                "an impact assessment (PIPIA) approved since the purpose or method last changed"
            )
        raise ConsentError(
            "not_ready",
            _("This purpose cannot be activated yet. It still needs: %(missing)s.")
            % {"missing": _(", ").join(str(messages[m]) for m in missing)},
            {"missing": missing},
        )
    purpose.status = rules.ACTIVE
    purpose.activated_at = clock.now()
    purpose.save(update_fields=["status", "activated_at"])
    audit.record(
        "purpose.activated",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk, "notice": purpose.current_notice_id},
    )
    return purpose


@transaction.atomic
def retire_purpose(purpose: Purpose, *, actor: User) -> Purpose:
    """Ends a purpose for good. Its consents stop counting; assessments and notices are kept."""
    purpose = locked_purpose(purpose)
    if purpose.status == rules.RETIRED:
        raise ConsentError("retired", _("This purpose is already retired."))
    purpose.status = rules.RETIRED
    purpose.retired_at = clock.now()
    purpose.save(update_fields=["status", "retired_at"])
    audit.record(
        "purpose.retired",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk},
    )
    signals.purpose_retired.send(sender=Purpose, purpose=purpose, actor=actor)
    return purpose
