"""Consent figures for the compliance dashboard and the evidence export: read only, a fixed
number of queries whatever the number of purposes and consents.

- `purpose_statuses`: every purpose of the buildings with what it lacks (an approved impact
  assessment covering its current purpose and method, a published notice), whether its
  assessment is due for review, and its consent figures (three queries).
- `audit_status`: the latest walk over the audit chain and whether entries came after it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max
from django.utils.translation import gettext_lazy as _

from consent import rules
from consent.models import AuditCheck, AuditEntry, Consent, Purpose
from portal import clock

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
    review: str | None  # rules.REVIEW_* or None
    consents: dict[str, int] = field(default_factory=dict)

    @property
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

    @property
    def consent_row(self) -> list[int]:
        return [self.consents.get(key, 0) for key, _label in CONSENT_COLUMNS]

    @property
    def consent_total(self) -> int:
        return sum(self.consents.values())


def consent_figures(purpose_ids: list[int]) -> dict[int, dict[str, int]]:
    """{purpose id: {column: count}} in two grouped queries over the (purpose, status) index
    and the partial index of consents awaiting renewal."""
    figures: dict[int, dict[str, int]] = defaultdict(dict)
    if not purpose_ids:
        return figures
    by_status = (
        Consent.objects.filter(purpose_id__in=purpose_ids)
        .values_list("purpose_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for purpose_id, status, count in by_status:
        figures[purpose_id][status] = count
    renewal = (
        Consent.objects.filter(
            purpose_id__in=purpose_ids, renewal_needed_at__isnull=False, status=rules.GRANTED
        )
        .values_list("purpose_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for purpose_id, count in renewal:
        row = figures[purpose_id]
        row[RENEWAL_NEEDED] = count
        row[GRANTED] = row.get(GRANTED, 0) - count
    return figures


def purpose_statuses(building_ids, now=None) -> list[PurposeStatus]:
    """Every purpose of the buildings with its gaps, review reminder and consent figures."""
    now = now or clock.now()
    purposes = list(
        Purpose.objects.for_buildings(list(building_ids))
        .select_related("building", "current_notice")
        .annotate(latest_approved_at=Max("assessments__approved_at"))
        .order_by("building__name", "name", "id")
    )
    figures = consent_figures([p.pk for p in purposes])
    return [
        PurposeStatus(
            purpose=purpose,
            latest_approved_at=purpose.latest_approved_at,
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
