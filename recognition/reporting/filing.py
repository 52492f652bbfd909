"""Pure rules of the filing obligation: dates and counts in, dates and states out, no ORM.

A handler whose stored face data covers 100,000 people files with the provincial cyberspace
office within 30 working days of the day the number was reached (Security Management Measures
for the Application of Facial Recognition Technology, art. 15). As in Chinese law generally,
the day the period starts is not counted: the deadline is the 30th working day after it.

Working days are Monday to Friday, minus the public holidays listed in FILING_HOLIDAYS, plus
the weekend days listed in FILING_WORKDAYS (the make-up working days the State Council
announces each year along with the holidays).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

FILING_THRESHOLD = 100_000
FILING_WARNING_FROM = 80_000
FILING_WORKING_DAYS = 30

# Threshold states.
BELOW = "below"
WARNING = "warning"
CROSSED = "crossed"


def is_working_day(
    day: date, holidays: Collection[date] = (), workdays: Collection[date] = ()
) -> bool:
    """Monday to Friday unless a listed holiday; a listed make-up working day always is one.

    >>> is_working_day(date(2025, 10, 1), holidays=[date(2025, 10, 1)])
    False
    >>> is_working_day(date(2025, 9, 28), workdays=[date(2025, 9, 28)])  # a Sunday, worked
    True
    """
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(
    start: date, days: int, holidays: Collection[date] = (), workdays: Collection[date] = ()
) -> date:
    """The `days`-th working day after `start` (`start` itself is not counted).

    >>> add_working_days(date(2026, 1, 2), 1)  # a Friday: the next working day is Monday
    datetime.date(2026, 1, 5)
    """
    if days < 0:
        raise ValueError("days must not be negative")
    holidays, workdays = frozenset(holidays), frozenset(workdays)
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day, holidays, workdays):
            left -= 1
    return day


def working_days_between(
    start: date, end: date, holidays: Collection[date] = (), workdays: Collection[date] = ()
) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not later).

    >>> working_days_between(date(2026, 1, 2), date(2026, 1, 9))
    5
    """
    holidays, workdays = frozenset(holidays), frozenset(workdays)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day, holidays, workdays):
            count += 1
    return count


def filing_deadline(
    reached_on: date,
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
    working_days: int = FILING_WORKING_DAYS,
) -> date:
    """The last day to file after the number of people was reached on `reached_on`.

    >>> filing_deadline(date(2026, 3, 2))  # a Monday; six weeks of weekdays later
    datetime.date(2026, 4, 13)
    """
    return add_working_days(reached_on, working_days, holidays, workdays)


def threshold_state(people: int, threshold: int, warning_from: int) -> str:
    """BELOW, WARNING (from `warning_from`) or CROSSED (at `threshold` or more).

    >>> [threshold_state(n, 100_000, 80_000) for n in (79_999, 80_000, 99_999, 100_000)]
    ['below', 'warning', 'warning', 'crossed']
    """
    if people >= threshold:
        return CROSSED
    if people >= warning_from:
        return WARNING
    return BELOW


@dataclass(frozen=True)
class FilingStatus:
    people: int
    threshold: int
    warning_from: int
    state: str
    reached_on: date | None  # when the threshold was (first) reached, if it was
    deadline: date | None
    working_days_left: int | None  # None without a deadline; 0 on the deadline and after
    overdue: bool

    @property
    def share(self) -> float:
        """Of the threshold, for a progress bar (may exceed 1)."""
        return self.people / self.threshold if self.threshold else 0.0


def filing_status(
    people: int,
    *,
    today: date,
    reached_on: date | None,
    threshold: int = FILING_THRESHOLD,
    warning_from: int = FILING_WARNING_FROM,
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
) -> FilingStatus:
    """Where the handler stands: the current count, and the deadline once it was reached.

    `reached_on` is the recorded day the threshold was reached (it stays recorded if the count
    later falls back under it: the duty to file arose on that day). A count at or over the
    threshold without a recorded day counts from `today`.
    """
    state = threshold_state(people, threshold, warning_from)
    if reached_on is None and state == CROSSED:
        reached_on = today
    deadline = left = None
    overdue = False
    if reached_on is not None:
        deadline = filing_deadline(reached_on, holidays, workdays)
        left = working_days_between(today, deadline, holidays, workdays)
        overdue = today > deadline
    return FilingStatus(
        people=people,
        threshold=threshold,
        warning_from=warning_from,
        state=state,
        reached_on=reached_on,
        deadline=deadline,
        working_days_left=left,
        overdue=overdue,
    )
