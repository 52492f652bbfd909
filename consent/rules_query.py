"""The query forms of the rules in `consent/rules.py`, each under the pure form's name: the same
rule as a Q object for querysets and as one SQL fragment for the hand-written statements of
the door check and the purge. tests/consent/test_rules_query.py runs the three forms on
generated rows of PostgreSQL and demands the same answer."""

from datetime import date, datetime

from django.db.models import Q

from consent import rules


def active(now: datetime, adult_born_by: date, prefix: str = "") -> Q:
    """`rules.effective_state(...) == rules.STATE_ACTIVE` as a filter on consents: granted, not
    awaiting renewal, not expired, for an active purpose; a person under 14 (born after
    `adult_born_by`, `rules.adult_born_on_or_before`) only with a guardian's grant. `prefix`
    reaches the consents through a relation."""
    return Q(
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now}),
        Q(**{f"{prefix}granted_by__isnull": False})
        | Q(**{f"{prefix}person__birth_date__isnull": True})
        | Q(**{f"{prefix}person__birth_date__lte": adult_born_by}),
        **{
            f"{prefix}status": rules.GRANTED,
            f"{prefix}renewal_needed_at__isnull": True,
            f"{prefix}purpose__status": rules.ACTIVE,
        },
    )


# The same over a `consent_consent` row `c`, its `consent_purpose` row `p` and its person's
# `portal_user` row `person`; parameters from `active_params`.
ACTIVE_SQL = """(
    c.status = %(granted)s AND c.renewal_needed_at IS NULL
    AND (c.expires_at IS NULL OR c.expires_at > %(now)s)
    AND p.status = %(active)s
    AND (c.granted_by_id IS NOT NULL OR person.birth_date IS NULL
         OR person.birth_date <= %(adult_born_by)s)
)"""


def active_params(now: datetime, adult_born_by: date) -> dict[str, object]:
    return {
        "now": now,
        "adult_born_by": adult_born_by,
        "granted": rules.GRANTED,
        "active": rules.ACTIVE,
    }
