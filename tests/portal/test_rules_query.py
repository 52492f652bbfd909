""" "A current member of the building": the pure form (`portal.rules.is_current_member`) and its
query forms (`portal.rules_query`: the Q object, through a relation too, and the SQL fragment)
give the same answer on generated rows."""

import pytest
from django.db import connection

from portal import rules
from portal.models import Membership, User
from portal.rules_query import current_member, current_member_sql
from tests.rule_cases import generate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("seed", [1, 2])
def test_current_membership_is_the_same_rule_in_python_in_querysets_and_in_sql(
    building_a, building_b, seed
):
    cases = generate(building_a, building_b, seed=seed, people=24)
    memberships = list(Membership.objects.all())
    pure = {m.pk for m in memberships if rules.is_current_member(m.left_at)}
    assert 0 < len(pure) < len(memberships)  # both answers occur

    assert set(Membership.objects.filter(current_member()).values_list("pk", flat=True)) == pure
    assert set(Membership.objects.current().values_list("pk", flat=True)) == pure
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id FROM portal_membership m WHERE {current_member_sql('m')}"  # noqa: S608
        )
        assert {pk for (pk,) in cursor.fetchall()} == pure

    for building in cases.buildings:
        members = {m.user_id for m in memberships if m.pk in pure and m.building_id == building.pk}
        through = User.objects.filter(
            current_member("memberships__"), memberships__building=building
        )
        assert set(through.values_list("pk", flat=True)) == members
