"""How many distinct people the operator holds face data of, and the record of the day that
number first reached the filing threshold (the rules themselves are in
`recognition.reporting.filing`).

A person with templates for several purposes or in several buildings is one person: the
number of distinct `person_id`s over every template of every building.
"""

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from portal import audit, clock
from recognition.models import FaceHeadcount, FaceTemplate, ThresholdCrossing


def people_with_face_data(building_ids=None) -> int:
    """Distinct people with at least one stored template (in `building_ids`, if given).

    Across every building, PostgreSQL keeps the number itself (`FaceHeadcount`, by triggers);
    it is counted here only where it does not (SQLite, or a table emptied by a test flush).
    """
    if building_ids is None and connection.vendor == "postgresql":
        kept = FaceHeadcount.objects.filter(pk=1).values_list("people", flat=True).first()
        if kept is not None:
            return kept
    return count_people(building_ids)


def count_people(building_ids=None) -> int:
    """The same, counted from the templates themselves."""
    templates = FaceTemplate.objects.all()
    if building_ids is not None:
        templates = templates.filter(building_id__in=list(building_ids))
    # COUNT(*) over GROUP BY person_id: a hash aggregate, twice as fast as COUNT(DISTINCT).
    return templates.values("person_id").annotate(n=Count("id")).order_by().count()


def crossing() -> ThresholdCrossing | None:
    return ThresholdCrossing.objects.filter(threshold=settings.FILING_THRESHOLD).first()


def note_headcount(source: str, people: int | None = None) -> ThresholdCrossing | None:
    """Records the day the threshold was reached, once; returns the record, if there is one.

    Called by every enrolment that adds a template (so the day is exact) and by every purge
    run, scheduled or by hand (for data that predates the record), never by a page that only
    shows the count. `people` saves a count the caller already made.
    """
    threshold = settings.FILING_THRESHOLD
    recorded = crossing()
    if recorded is not None:
        return recorded
    if people is None:
        people = people_with_face_data()
    if people < threshold:
        return None
    now = clock.now()
    recorded, created = ThresholdCrossing.objects.get_or_create(
        threshold=threshold,
        defaults={
            "reached_at": now,
            "reached_on": timezone.localdate(now),
            "people": people,
            "source": source,
        },
    )
    if created:
        audit.record(
            "filing.threshold_reached",
            data={
                "threshold": threshold,
                "people": people,
                "reached_on": recorded.reached_on.isoformat(),
                "source": source,
            },
        )
    return recorded
