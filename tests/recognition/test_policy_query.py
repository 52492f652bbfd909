""" "A template has lapsed": the pure forms (`policy.lapse_reason`, `policy.retention_over`,
`policy.template_deadline`) and their query forms (`recognition.policy_query`: the one SQL
statement of the PostgreSQL purge, the querysets of the portable purge, the deadline
annotations) give the same answer, reason included, on generated rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from consent import rules as consent_rules
from consent.models import Consent
from portal import rules as portal_rules
from portal.models import Membership
from recognition import policy, policy_query
from recognition.models import FaceTemplate
from tests.rule_cases import generate

pytestmark = pytest.mark.django_db


def _pure(cases):
    """{template id: (reason or None, (deadline, why))} by the pure forms alone."""
    now = cases.now
    today = timezone.localdate(now)
    consents = {(c.person_id, c.purpose_id): c for c in Consent.objects.all()}
    current = {
        (m.user_id, m.building_id)
        for m in Membership.objects.all()
        if portal_rules.is_current_member(m.left_at)
    }
    judged = {}
    for t in FaceTemplate.objects.select_related("purpose", "person"):
        consent = consents.get((t.person_id, t.purpose_id))
        granted = consent if consent and consent.status == consent_rules.GRANTED else None
        reason = policy.lapse_reason(
            now=now,
            renewal_grace_days=cases.grace_days,
            purpose_status=t.purpose.status,
            is_member=(t.person_id, t.building_id) in current,
            consent_status=consent.status if consent else None,
            consent_expires_at=consent.expires_at if consent else None,
            renewal_needed_at=consent.renewal_needed_at if consent else None,
            template_lapses_at=t.lapses_at,
            guardian_missing=bool(
                consent
                and consent_rules.guardian_required(t.person.birth_date, today)
                and consent.granted_by_id is None
            ),
        )
        deadline = policy.template_deadline(
            template_lapses_at=t.lapses_at,
            consent_expires_at=granted.expires_at if granted else None,
            renewal_needed_at=granted.renewal_needed_at if granted else None,
            renewal_grace_days=cases.grace_days,
        )
        judged[t.pk] = (reason, deadline, policy.retention_over(t.lapses_at, now))
    return judged


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lapsed_template_is_the_same_rule_in_python_in_querysets_and_in_sql(
    building_a, building_b, seed
):
    cases = generate(building_a, building_b, seed=seed)
    now = cases.now
    renewal_before = now - timedelta(days=cases.grace_days)
    adult_born_by = consent_rules.adult_born_on_or_before(timezone.localdate(now))
    judged = _pure(cases)
    pure = {pk: reason for pk, (reason, _deadline, _over) in judged.items()}
    assert len(set(pure.values())) == len(policy.LAPSE_REASONS) + 1  # every reason, and kept

    with connection.cursor() as cursor:
        cursor.execute(
            policy_query.LAPSE_SQL, policy_query.lapse_params(now, renewal_before, adult_born_by)
        )
        by_sql = {pk: reason for pk, _created_at, reason in cursor.fetchall()}
    assert by_sql == pure

    by_querysets: dict[int, str | None] = dict.fromkeys(pure)
    for reason, lapsed in policy_query.lapsed_by_reason(now, renewal_before, adult_born_by):
        for pk in lapsed.values_list("pk", flat=True):
            by_querysets[pk] = by_querysets[pk] or reason  # the first reason counts
    assert by_querysets == pure

    kept = set(
        FaceTemplate.objects.filter(policy_query.retention_runs(now)).values_list("pk", flat=True)
    )
    assert kept == {pk for pk, (_r, _d, over) in judged.items() if not over}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id FROM recognition_facetemplate t"  # noqa: S608 (constant text)
            f" WHERE {policy_query.RETENTION_RUNS_SQL}",
            {"now": now},
        )
        assert {pk for (pk,) in cursor.fetchall()} == kept


@pytest.mark.parametrize("seed", [1, 2])
def test_the_deadline_shown_is_the_same_rule_in_python_and_in_sql(building_a, building_b, seed):
    cases = generate(building_a, building_b, seed=seed)
    judged = _pure(cases)
    marks = policy_query.deadline_annotations(cases.grace_days)
    rows = FaceTemplate.objects.annotate(
        deadline=marks["deadline"], why=policy_query.deadline_reason(marks)
    ).values_list("pk", "deadline", "why")
    by_sql = {
        pk: (None, None) if deadline == policy_query.NEVER else (deadline, why)
        for pk, deadline, why in rows
    }
    pure = {pk: deadline for pk, (_reason, deadline, _over) in judged.items()}
    assert by_sql == pure
    assert {why for _when, why in pure.values()} == {
        None,
        policy.CONSENT_EXPIRED,
        policy.RENEWAL_LAPSED,
        policy.RETENTION,
    }


def test_a_template_past_its_own_retention_serves_neither_a_door_nor_a_sign_in(
    building_a, staff, sign_in_purpose
):
    """Every user of templates applies the whole rule: a template whose retention ended but
    that the purge has not reached yet opens nothing and signs nobody in."""
    import numpy as np

    from portal import clock
    from recognition.doors import identify
    from recognition.lifecycle.services import store_template, verification_templates
    from tests.factories import grant, make_active_purpose

    door = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION, kind="door_access")
    vector = np.ones(128, dtype=np.float32)
    for purpose in (sign_in_purpose, door):
        grant(staff, purpose)
        store_template(staff, purpose, vector, "test-model")
    signing, opening = (FaceTemplate.objects.get(purpose=p) for p in (sign_in_purpose, door))
    assert list(verification_templates(staff.pk)) == [signing]
    assert identify.usable_templates([opening.pk], building_a.pk, door.pk) == {opening.pk: staff.pk}

    FaceTemplate.objects.update(lapses_at=clock.now())
    assert not verification_templates(staff.pk).exists()
    assert identify.usable_templates([opening.pk], building_a.pk, door.pk) == {}
