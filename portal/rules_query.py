"""The query forms of the rules in `portal/rules.py`, one beside each pure form's name: the
same rule as a Q object for querysets and as one SQL fragment for the hand-written statements.
tests/portal/test_rules_query.py runs both forms and the pure one on generated rows."""

from django.db.models import Q


def current_member(prefix: str = "") -> Q:
    """`rules.is_current_member` as a filter on memberships; `prefix` reaches them through a
    relation ("memberships__" from a user)."""
    return Q(**{f"{prefix}left_at__isnull": True})


def current_member_sql(alias: str) -> str:
    """`rules.is_current_member` as SQL over the `portal_membership` row named `alias`."""
    return f"{alias}.left_at IS NULL"
