""" "Consent is active": the pure form (`consent.rules.effective_state(...) == STATE_ACTIVE`) and
its query forms (`consent.rules_query.active` as a Q object, `ACTIVE_SQL` as SQL) give the same
answer on generated rows, boundary instants and a person turning 14 tomorrow included."""

import pytest
from django.db import connection
from django.utils import timezone

from consent import rules, rules_query
from consent.models import Consent
from tests.rule_cases import generate

pytestmark = pytest.mark.django_db


def _pure_active(consent: Consent, now) -> bool:
    today = timezone.localdate(now)
    return (
        rules.effective_state(
            consent.status,
            now=now,
            renewal_needed_at=consent.renewal_needed_at,
            expires_at=consent.expires_at,
            purpose_status=consent.purpose.status,
            guardian_needed=rules.guardian_required(consent.person.birth_date, today),
            granted_by_guardian=consent.granted_by_id is not None,
        )
        == rules.STATE_ACTIVE
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_active_consent_is_the_same_rule_in_python_in_querysets_and_in_sql(
    building_a, building_b, seed
):
    cases = generate(building_a, building_b, seed=seed)
    now = cases.now
    adult_born_by = rules.adult_born_on_or_before(timezone.localdate(now))
    consents = list(Consent.objects.select_related("purpose", "person"))
    pure = {c.pk for c in consents if _pure_active(c, now)}
    assert 0 < len(pure) < len(consents)

    by_q = Consent.objects.filter(rules_query.active(now, adult_born_by))
    assert set(by_q.values_list("pk", flat=True)) == pure
    assert set(Consent.objects.active(now).values_list("pk", flat=True)) == pure
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id FROM consent_consent c"  # noqa: S608 (constant text)
            " JOIN consent_purpose p ON p.id = c.purpose_id"
            " JOIN portal_user person ON person.id = c.person_id"
            f" WHERE {rules_query.ACTIVE_SQL}",
            rules_query.active_params(now, adult_born_by),
        )
        assert {pk for (pk,) in cursor.fetchall()} == pure


def test_the_sql_cutoff_for_children_is_the_guardian_rule_on_every_day_of_a_leap_cycle():
    """`adult_born_on_or_before` (what the query forms compare with) says "under 14" exactly
    when `guardian_required` does, 29 February included."""
    from datetime import date, timedelta

    day = date(2026, 1, 1)  # 2012 and 2016 births: 29 February turns 14 in 2026 and 2030
    while day < date(2031, 1, 1):
        cutoff = rules.adult_born_on_or_before(day)
        for birth in (cutoff - timedelta(days=1), cutoff, cutoff + timedelta(days=1)):
            assert rules.guardian_required(birth, day) is (birth > cutoff), (day, birth)
        day += timedelta(days=1)
