"""The filing duty as pure rules: working days, the 30-working-day deadline, the threshold."""

import doctest
import random
from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_dates
from recognition.reporting import filing
from recognition.reporting.filing import (
    BELOW,
    CROSSED,
    WARNING,
    add_working_days,
    filing_deadline,
    filing_status,
    is_working_day,
    threshold_state,
    working_days_between,
)

FRIDAY = date(2026, 1, 2)
SATURDAY = date(2026, 1, 3)
SUNDAY = date(2026, 1, 4)
MONDAY = date(2026, 1, 5)
# National Day 2025: 1-8 October off, Sunday 28 September and Saturday 11 October worked.
GOLDEN_WEEK = [date(2025, 10, d) for d in range(1, 9)]
MAKE_UP = [date(2025, 9, 28), date(2025, 10, 11)]


def test_doctests_hold():
    assert doctest.testmod(filing).failed == 0


@pytest.mark.parametrize(
    ("day", "working"),
    [(FRIDAY, True), (SATURDAY, False), (SUNDAY, False), (MONDAY, True)],
)
def test_weekdays_work_and_weekends_do_not(day, working):
    assert is_working_day(day) is working


def test_a_listed_holiday_is_not_a_working_day_and_a_listed_make_up_day_is():
    assert not is_working_day(date(2025, 10, 1), holidays=GOLDEN_WEEK)
    assert is_working_day(date(2025, 9, 28), workdays=MAKE_UP)  # a Sunday
    assert is_working_day(date(2025, 10, 11), workdays=MAKE_UP)  # a Saturday
    # Listed both ways, the make-up list wins: the State Council announced it as worked.
    assert is_working_day(date(2025, 10, 1), holidays=GOLDEN_WEEK, workdays=[date(2025, 10, 1)])


def test_zero_working_days_is_the_start_itself():
    assert add_working_days(SATURDAY, 0) == SATURDAY


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(MONDAY, -1)


def test_the_start_day_is_not_counted():
    assert add_working_days(MONDAY, 1) == date(2026, 1, 6)
    assert add_working_days(FRIDAY, 1) == MONDAY  # skips the weekend


@pytest.mark.parametrize("start", [SATURDAY, SUNDAY])
def test_reached_on_a_weekend_counts_from_monday(start):
    assert add_working_days(start, 1) == MONDAY
    assert filing_deadline(start) == filing_deadline(FRIDAY)


def test_thirty_working_days_without_holidays_are_six_weeks():
    assert filing_deadline(date(2026, 3, 2)) == date(2026, 4, 13)  # Monday to Monday
    assert filing_deadline(FRIDAY) == FRIDAY + timedelta(weeks=6)


def test_the_deadline_skips_listed_holidays_and_counts_make_up_days():
    plain = filing_deadline(date(2025, 9, 26))
    assert plain == date(2025, 11, 7)
    with_calendar = filing_deadline(date(2025, 9, 26), holidays=GOLDEN_WEEK, workdays=MAKE_UP)
    # Six weekday holidays cost six days, two worked weekend days give two back.
    assert with_calendar == date(2025, 11, 13)
    assert filing_deadline(date(2025, 9, 26), holidays=GOLDEN_WEEK) == date(2025, 11, 17)


def test_a_deadline_never_falls_on_a_holiday_or_weekend():
    start = date(2026, 1, 2)
    plain = filing_deadline(start)
    deadline = filing_deadline(start, holidays=[plain])
    assert deadline == plain + timedelta(days=3)  # Friday off: Monday
    assert is_working_day(deadline, holidays=[plain])


def test_holidays_on_weekends_change_nothing():
    weekend = [SATURDAY + timedelta(weeks=n) for n in range(8)]
    assert filing_deadline(FRIDAY, holidays=weekend) == filing_deadline(FRIDAY)


def _brute_force(start, days, holidays, workdays):
    counted, day = 0, start
    while counted < days:
        day += timedelta(days=1)
        if day in workdays or (day not in holidays and day.weekday() < 5):
            counted += 1
    return day


