"""The scheduled safety net: every template whose purpose has lapsed is deleted, set-based,
in short batches, with one purge record per run and reason (counts only)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from consent import audit
from consent.models import Consent
from portal import clock
from portal.models import Membership
from recognition.models import Attempt, FaceTemplate, PurgeRecord

BATCH = 20_000


def lapsed_by_reason(now) -> list[tuple[str, object]]:
    """(reason, queryset) in the order a template is attributed to its reason."""
    member = Membership.objects.current().filter(
        user_id=OuterRef("person_id"), building_id=OuterRef("building_id")
    )
    active = Consent.objects.active().filter(
        person_id=OuterRef("person_id"), purpose_id=OuterRef("purpose_id")
    )
    # A consent awaiting renewal keeps its template for a grace period (face use is already
    # stopped by Consent.active()); afterwards the template goes.
    in_grace = Consent.objects.filter(
        person_id=OuterRef("person_id"),
        purpose_id=OuterRef("purpose_id"),
        status="granted",
        renewal_needed_at__gt=now - timedelta(days=settings.RENEWAL_GRACE_DAYS),
    )
    templates = FaceTemplate.objects
    return [
        (PurgeRecord.PURPOSE_RETIRED, templates.filter(purpose__status="retired")),
        (PurgeRecord.PERSON_LEFT, templates.filter(~Exists(member))),
        (PurgeRecord.RETENTION, templates.filter(lapses_at__lte=now)),
        (PurgeRecord.CONSENT_INACTIVE, templates.filter(~Exists(active), ~Exists(in_grace))),
    ]


def _delete_in_batches(queryset) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = queryset.values("pk")[:BATCH]
            deleted, _rows = FaceTemplate.objects.filter(pk__in=ids).delete()
        total += deleted
        if deleted < BATCH:
            return total


def purge_lapsed_templates(trigger: str = "manual") -> dict:
    """Deletes lapsed templates and old attempt logs; returns counts per reason."""
    counts: dict[str, int] = {}
    now = clock.now()
    for reason, queryset in lapsed_by_reason(now):
        started = clock.now()
        counts[reason] = _delete_in_batches(queryset)
        PurgeRecord.objects.create(
            reason=reason,
            templates_deleted=counts[reason],
            started_at=started,
            finished_at=clock.now(),
            trigger=trigger,
        )
    started = clock.now()
    cutoff = now - timedelta(days=settings.ATTEMPT_RETENTION_DAYS)
    attempts, _rows = Attempt.objects.filter(created_at__lt=cutoff).delete()
    counts[PurgeRecord.ATTEMPT_LOGS] = attempts
    PurgeRecord.objects.create(
        reason=PurgeRecord.ATTEMPT_LOGS,
        attempts_deleted=attempts,
        started_at=started,
        finished_at=clock.now(),
        trigger=trigger,
    )
    if any(counts.values()):
        audit.record("face.purged", data={"trigger": trigger, **counts})
    return counts
