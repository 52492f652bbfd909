"""Read models: an incident's report for the regulator and its timeline, the request queue,
the filing clocks, the public processing rules of a building."""

from django.conf import settings
from django.utils import timezone

from consent.evidence import when
from consent.models import Purpose
from portal import clock as portal_clock
from portal.models import AuditEntry
from recognition.rights import rules
from recognition.rights.models import Filing, Incident, RightsRequest

REPORT_FIELDS = (
    "what_happened",
    "data_involved",
    "cause",
    "likely_harm",
    "measures_taken",
    "self_help",
    "contact",
)


def timeline(incident: Incident) -> list[dict]:
    """The incident's steps as the audit log holds them (entry id, event, when)."""
    entries = AuditEntry.objects.filter(
        event__startswith="incident.", data__incident=incident.pk
    ).order_by("id")
    return [
        {"entry": e.pk, "event": e.event, "at": when(e.at), "actor_id": e.actor_id, "data": e.data}
        for e in entries
    ]


def incident_report(incident: Incident) -> dict:
    """What PIPL art. 57 asks the regulator to be told: what, which data, cause, harm, measures,
    what people can do, a contact; with the people affected counted (not named)."""
    building = incident.building
    return {
        "incident_id": incident.pk,
        "title": incident.title,
        "handler": building.handler_name,
        "handler_contact": building.handler_contact,
        "building": building.name,
        "occurred_at": when(incident.occurred_at),
        "found_at": when(incident.found_at),
        "recorded_at": when(incident.recorded_at),
        **{name: getattr(incident, name) for name in REPORT_FIELDS},
        "purposes": [
            {"id": p.pk, "name": p.name, "method": p.method}
            for p in incident.purposes.order_by("name")
        ],
        "people_affected": incident.people_affected,
        "people_told_in_portal": incident.affected.filter(notified_at__isnull=False).count(),
        "people_emailed": incident.affected.filter(emailed_at__isnull=False).count(),
        "people_notified_at": when(incident.notified_at),
        "timeline": timeline(incident),
    }


def holidays() -> tuple:
    return settings.FILING_HOLIDAYS, settings.FILING_WORKDAYS


def request_queue(building_ids, *, open_only: bool = True) -> list[tuple[RightsRequest, object]]:
    today = timezone.localdate(portal_clock.now())
    queryset = RightsRequest.objects.filter(building_id__in=building_ids).select_related(
        "person", "building"
    )
    if open_only:
        queryset = queryset.filter(status=RightsRequest.OPEN)
    return [(r, rules.clock(r.due_on, today, *holidays())) for r in queryset.order_by("due_on")]


def filing_rows() -> list[dict]:
    rows = []
    for filing in Filing.objects.select_related("recorded_by").order_by("filed_on", "id"):
        due = rules.filing_due_on(filing.duty_arose_on, *holidays())
        rows.append(
            {
                "filing": filing,
                "due_on": due,
                "on_time": filing.filed_on <= due,
                "working_days_taken": rules.working_days_between(
                    filing.duty_arose_on, filing.filed_on, *holidays()
                ),
            }
        )
    return rows


def filing_duty():
    """The initial filing's clock while the threshold was reached and no initial filing
    followed: (status, clock) or None."""
    from recognition.reporting import dashboard

    status, _crossing = dashboard.filing_figures(portal_clock.now())
    if status.reached_on is None:
        return None
    filed = Filing.objects.filter(kind=Filing.INITIAL, duty_arose_on__gte=status.reached_on)
    if filed.exists():
        return None
    today = timezone.localdate(portal_clock.now())
    return status, rules.clock(status.deadline, today, *holidays())


def filings_json() -> list[dict]:
    return [
        {
            "id": row["filing"].pk,
            "kind": row["filing"].kind,
            "duty_arose_on": when(row["filing"].duty_arose_on),
            "filed_on": when(row["filing"].filed_on),
            "due_on": when(row["due_on"]),
            "on_time": row["on_time"],
            "reference": row["filing"].reference,
            "authority": row["filing"].authority,
            "note": row["filing"].note,
            "recorded_at": when(row["filing"].recorded_at),
            "recorded_by": row["filing"].recorded_by.username
            if row["filing"].recorded_by
            else None,
        }
        for row in filing_rows()
    ]


def public_purposes(building):
    """Active purposes of a building with their current notice, for the public rules page."""
    return list(
        Purpose.objects.active()
        .filter(building=building)
        .select_related("current_notice")
        .order_by("name", "id")
    )
