"""Consent figures for the compliance dashboard and the evidence export: read only, a fixed
number of queries whatever the number of purposes and consents.

- `purpose_statuses`: every purpose of the buildings with what it lacks (an approved impact
  assessment covering its current purpose and method, a published notice), whether its
  assessment is due for review, and its consent figures (two queries: the counts are kept by
  PostgreSQL triggers, `ConsentCount`).
- `audit_status`: the latest walk over the audit chain and whether entries came after it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Max, Q
from django.utils.translation import gettext_lazy as _

from consent import rules
from consent.models import Consent, ConsentCount, Purpose
from portal import clock
from portal.models import AuditCheck, AuditEntry

# Consent figures per purpose, in the order shown.
GRANTED = "granted"  # granted and not awaiting renewal
RENEWAL_NEEDED = "renewal_needed"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
ENDED = "ended"
CONSENT_COLUMNS = (
    (GRANTED, _("granted")),
    (RENEWAL_NEEDED, _("renewal needed")),
    (REFUSED, _("refused")),
    (WITHDRAWN, _("withdrawn")),
    (ENDED, _("ended (left)")),
)

REVIEW_LABELS = {
    rules.REVIEW_MISSING: _("no approved impact assessment"),
    rules.REVIEW_SCOPE_CHANGED: _("the purpose or method changed since the last approval"),
    rules.REVIEW_AGE: _("the last approval is older than the review period"),
}
MISSING_LABELS = {
    "assessment": _("an approved impact assessment covering the current purpose and method"),
    "notice": _("a published notice"),
}


@dataclass
class PurposeStatus:
    purpose: Purpose
    latest_approved_at: datetime | None
    notice_version: int | None
    review: str | None  # rules.REVIEW_* or None
    consents: dict[str, int] = field(default_factory=dict)

    @cached_property
    def missing(self) -> list[str]:
        """What the purpose lacks to be (or stay) lawfully active; empty once retired."""
        if self.purpose.status == rules.RETIRED:
            return []
        return rules.activation_missing(
            has_approved_assessment=self.review
            not in (rules.REVIEW_MISSING, rules.REVIEW_SCOPE_CHANGED),
            has_published_notice=self.purpose.current_notice_id is not None,
        )

    @property
    def missing_labels(self) -> list[str]:
        return [str(MISSING_LABELS[m]) for m in self.missing]

    @property
    def review_label(self) -> str:
        return str(REVIEW_LABELS[self.review]) if self.review else ""

    @property
    def review_due(self) -> bool:
        return self.review is not None and self.purpose.status != rules.RETIRED

    @cached_property
    def consent_row(self) -> list[int]:
        return [self.consents.get(key, 0) for key, _label in CONSENT_COLUMNS]

    @property
    def consent_total(self) -> int:
        return sum(self.consents.values())


def counted_rows(purpose_ids) -> list[tuple[int, str, bool, int]]:
    """(purpose, status, awaiting renewal, count) from the counts PostgreSQL keeps."""
    return list(
        ConsentCount.objects.filter(purpose_id__in=purpose_ids, count__gt=0).values_list(
            "purpose_id", "status", "awaiting_renewal", "count"
        )
    )


def live_rows(purpose_ids) -> list[tuple[int, str, bool, int]]:
    """The same, counted from the consents themselves."""
    awaiting = ExpressionWrapper(Q(renewal_needed_at__isnull=False), output_field=BooleanField())
    return list(
        Consent.objects.filter(purpose_id__in=purpose_ids)
        .annotate(awaiting_renewal=awaiting)
        .values_list("purpose_id", "status", "awaiting_renewal")
        .annotate(n=Count("id"))
        .order_by()
    )


def consent_figures(purpose_ids: list[int]) -> dict[int, dict[str, int]]:
    """{purpose id: {column: count}}: one small query over the counts PostgreSQL keeps
    (`ConsentCount`); elsewhere (the SQLite demo) one grouped query over the consents."""
    figures: dict[int, dict[str, int]] = defaultdict(dict)
    if not purpose_ids:
        return figures
    rows = (
        counted_rows(purpose_ids) if connection.vendor == "postgresql" else live_rows(purpose_ids)
    )
    for purpose_id, status, awaiting_renewal, count in rows:
        row = figures[purpose_id]
        column = RENEWAL_NEEDED if awaiting_renewal and status == rules.GRANTED else status
        row[column] = row.get(column, 0) + count
    return figures


def purpose_statuses(building_ids, now=None, purpose_ids=None) -> list[PurposeStatus]:
    """Every purpose of the buildings (or only `purpose_ids` of them) with its gaps, review
    reminder and consent figures."""
    now = now or clock.now()
    purposes = Purpose.objects.for_buildings(list(building_ids))
    if purpose_ids is not None:
        purposes = purposes.filter(pk__in=list(purpose_ids))
    purposes = list(
        purposes.select_related("building")  # not the notice: its texts are large
        .only(
            "name",
            "method",
            "status",
            "building__name",
            "current_notice_id",
            "needs_assessment_after",
        )
        .annotate(
            latest_approved_at=Max("assessments__approved_at"),
            notice_version=F("current_notice__version"),
        )
        .order_by("building__name", "name", "id")
    )
    figures = consent_figures([p.pk for p in purposes])
    return [
        PurposeStatus(
            purpose=purpose,
            latest_approved_at=purpose.latest_approved_at,
            notice_version=purpose.notice_version,
            review=rules.assessment_review(
                latest_approved_at=purpose.latest_approved_at,
                needs_assessment_after=purpose.needs_assessment_after,
                now=now,
                review_days=settings.ASSESSMENT_REVIEW_DAYS,
            ),
            consents=dict(figures.get(purpose.pk, {})),
        )
        for purpose in purposes
    ]


@dataclass
class AuditStatus:
    check: AuditCheck | None
    latest_entry_id: int | None

    @property
    def intact(self) -> bool | None:
        return None if self.check is None else self.check.intact

    @property
    def unchecked_entries(self) -> bool:
        """Entries were appended after the latest check (they are checked by the next one)."""
        if self.latest_entry_id is None:
            return False
        if self.check is None or self.check.last_entry_id is None:
            return True
        return self.latest_entry_id > self.check.last_entry_id


def audit_status() -> AuditStatus:
    return AuditStatus(
        check=AuditCheck.objects.order_by("-finished_at", "-id").first(),
        latest_entry_id=AuditEntry.objects.order_by("-id").values_list("id", flat=True).first(),
    )
