"""The pure consent rules: exhaustive and fast, no database."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from consent import rules

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
STATUSES = (None, rules.GRANTED, rules.REFUSED, rules.WITHDRAWN, rules.ENDED)


@pytest.mark.parametrize(("status", "event"), list(itertools.product(STATUSES, rules.EVENTS)))
def test_every_transition_is_defined_or_refused(status, event):
    allowed = {
        rules.GRANTED: set(STATUSES),
        rules.REFUSED: set(STATUSES),
        rules.WITHDRAWN: {rules.GRANTED},
        rules.RENEWAL_NEEDED: {rules.GRANTED},
        rules.STORAGE_WITHDRAWN: {rules.GRANTED},
        rules.ENDED: {rules.GRANTED, rules.REFUSED, rules.WITHDRAWN},
    }[event]
    if status in allowed:
        stays = (rules.RENEWAL_NEEDED, rules.STORAGE_WITHDRAWN)  # events that keep "granted"
        expected = rules.GRANTED if event in stays else event
        assert rules.next_status(status, event) == expected
    else:
        with pytest.raises(rules.TransitionError):
            rules.next_status(status, event)


def _at(minutes):
    return NOW + timedelta(minutes=minutes)


def test_replay_grant_withdraw_grant():
    events = [(rules.GRANTED, _at(0)), (rules.WITHDRAWN, _at(1)), (rules.GRANTED, _at(2))]
    assert rules.replay(events) == (rules.GRANTED, None)


def test_replay_renewal_needed_until_granted_again():
    events = [(rules.GRANTED, _at(0)), (rules.RENEWAL_NEEDED, _at(5))]
    assert rules.replay(events) == (rules.GRANTED, _at(5))
    assert rules.replay([*events, (rules.RENEWAL_NEEDED, _at(9))]) == (rules.GRANTED, _at(5))
    assert rules.replay([*events, (rules.GRANTED, _at(7))]) == (rules.GRANTED, None)
    assert rules.replay([*events, (rules.REFUSED, _at(7))]) == (rules.REFUSED, None)


def test_replay_refuses_impossible_histories():
    with pytest.raises(rules.TransitionError):
        rules.replay([(rules.WITHDRAWN, _at(0))])
    with pytest.raises(rules.TransitionError):
        rules.replay([(rules.REFUSED, _at(0)), (rules.RENEWAL_NEEDED, _at(1))])


def test_replay_of_nothing_is_not_asked():
    assert rules.replay([]) == (None, None)
    assert rules.effective_state(None, now=NOW) == rules.NOT_ASKED


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, rules.STATE_ACTIVE),
        ({"renewal_needed_at": NOW}, rules.STATE_RENEWAL_NEEDED),
        ({"expires_at": NOW}, rules.STATE_EXPIRED),
        ({"expires_at": NOW + timedelta(seconds=1)}, rules.STATE_ACTIVE),
        ({"purpose_status": rules.RETIRED}, rules.STATE_PURPOSE_RETIRED),
        ({"guardian_needed": True}, rules.STATE_AWAITING_GUARDIAN),
        ({"guardian_needed": True, "granted_by_guardian": True}, rules.STATE_ACTIVE),
        (
            {"renewal_needed_at": NOW, "expires_at": NOW, "purpose_status": rules.RETIRED},
            rules.STATE_PURPOSE_RETIRED,
        ),
        ({"renewal_needed_at": NOW, "expires_at": NOW}, rules.STATE_RENEWAL_NEEDED),
    ],
)
def test_effective_state_of_a_grant(kwargs, expected):
    assert rules.effective_state(rules.GRANTED, now=NOW, **kwargs) == expected


@pytest.mark.parametrize("status", [rules.REFUSED, rules.WITHDRAWN, rules.ENDED])
def test_decisions_other_than_grant_are_their_own_state(status):
    assert rules.effective_state(status, now=NOW, renewal_needed_at=NOW) == status


def test_only_active_state_allows_face_use():
    states = {
        rules.effective_state(status, now=NOW, **extra)
        for status in STATUSES
        for extra in ({}, {"renewal_needed_at": NOW}, {"expires_at": NOW})
    }
    assert rules.STATE_ACTIVE in states
    assert len(states) > 4


@pytest.mark.parametrize(
    ("state", "decided", "current", "expected"),
    [
        (rules.NOT_ASKED, None, 1, True),
        (rules.NOT_ASKED, None, None, False),  # nothing to read yet
        (rules.STATE_ACTIVE, 1, 1, False),
        (rules.STATE_ACTIVE, 1, 2, False),  # a wording change does not ask again
        (rules.STATE_RENEWAL_NEEDED, 1, 2, True),
        (rules.STATE_EXPIRED, 1, 1, True),
        (rules.REFUSED, 1, 1, False),  # a "no" is not asked again...
        (rules.REFUSED, 1, 2, True),  # ...until the notice changes
        (rules.WITHDRAWN, 1, 1, False),
        (rules.WITHDRAWN, 1, 2, True),
        (rules.ENDED, 1, 1, False),
        (rules.STATE_PURPOSE_RETIRED, 1, 1, False),
    ],
)
def test_needs_decision(state, decided, current, expected):
    assert rules.needs_decision(state, decided, current) is expected


def test_expiry_by_retention_days():
    assert rules.expires_at(NOW, None) is None
    assert rules.expires_at(NOW, 30) == NOW + timedelta(days=30)


def _naive_age(birth, day):
    age = 0
    while True:
        try:
            birthday = birth.replace(year=birth.year + age + 1)
        except ValueError:
            birthday = date(birth.year + age + 1, 3, 1)
        if birthday > day:
            return age
        age += 1


def test_age_and_guardian_cut_off_agree_on_every_day_of_a_leap_cycle():
    births = [date(2012, 2, 29), date(2012, 3, 1), date(2012, 2, 28), date(2011, 12, 31)]
    start = date(2025, 1, 1)
    for offset in range(366 * 4 + 1):
        day = start + timedelta(days=offset)
        cutoff = rules.adult_born_on_or_before(day)
        for birth in births:
            age = rules.age_on(birth, day)
            assert age == _naive_age(birth, day), (birth, day)
            assert rules.guardian_required(birth, day) is (age < 14)
            assert (birth <= cutoff) is (age >= 14), (birth, day, cutoff)


def test_guardian_required_around_the_14th_birthday():
    birth = date(2012, 6, 1)
    assert rules.guardian_required(birth, date(2026, 5, 31))
    assert not rules.guardian_required(birth, date(2026, 6, 1))
    assert not rules.guardian_required(None, date(2026, 6, 1))


def _terms(**overrides):
    terms = {
        "specific_purpose": "Open the door.",
        "method": rules.IDENTIFICATION,
        "data_collected": "One template.",
        "retention_days": 365,
        "until_person_leaves": True,
    }
    terms.update(overrides)
    return rules.material_terms(**terms)


@pytest.mark.parametrize(
    ("change", "renewal"),
    [
        ({}, False),
        ({"specific_purpose": "Open the door. "}, False),  # whitespace only
        ({"specific_purpose": "Open the door and track visits."}, True),
        ({"method": rules.VERIFICATION}, True),
        ({"data_collected": "One template and photos."}, True),
        ({"retention_days": 366}, True),
        ({"retention_days": None}, True),
        ({"until_person_leaves": False}, True),
    ],
)
def test_notice_change_requires_renewal(change, renewal):
    assert rules.notice_change_requires_renewal(_terms(), _terms(**change)) is renewal


def test_first_notice_never_requires_renewal():
    assert not rules.notice_change_requires_renewal(None, _terms())


@pytest.mark.parametrize(
    ("changed", "redo"),
    [
        ([], False),
        (["data_collected"], False),
        (["retention"], False),
        (["method"], True),
        (["specific_purpose", "retention"], True),
    ],
)
def test_assessment_redone_when_purpose_or_method_change(changed, redo):
    assert rules.assessment_must_be_redone(changed) is redo


@pytest.mark.parametrize(
    ("alternatives", "problem"),
    [
        ([], "none"),
        (None, "none"),
        ("card", "none"),
        (["face"], "unknown"),
        (["card", "card"], "duplicate"),
        (["card"], None),
        (list(rules.ALTERNATIVES), None),
    ],
)
def test_face_is_never_the_only_way(alternatives, problem):
    assert rules.alternatives_problem(alternatives) == problem


@pytest.mark.parametrize(
    ("alternatives", "method", "available", "problem"),
    [
        (["card"], rules.IDENTIFICATION, None, "code_missing"),
        (["door_code"], rules.IDENTIFICATION, None, None),
        (["staff_assisted", "card"], rules.VERIFICATION, None, "code_missing"),
        (["password_code"], rules.VERIFICATION, None, None),
        (["door_code", "card"], rules.IDENTIFICATION, ("door_code",), "unavailable"),
        (["door_code", "card"], rules.IDENTIFICATION, ("door_code", "card"), None),
        (["door_code", "staff_assisted"], rules.IDENTIFICATION, ("door_code",), "unavailable"),
    ],
)
def test_the_code_route_is_always_listed_and_nothing_that_does_not_exist(
    alternatives, method, available, problem
):
    assert rules.alternatives_problem(alternatives, method, available) == problem


@pytest.mark.parametrize("cards", [True, False])
@pytest.mark.parametrize("staff", [True, False])
def test_available_ways_follow_what_the_building_has(cards, staff):
    offered = rules.available_alternatives(cards_issued=cards, staff_present=staff)
    assert {"password_code", "door_code"} <= set(offered)
    assert ("card" in offered) is cards
    assert ("staff_assisted" in offered) is staff


@pytest.mark.parametrize(
    ("days", "leaves", "problem"),
    [(None, False, "none"), (0, False, "not_positive"), (None, True, None), (30, False, None)],
)
def test_retention_rule_is_required(days, leaves, problem):
    assert rules.retention_problem(days, leaves) == problem


@pytest.mark.parametrize(
    ("assessment", "notice", "missing"),
    [
        (False, False, ["assessment", "notice"]),
        (True, False, ["notice"]),
        (False, True, ["assessment"]),
        (True, True, []),
    ],
)
def test_activation_needs_assessment_and_notice(assessment, notice, missing):
    assert (
        rules.activation_missing(has_approved_assessment=assessment, has_published_notice=notice)
        == missing
    )


def test_assessments_are_kept_three_years():
    assert rules.assessment_keep_until(NOW) == date(2029, 6, 1)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert rules.assessment_keep_until(leap) == date(2031, 3, 1)