def test_against_counting_day_by_day_over_many_calendars():
    rng = random.Random(15)
    for _n in range(300):
        start = date(2025, 1, 1) + timedelta(days=rng.randrange(730))
        holidays = {start + timedelta(days=rng.randrange(1, 60)) for _h in range(rng.randrange(12))}
        workdays = {
            day
            for day in (start + timedelta(days=rng.randrange(1, 60)) for _w in range(3))
            if day.weekday() >= 5
        }
        deadline = filing_deadline(start, holidays, workdays)
        assert deadline == _brute_force(start, 30, holidays, workdays)
        assert working_days_between(start, deadline, holidays, workdays) == 30
        assert is_working_day(deadline, holidays, workdays)


def test_working_days_between():
    assert working_days_between(MONDAY, MONDAY) == 0
    assert working_days_between(MONDAY, FRIDAY) == 0  # end before start
    assert working_days_between(FRIDAY, MONDAY) == 1
    assert working_days_between(FRIDAY, date(2026, 1, 9)) == 5
    assert working_days_between(FRIDAY, date(2026, 1, 9), holidays=[date(2026, 1, 6)]) == 4


@pytest.mark.parametrize(
    ("people", "state"),
    [
        (0, BELOW),
        (79_999, BELOW),
        (80_000, WARNING),
        (99_999, WARNING),
        (100_000, CROSSED),
        (250_000, CROSSED),
    ],
)
def test_threshold_states(people, state):
    assert threshold_state(people, 100_000, 80_000) == state


def test_below_the_threshold_there_is_no_deadline():
    status = filing_status(80_500, today=MONDAY, reached_on=None)
    assert status.state == WARNING
    assert status.deadline is None and status.working_days_left is None
    assert not status.overdue
    assert status.share == pytest.approx(0.805)


def test_crossed_with_a_recorded_day_counts_from_that_day():
    reached = date(2026, 3, 2)
    status = filing_status(100_001, today=date(2026, 3, 9), reached_on=reached)
    assert status.state == CROSSED and status.reached_on == reached
    assert status.deadline == date(2026, 4, 13)
    assert status.working_days_left == 25
    assert not status.overdue


def test_crossed_without_a_record_counts_from_today():
    status = filing_status(100_000, today=MONDAY, reached_on=None)
    assert status.reached_on == MONDAY
    assert status.deadline == filing_deadline(MONDAY)
    assert status.working_days_left == 30


def test_the_duty_stays_when_the_count_falls_back():
    status = filing_status(99_000, today=MONDAY, reached_on=FRIDAY)
    assert status.state == WARNING
    assert status.deadline == filing_deadline(FRIDAY)


def test_on_the_deadline_no_day_is_left_and_after_it_it_is_overdue():
    deadline = filing_deadline(MONDAY)
    on = filing_status(100_000, today=deadline, reached_on=MONDAY)
    assert on.working_days_left == 0 and not on.overdue
    after = filing_status(100_000, today=deadline + timedelta(days=1), reached_on=MONDAY)
    assert after.working_days_left == 0 and after.overdue


def test_holidays_and_make_up_days_reach_the_status():
    status = filing_status(
        100_000,
        today=date(2025, 9, 26),
        reached_on=date(2025, 9, 26),
        holidays=GOLDEN_WEEK,
        workdays=MAKE_UP,
    )
    assert status.deadline == date(2025, 11, 13)


def test_filing_dates_are_read_strictly_from_the_environment():
    environ = {"FILING_HOLIDAYS": "2025-10-02, 2025-10-01,2025-10-01"}
    assert env_dates("FILING_HOLIDAYS", [], environ) == [date(2025, 10, 1), date(2025, 10, 2)]
    assert env_dates("FILING_HOLIDAYS", [], {}) == []
    with pytest.raises(ImproperlyConfigured, match="FILING_HOLIDAYS"):
        env_dates("FILING_HOLIDAYS", [], {"FILING_HOLIDAYS": "2025-10-01,1 Oct 2025"})
    with pytest.raises(ImproperlyConfigured, match="empty"):
        env_dates("FILING_HOLIDAYS", [], {"FILING_HOLIDAYS": "2025-10-01,,2025-10-02"})
