"""The scheduled safety net: every lapsed face template and every attempt log past its retention
is deleted, set-based, in short batches, with one purge record per run, reason and building.

Which templates lapse, and why, is `policy.lapse_reason`; its query forms (`LAPSE_SQL` for a
whole table at once, `lapsed_by_reason` for every database) are in `recognition.policy_query`.
On PostgreSQL a run is:

1. one `CREATE TEMPORARY TABLE ... AS SELECT` that classifies every template with hash joins
   (on parallel workers where the server allows) and keeps (n, id, created_at, reason) of the
   lapsed ones: one pass over the table, nothing sent to Python;
2. batches of `DELETE ... USING` over that list by n, each its own short transaction, which
   take the audit chain's lock first (the order every writer of face data follows, so a
   withdrawal deleting the same template at the same moment cannot deadlock with the batch),
   lock the rows with `FOR UPDATE SKIP LOCKED`, spare a row re-enrolled meanwhile (its
   created_at moved) and return only counts per (reason, building, purpose). A purge running
   at the same time skips the rows this one holds, and a row is counted by the run that
   deleted it, so two runs never count a template twice and never deadlock;
3. batches of the same shape for attempt logs, by the created_at index.

Lapsing is final: a template found lapsed goes even if the person renews or comes back while
the run is going, because it was collected under the consent that lapsed; a new consent needs
a new enrolment. Only a template enrolled again meanwhile (a new one in the same row) stays.

Every batch updates the run's purge records and announces `templates_deleted` in its own
transaction, so a run stopped half-way has recorded exactly what it deleted. Other databases
(the embedded SQLite demo) take a portable path with the same rules through the ORM, reason by
reason, judging each row when it is deleted.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    F,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent import rules as consent_rules
from consent.models import Consent
from portal import audit, clock
from recognition import policy, policy_query
from recognition.lifecycle import datakeys
from recognition.models import Attempt, FaceTemplate, PurgeRecord, ThresholdCrossing
from recognition.reporting import headcount
from recognition.signals import templates_deleted


@dataclass(frozen=True)
class Cutoffs:
    """The instants one run judges by, all taken from the same `now`."""

    now: datetime
    renewal_before: datetime  # a renewal pending since before this has lapsed
    adult_born_by: date  # born after this: under 14, a guardian must have granted
    attempts_before: datetime  # attempt logs older than this go

    @classmethod
    def at(cls, now: datetime) -> "Cutoffs":
        return cls(
            now=now,
            renewal_before=now - timedelta(days=settings.RENEWAL_GRACE_DAYS),
            adult_born_by=consent_rules.adult_born_on_or_before(timezone.localdate(now)),
            attempts_before=now - timedelta(days=settings.ATTEMPT_RETENTION_DAYS),
        )

    def params(self) -> dict:
        return policy_query.lapse_params(self.now, self.renewal_before, self.adult_born_by)


# -- the rule as SQL (PostgreSQL): policy_query.LAPSE_SQL ----------------------------------

# CREATE TABLE AS (unlike INSERT ... SELECT) may run the classifying scan on parallel workers.
_CLASSIFY = f"""
CREATE TEMPORARY TABLE purge_lapsed AS
SELECT row_number() OVER (ORDER BY id) AS n, id, created_at, reason
FROM ({policy_query.LAPSE_SQL}) AS classified
WHERE reason IS NOT NULL
"""  # noqa: S608 (constant text; every value is a bound parameter)

# A template found lapsed is deleted unless its row was re-enrolled since (a fresh template
# under a fresh consent). Consent or membership changes after the classification do not save
# it: the data was collected under a consent that lapsed, and a new consent needs a new
# enrolment (policy.lapse_reason).
_DELETE_TEMPLATES = """
WITH doomed AS (
    SELECT t.id, l.reason, t.building_id, t.purpose_id
    FROM pg_temp.purge_lapsed l
    JOIN recognition_facetemplate t ON t.id = l.id
    WHERE l.n > %(after)s AND l.n <= %(upto)s AND t.created_at = l.created_at
    FOR UPDATE OF t SKIP LOCKED
), gone AS (
    DELETE FROM recognition_facetemplate t USING doomed d WHERE t.id = d.id
    RETURNING d.reason, d.building_id, d.purpose_id
)
SELECT reason, building_id, purpose_id, count(*) FROM gone GROUP BY 1, 2, 3
"""

_DELETE_ATTEMPTS = """
WITH doomed AS (
    SELECT id, building_id FROM recognition_attempt
    WHERE created_at < %(before)s
    ORDER BY created_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM recognition_attempt a USING doomed d WHERE a.id = d.id RETURNING d.building_id
)
SELECT building_id, count(*) FROM gone GROUP BY 1
"""


# -- the rule as querysets (every database; also the portable purge) ----------------------


def lapsed_by_reason(now: datetime) -> list[tuple[str, object]]:
    """(reason, queryset of templates lapsed for it) in attribution order, judged at `now`
    (`policy_query.lapsed_by_reason` with this deployment's grace period)."""
    cut = Cutoffs.at(now)
    return policy_query.lapsed_by_reason(now, cut.renewal_before, cut.adult_born_by)


# -- the run -------------------------------------------------------------------------------


class _Run:
    """One purge run: its records, updated in the transaction of each batch."""

    def __init__(self, trigger: str) -> None:
        self.trigger = trigger
        self.run_id = uuid.uuid4()
        self.started = clock.now()
        self.cutoffs = Cutoffs.at(self.started)
        self.templates: Counter[str] = Counter()
        self.attempts = 0
        self._records: dict[tuple[str, int | None], int] = {}

    def account(self, deleted: Counter, field: str = "templates_deleted") -> None:
        """Adds {(reason, building_id): count} to `field` of this run's records, in two
        statements at most; call inside the transaction of the batch that deleted them."""
        now = clock.now()
        new = [key for key in deleted if key not in self._records]
        old = [key for key in deleted if key in self._records]
        if new:
            created = PurgeRecord.objects.bulk_create(
                PurgeRecord(
                    run_id=self.run_id,
                    building_id=building_id,
                    reason=reason,
                    started_at=self.started,
                    finished_at=now,
                    trigger=self.trigger,
                    **{field: deleted[(reason, building_id)]},
                )
                for reason, building_id in new
            )
            self._records.update({key: record.pk for key, record in zip(new, created, strict=True)})
        if old:
            added = Case(
                *(When(pk=self._records[key], then=Value(deleted[key])) for key in old),
                default=Value(0),
            )
            PurgeRecord.objects.filter(pk__in=[self._records[key] for key in old]).update(
                **{field: F(field) + added}, finished_at=now
            )
        for (reason, _building_id), count in deleted.items():
            if reason == PurgeRecord.ATTEMPT_LOGS:
                self.attempts += count
            else:
                self.templates[reason] += count

    def templates_gone(self, rows) -> None:
        """rows: (reason, building_id, purpose_id, count) of one batch, in its transaction."""
        if not rows:
            return
        deleted: Counter[tuple[str, int | None]] = Counter()
        for reason, building_id, _purpose_id, count in rows:
            deleted[(reason, building_id)] += count
        self.account(deleted)
        templates_deleted.send(
            sender=FaceTemplate,
            pairs={(building_id, purpose_id) for _r, building_id, purpose_id, _n in rows},
            reasons=frozenset(reason for reason, *_rest in rows),
        )

    def attempts_gone(self, rows) -> None:
        """rows: (building_id, count) of one batch of attempt logs, in its transaction."""
        self.account(
            Counter({(PurgeRecord.ATTEMPT_LOGS, b): n for b, n in rows}), "attempts_deleted"
        )

    def finish(self) -> dict:
        """Zero records for reasons that deleted nothing, the audit entry; returns counts."""
        with transaction.atomic():
            seen = {reason for reason, _building_id in self._records}
            self.account(
                Counter(
                    {
                        (reason, None): 0
                        for reason in (*policy.LAPSE_REASONS, PurgeRecord.ATTEMPT_LOGS)
                        if reason not in seen
                    }
                )
            )
            counts = {reason: self.templates[reason] for reason in policy.LAPSE_REASONS}
            counts[PurgeRecord.ATTEMPT_LOGS] = self.attempts
            if any(counts.values()):
                audit.record("face.purged", data={"trigger": self.trigger, **counts})
        return counts


def _purge_postgresql(run: _Run, batch: int) -> None:
    params = run.cutoffs.params()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.purge_lapsed")
        cursor.execute(_CLASSIFY, params)
        lapsed = cursor.rowcount
        cursor.execute("CREATE UNIQUE INDEX ON pg_temp.purge_lapsed (n)")
        cursor.execute("ANALYZE pg_temp.purge_lapsed")
        for after in range(0, lapsed, batch):
            with transaction.atomic():
                # Every writer of face data takes the audit chain's lock before any template
                # row (consent writers hold it already; the template count triggers take it):
                # locking rows first could deadlock with a withdrawal deleting the same row.
                audit._lock_chain()
                cursor.execute(_DELETE_TEMPLATES, {**params, "after": after, "upto": after + batch})
                run.templates_gone(cursor.fetchall())
        cursor.execute("DROP TABLE pg_temp.purge_lapsed")
        while True:
            with transaction.atomic():
                cursor.execute(
                    _DELETE_ATTEMPTS, {"before": run.cutoffs.attempts_before, "batch": batch}
                )
                rows = cursor.fetchall()
                run.attempts_gone(rows)
            if sum(count for _building, count in rows) < batch:
                return


def _purge_portable(run: _Run, batch: int) -> None:
    """The same rules through the ORM, reason by reason (the embedded SQLite demo)."""
    from django.db.models import Count

    for reason, lapsed in lapsed_by_reason(run.started):
        while True:
            with transaction.atomic():
                chosen = FaceTemplate.objects.filter(
                    pk__in=Subquery(lapsed.order_by("pk").values("pk")[:batch])
                )
                rows = [
                    (reason, row["building_id"], row["purpose_id"], row["n"])
                    for row in chosen.values("building_id", "purpose_id").annotate(n=Count("pk"))
                ]
                deleted = chosen.delete()[0]
                run.templates_gone(rows)
            if deleted < batch:
                break
    while True:
        with transaction.atomic():
            old = Attempt.objects.filter(created_at__lt=run.cutoffs.attempts_before)
            chosen = Attempt.objects.filter(
                pk__in=Subquery(old.order_by("created_at").values("pk")[:batch])
            )
            rows = list(chosen.values_list("building_id").annotate(n=Count("pk")))
            deleted = chosen.delete()[0]
            run.attempts_gone(rows)
        if deleted < batch:
            return


def purge_lapsed_templates(trigger: str = PurgeRecord.MANUAL, *, portable=None) -> dict:
    """Deletes every lapsed template and every attempt log past retention.

    Returns {reason: templates deleted, ..., "attempt_logs": attempt rows deleted}; safe to
    run while another run is going (each row is deleted and counted by exactly one run).
    """
    run = _Run(trigger)
    batch = settings.PURGE_BATCH_SIZE
    if portable is None:
        portable = connection.vendor != "postgresql"
    if portable:
        _purge_portable(run, batch)
    else:
        _purge_postgresql(run, batch)
    with transaction.atomic():
        audit._lock_chain()  # an enrolment meanwhile keeps (or makes) its person's key
        datakeys.sweep()  # the purged people's data keys go with their last template
        datakeys.sweep_gallery_keys()  # and snapshot keys whose snapshot is gone
    with transaction.atomic():
        # Face data that predates the record of the filing threshold (or a threshold reached
        # before it was kept) is recorded by the scheduled run, not by a page showing the count.
        headcount.note_headcount(ThresholdCrossing.CHECK)
    return run.finish()


def summary_line(counts: dict) -> str:
    """One line for people: templates and log rows purged, per reason."""
    counts = dict(counts)
    attempts = counts.pop(PurgeRecord.ATTEMPT_LOGS, 0)
    per_reason = ", ".join(f"{reason} {n}" for reason, n in counts.items())
    return (
        f"Purged {sum(counts.values())} face templates ({per_reason}) "
        f"and {attempts} attempt log rows."
    )


# -- what admins and residents see ---------------------------------------------------------


UNTIL_WITHDRAWN = _("until you withdraw or leave")
DEADLINE_TEXT = {
    policy.RETENTION: _("when the purpose's retention period ends"),
    policy.CONSENT_EXPIRED: _("when your consent expires"),
    policy.RENEWAL_LAPSED: _("unless you renew your consent for the changed notice"),
}


def face_template_items(person) -> list[dict]:
    """The person's templates, each with when (`lapses_at`, None if no date is fixed) and why
    (`lapses`, words for people) it will be deleted at the latest."""
    consents = {
        c.purpose_id: c
        for c in Consent.objects.filter(person=person, status=consent_rules.GRANTED).only(
            "purpose_id", "expires_at", "renewal_needed_at"
        )
    }
    items = []
    templates = FaceTemplate.objects.filter(person=person).select_related("purpose__building")
    for template in templates.order_by("purpose__name", "pk"):
        consent = consents.get(template.purpose_id)
        when, why = policy.template_deadline(
            template_lapses_at=template.lapses_at,
            consent_expires_at=consent.expires_at if consent else None,
            renewal_needed_at=consent.renewal_needed_at if consent else None,
            renewal_grace_days=settings.RENEWAL_GRACE_DAYS,
        )
        items.append(
            {
                "purpose": template.purpose.name,
                "building": template.purpose.building.name,
                "model": template.model_id,
                "enrolled_at": template.created_at,
                "lapses_at": when,
                "lapses": DEADLINE_TEXT[why] if why else UNTIL_WITHDRAWN,
            }
        )
    return items


def upcoming_lapses(building_ids, now: datetime | None = None, days: int = 30) -> list[dict]:
    """Templates that lapse by the calendar within `days`, counted per building, purpose, day
    and reason (no person, no template): [{building, purpose, day, reason, templates}].

    Days in the past mean "at the next purge run".
    """
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    now = now or clock.now()
    horizon = now + timedelta(days=days)
    marks = policy_query.deadline_annotations(settings.RENEWAL_GRACE_DAYS)
    rows = (
        FaceTemplate.objects.filter(building_id__in=list(building_ids))
        .annotate(deadline=marks["deadline"])
        .filter(deadline__lte=horizon)
        .annotate(
            reason=policy_query.deadline_reason(marks),
            day=TruncDate("deadline", tzinfo=timezone.get_current_timezone()),
        )
        .values("building__name", "purpose__name", "purpose_id", "day", "reason")
        .annotate(templates=Count("pk"))
        .order_by("day", "building__name", "purpose__name", "reason")
    )
    labels = dict(PurgeRecord.REASON_CHOICES)
    return [
        {
            "building": row["building__name"],
            "purpose": row["purpose__name"],
            "purpose_id": row["purpose_id"],
            "day": row["day"],
            "reason": row["reason"],
            "reason_label": labels[row["reason"]],
            "templates": row["templates"],
        }
        for row in rows
    ]


def recent_purges(building_ids=None, limit: int = 50):
    """Purge records newest first, with something deleted; only of `building_ids` if given.

    Records of runs that deleted nothing (building empty, zero counts) are left out; see
    `last_scheduled_run` for when the schedule last ran.
    """
    records = PurgeRecord.objects.filter(
        Q(templates_deleted__gt=0) | Q(attempts_deleted__gt=0)
    ).select_related("building")
    if building_ids is not None:
        records = records.filter(building_id__in=list(building_ids))
    return records.order_by("-finished_at", "-id")[:limit]


def last_scheduled_run() -> datetime | None:
    """When the scheduled purge last finished (any building: a time, nothing else)."""
    record = (
        PurgeRecord.objects.filter(trigger=PurgeRecord.SCHEDULE)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return record
