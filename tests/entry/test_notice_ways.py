"""A notice promises only the ways in that exist in its building; the code route always."""

import pytest

from consent import services
from consent.services import ConsentError
from recognition.entry import cards
from tests.factories import make_active_purpose, purpose_fields

pytestmark = pytest.mark.django_db


def test_cards_are_promised_only_where_cards_are_issued(admin_a, resident, building_a):
    with pytest.raises(ConsentError) as refused:
        services.create_purpose(
            building_a, actor=admin_a, **purpose_fields(alternatives=["door_code", "card"])
        )
    assert "does not offer access card" in refused.value.details["alternatives"][0]
    cards.issue_card(resident, building_a, "12345678", actor=admin_a)
    purpose = services.create_purpose(
        building_a, actor=admin_a, **purpose_fields(alternatives=["door_code", "card"])
    )
    assert purpose.alternatives == ["door_code", "card"]


def test_staff_assisted_entry_needs_someone_to_assist(building_b, admin_b):
    from portal import clock

    admin_b.memberships.update(left_at=clock.now())  # nobody left to help at building B
    with pytest.raises(ConsentError) as refused:
        services.create_purpose(
            building_b,
            actor=admin_b,
            **purpose_fields(alternatives=["door_code", "staff_assisted"]),
        )
    assert "staff-assisted entry" in refused.value.details["alternatives"][0]


def test_the_code_route_cannot_be_left_out(admin_a, building_a):
    with pytest.raises(ConsentError) as refused:
        services.create_purpose(
            building_a, actor=admin_a, **purpose_fields(alternatives=["staff_assisted"])
        )
    assert "code route always works" in refused.value.details["alternatives"][0]


def test_the_notice_lists_the_ways_the_purpose_offers(
    client, sign_in, admin_a, resident, building_a
):
    purpose = make_active_purpose(building_a, admin_a, alternatives=["door_code", "staff_assisted"])
    page = sign_in(resident).get(f"/consents/notices/{purpose.current_notice_id}/").content.decode()
    assert '<ul class="ways-in"><li>door code</li><li>staff-assisted entry</li></ul>' in page
    assert "access card" not in page
