from datetime import UTC, datetime, timedelta

import pytest

from consent import rules as consent_rules
from recognition import policy


@pytest.mark.parametrize("kind", sorted(policy.PROHIBITED_LOCATION_TYPES))
def test_private_spaces_never_host_a_face_device(kind):
    placement = policy.face_device_placement(
        kind, security_justification="needed", sign_confirmed=True
    )
    assert not placement.allowed
    assert "Article 8" in placement.reason


@pytest.mark.parametrize("kind", [policy.ENTRANCE, policy.LOBBY, policy.OFFICE])
def test_ordinary_building_areas_may_host_a_face_device(kind):
    assert policy.face_device_placement(kind).allowed


@pytest.mark.parametrize(
    ("justification", "sign", "allowed"),
    [
        ("", False, False),
        ("crowd safety", False, False),
        ("", True, False),
        ("   ", True, False),
        ("crowd safety", True, True),
    ],
)
def test_public_area_needs_justification_and_sign(justification, sign, allowed):
    placement = policy.face_device_placement(
        policy.PUBLIC_AREA, security_justification=justification, sign_confirmed=sign
    )
    assert placement.allowed is allowed


def test_every_location_type_is_classified():
    kinds = {kind for kind, _label in policy.LOCATION_TYPES}
    assert policy.PROHIBITED_LOCATION_TYPES <= kinds


@pytest.mark.parametrize(("distance", "matched"), [(0.0, True), (0.07, True), (0.0701, False)])
def test_match_is_at_or_below_threshold(distance, matched):
    assert policy.is_match(distance, 0.07) is matched


def test_best_match_picks_the_closest_within_threshold():
    assert policy.best_match({1: 0.2, 2: 0.05, 3: 0.06}, 0.07) == (2, 0.05)
    assert policy.best_match({1: 0.2, 2: 0.1}, 0.07) == (None, 0.1)
    assert policy.best_match({}, 0.07) == (None, None)


def test_template_lapse_date_follows_retention():
    """A template's `lapses_at` is its consent's retention date, one rule in `consent.rules`."""
    granted = datetime(2026, 1, 1, tzinfo=UTC)
    lapses_at = consent_rules.expires_at(granted, 30)
    assert lapses_at == granted + timedelta(days=30)
    assert consent_rules.expires_at(granted, None) is None
    assert policy.retention_over(lapses_at, lapses_at)
    assert not policy.retention_over(lapses_at, lapses_at - timedelta(seconds=1))
    assert not policy.retention_over(None, lapses_at)
