"""The query forms of the rules in `recognition/policy.py`, each under the pure form's name:
"a template has lapsed" (`policy.lapse_reason`, `policy.template_deadline`,
`policy.retention_over`) as one SQL statement for the PostgreSQL purge, as querysets for every
database, and as annotations for the deadlines people and admins see.

tests/recognition/test_policy_query.py runs every form and the pure one on generated rows of
PostgreSQL and demands the same answer.
"""

from datetime import UTC, date, datetime, timedelta

from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least

from consent import rules as consent_rules
from consent.models import Consent
from portal.models import Membership
from portal.rules_query import current_member, current_member_sql
from recognition import policy
from recognition.models import FaceTemplate

# -- policy.retention_over ----------------------------------------------------------------


def retention_runs(now: datetime) -> Q:
    """Templates whose own retention has not ended: `not policy.retention_over(...)`."""
    return Q(lapses_at__isnull=True) | Q(lapses_at__gt=now)


# The same over a `recognition_facetemplate` row `t`.
RETENTION_RUNS_SQL = "(t.lapses_at IS NULL OR t.lapses_at > %(now)s)"


# -- policy.lapse_reason ------------------------------------------------------------------

# Every template with its reason (NULL: kept), first matching reason wins, in one statement so
# that the planner can hash-join the whole table once. Parameters from `lapse_params`.
LAPSE_SQL = f"""
SELECT t.id, t.created_at,
    CASE
        WHEN p.status = %(retired)s THEN %(purpose_retired)s
        WHEN m.user_id IS NULL THEN %(person_left)s
        WHEN c.status IS DISTINCT FROM %(granted)s THEN %(withdrawn)s
        WHEN c.expires_at <= %(now)s THEN %(consent_expired)s
        WHEN c.renewal_needed_at <= %(renewal_before)s THEN %(renewal_lapsed)s
        WHEN t.lapses_at <= %(now)s THEN %(retention)s
        WHEN p.status <> %(active)s OR (minor.id IS NOT NULL AND c.granted_by_id IS NULL)
            THEN %(consent_inactive)s
    END AS reason
FROM recognition_facetemplate t
JOIN consent_purpose p ON p.id = t.purpose_id
LEFT JOIN consent_consent c ON c.person_id = t.person_id AND c.purpose_id = t.purpose_id
LEFT JOIN (
    SELECT DISTINCT user_id, building_id FROM portal_membership pm
    WHERE {current_member_sql("pm")}
) m ON m.user_id = t.person_id AND m.building_id = t.building_id
LEFT JOIN portal_user minor ON minor.id = t.person_id AND minor.birth_date > %(adult_born_by)s
"""  # noqa: S608 (constant text; every value is a bound parameter)


def lapse_params(now: datetime, renewal_before: datetime, adult_born_by: date) -> dict[str, object]:
    """The parameters of `LAPSE_SQL`: `renewal_before` is `now` less the renewal grace period,
    `adult_born_by` is `consent_rules.adult_born_on_or_before(local date of now)`."""
    return {
        "now": now,
        "renewal_before": renewal_before,
        "adult_born_by": adult_born_by,
        "granted": consent_rules.GRANTED,
        "active": consent_rules.ACTIVE,
        "retired": consent_rules.RETIRED,
        **{reason: reason for reason in policy.LAPSE_REASONS},
    }


def lapsed_by_reason(
    now: datetime, renewal_before: datetime, adult_born_by: date
) -> list[tuple[str, QuerySet[FaceTemplate]]]:
    """(reason, queryset of templates lapsed for it) in attribution order.

    A template can match several; the portable purge deletes reason by reason in this order,
    so it is counted under the first, as `policy.lapse_reason` says.
    """
    member = Membership.objects.filter(
        current_member(), user_id=OuterRef("person_id"), building_id=OuterRef("building_id")
    )
    consent = Consent.objects.filter(
        person_id=OuterRef("person_id"), purpose_id=OuterRef("purpose_id")
    )
    granted = consent.filter(status=consent_rules.GRANTED)
    minor_alone = granted.filter(granted_by__isnull=True, person__birth_date__gt=adult_born_by)
    templates = FaceTemplate.objects.all()
    return [
        (policy.PURPOSE_RETIRED, templates.filter(purpose__status=consent_rules.RETIRED)),
        (policy.PERSON_LEFT, templates.filter(~Exists(member))),
        (policy.WITHDRAWN, templates.filter(~Exists(granted))),
        (policy.CONSENT_EXPIRED, templates.filter(Exists(granted.filter(expires_at__lte=now)))),
        (
            policy.RENEWAL_LAPSED,
            templates.filter(Exists(granted.filter(renewal_needed_at__lte=renewal_before))),
        ),
        (policy.RETENTION, templates.filter(~retention_runs(now))),
        (
            policy.CONSENT_INACTIVE,
            templates.filter(~Q(purpose__status=consent_rules.ACTIVE) | Exists(minor_alone)),
        ),
    ]


# -- policy.template_deadline -------------------------------------------------------------

NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # stands for "no date" where SQL needs a value


def deadline_annotations(renewal_grace_days: int) -> dict[str, Coalesce | Least]:
    """Per template: `deadline` (earliest calendar lapse, `NEVER` for none) and the dates it is
    the least of, `expires` and `renewal_ends` (the template's own `lapses_at` is the third);
    `deadline_reason` says which, with ties going to the reason the purge would record."""
    grace = timedelta(days=renewal_grace_days)
    far = Value(NEVER)
    granted = Consent.objects.filter(
        person_id=OuterRef("person_id"),
        purpose_id=OuterRef("purpose_id"),
        status=consent_rules.GRANTED,
    )
    expires = Coalesce(Subquery(granted.values("expires_at")[:1]), far)
    renewal_ends = Coalesce(
        ExpressionWrapper(
            Subquery(granted.values("renewal_needed_at")[:1]) + Value(grace),
            output_field=DateTimeField(),
        ),
        far,
    )
    retention = Coalesce(F("lapses_at"), far)
    return {
        "deadline": Least(expires, renewal_ends, retention, output_field=DateTimeField()),
        "expires": expires,
        "renewal_ends": renewal_ends,
    }


def deadline_reason(marks: dict[str, Coalesce | Least]) -> Case:
    """Why the annotated `deadline` falls when it does (after `deadline_annotations`)."""
    return Case(
        When(deadline=marks["expires"], then=Value(policy.CONSENT_EXPIRED)),
        When(deadline=marks["renewal_ends"], then=Value(policy.RENEWAL_LAPSED)),
        default=Value(policy.RETENTION),
    )
