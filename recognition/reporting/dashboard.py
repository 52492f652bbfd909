"""The compliance dashboard's figures: face data and the filing duty, devices, fallback parity
and purges from recognition, purposes, consents and the audit chain from `consent.dashboard`.

Read only (a GET writes nothing: the filing threshold's crossing is recorded where the count
changes, in `recognition.reporting.headcount`), counts only: no template, embedding, distance or
photo is ever read. A fixed number of queries whatever the number of people, consents, attempts or
purge runs.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent import dashboard as consent_dashboard
from portal import clock
from portal.models import Building
from recognition.lifecycle import purge
from recognition.models import Attempt, Device, PurgeRecord, ThresholdCrossing
from recognition.reporting import filing, headcount, tally

WINDOW_DAYS = 30  # attempts and purges are summed over this many local days, today included
CHANNELS = (
    (Attempt.SIGN_IN, _("portal sign-ins (every building)")),
    (Attempt.DOOR, _("doors of your buildings")),
)
_FACE = (Attempt.FACE, _("face"))
_CODES = (Attempt.CODE, _("without face (codes)"))
# Every way in, per channel: portal sign-ins and door openings each have their own.
METHODS = {
    Attempt.SIGN_IN: (
        _FACE,
        _CODES,
        (Attempt.PASSWORD, _("without face (password only)")),
        (Attempt.PASSKEY, _("without face (passkey)")),
    ),
    Attempt.DOOR: (
        _FACE,
        _CODES,
        (Attempt.CARD, _("without face (access card)")),
        (Attempt.STAFF, _("without face (opened by staff)")),
    ),
}


@dataclass
class ParityRow:
    channel: str
    channel_label: str
    method: str
    method_label: str
    accepted: int
    refused: int

    @property
    def total(self) -> int:
        return self.accepted + self.refused

    @property
    def failure_rate(self) -> float | None:
        """Share of attempts not accepted (None without attempts)."""
        return self.refused / self.total if self.total else None

    @property
    def failure_percent(self) -> float | None:
        return None if self.failure_rate is None else 100 * self.failure_rate


def parity(building_ids, since: datetime) -> list[ParityRow]:
    """Sign-ins and door openings per method, accepted and refused, since `since`.

    Door attempts count by the door's building; portal sign-ins across the portal (a sign-in
    is not tied to a building). Tallied days plus the last minutes counted live.
    """
    counts = tally.parity_counts(building_ids, since)
    rows = []
    for channel, channel_label in CHANNELS:
        for method, method_label in METHODS[channel]:
            numbers = counts.get((channel, method), {})
            rows.append(
                ParityRow(
                    channel=channel,
                    channel_label=str(channel_label),
                    method=method,
                    method_label=str(method_label),
                    accepted=numbers.get("accepted", 0),
                    refused=numbers.get("refused", 0),
                )
            )
    return rows


@dataclass
class PurgeStatus:
    last_run: datetime | None
    next_run: datetime | None
    late: bool  # the scheduled purge should have run again by now
    per_reason: list[dict]


def purge_interval() -> timedelta:
    if settings.PURGE_INTERVAL_SECONDS:
        return timedelta(seconds=settings.PURGE_INTERVAL_SECONDS)
    return timedelta(minutes=settings.PURGE_INTERVAL_MINUTES)


def purge_status(building_ids, since: datetime, now: datetime) -> PurgeStatus:
    last_run = purge.last_scheduled_run()
    interval = purge_interval()
    next_run = last_run + interval if last_run else None
    sums = {
        row["reason"]: row
        for row in PurgeRecord.objects.filter(building_id__in=building_ids, finished_at__gte=since)
        .values("reason")
        .annotate(templates=Sum("templates_deleted"), attempts=Sum("attempts_deleted"))
        .order_by()
    }
    per_reason = [
        {
            "reason": reason,
            "label": label,
            "templates": (sums.get(reason) or {}).get("templates") or 0,
            "attempts": (sums.get(reason) or {}).get("attempts") or 0,
        }
        for reason, label in PurgeRecord.REASON_CHOICES
    ]
    return PurgeStatus(
        last_run=last_run,
        next_run=next_run,
        # Twice the interval: one missed beat is noise, two mean the scheduler is not running.
        late=last_run is None or now - last_run > 2 * interval,
        per_reason=per_reason,
    )


@dataclass
class DeviceFigures:
    active: int
    revoked: int
    silent: int  # active, but no contact in the last day
    last_contact: datetime | None


def device_figures(building_ids, now: datetime) -> DeviceFigures:
    day_ago = now - timedelta(days=1)
    row = Device.objects.filter(building_id__in=building_ids).aggregate(
        active=Count("id", filter=Q(revoked_at__isnull=True)),
        revoked=Count("id", filter=Q(revoked_at__isnull=False)),
        silent=Count(
            "id",
            filter=Q(revoked_at__isnull=True)
            & (Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=day_ago)),
        ),
        last_contact=Max("last_contact_at"),
    )
    return DeviceFigures(**row)


def filing_figures(now: datetime) -> tuple[filing.FilingStatus, ThresholdCrossing | None]:
    """The whole operator's distinct people with face data, against the filing threshold.

    Reads only: the day the threshold was reached is recorded where the count changes (the
    enrolment that reaches it, or the scheduled purge for data that predates the record); a
    count over the threshold that nothing has recorded yet counts from today.
    """
    people = headcount.people_with_face_data()
    recorded = headcount.crossing()
    status = filing.filing_status(
        people,
        today=timezone.localdate(now),
        reached_on=recorded.reached_on if recorded else None,
        threshold=settings.FILING_THRESHOLD,
        warning_from=settings.FILING_WARNING_FROM,
        holidays=settings.FILING_HOLIDAYS,
        workdays=settings.FILING_WORKDAYS,
    )
    return status, recorded


@dataclass
class Dashboard:
    now: datetime
    since: datetime
    buildings: list[Building]
    filing: filing.FilingStatus
    crossing: ThresholdCrossing | None
    purposes: list[consent_dashboard.PurposeStatus]
    parity: list[ParityRow]
    purges: PurgeStatus
    devices: DeviceFigures
    audit: consent_dashboard.AuditStatus

    @cached_property
    def not_ready(self) -> list[consent_dashboard.PurposeStatus]:
        return [p for p in self.purposes if p.missing]

    @cached_property
    def reviews_due(self) -> list[consent_dashboard.PurposeStatus]:
        return [p for p in self.purposes if p.review_due]

    @property
    def consent_columns(self):
        return consent_dashboard.CONSENT_COLUMNS


def build(building_ids, now=None) -> Dashboard:
    now = now or clock.now()
    building_ids = list(building_ids)
    since = tally.window_start(now, WINDOW_DAYS)
    status, recorded = filing_figures(now)
    return Dashboard(
        now=now,
        since=since,
        buildings=list(Building.objects.filter(pk__in=building_ids).order_by("name")),
        filing=status,
        crossing=recorded,
        purposes=consent_dashboard.purpose_statuses(building_ids, now),
        parity=parity(building_ids, since),
        purges=purge_status(building_ids, since, now),
        devices=device_figures(building_ids, now),
        audit=consent_dashboard.audit_status(),
    )
