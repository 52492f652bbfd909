"""Pure rules of people's rights, incidents and filings: dates in, dates out, no ORM.

Deadlines count working days with the same calendar as the filing duty
(`recognition.reporting.filing`): Monday to Friday, minus FILING_HOLIDAYS, plus the make-up days in
FILING_WORKDAYS.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from recognition.reporting.filing import add_working_days, filing_deadline, working_days_between

REQUEST_WORKING_DAYS = 15
# Profile fields a person corrects alone; anything else goes through a correction request.
SELF_SERVICE_FIELDS = ("first_name", "last_name", "email")


def request_due_on(
    filed_on: date, holidays: Collection[date] = (), workdays: Collection[date] = ()
) -> date:
    """The last day to answer a request filed on `filed_on` (that day is not counted).

    >>> request_due_on(date(2026, 1, 2))  # a Friday: three weeks of weekdays later
    datetime.date(2026, 1, 23)
    """
    return add_working_days(filed_on, REQUEST_WORKING_DAYS, holidays, workdays)


@dataclass(frozen=True)
class Clock:
    """Where one deadline stands on `today`."""

    due_on: date
    working_days_left: int
    overdue: bool


def clock(
    due_on: date, today: date, holidays: Collection[date] = (), workdays: Collection[date] = ()
) -> Clock:
    """
    >>> clock(date(2026, 1, 23), date(2026, 1, 21))
    Clock(due_on=datetime.date(2026, 1, 23), working_days_left=2, overdue=False)
    >>> clock(date(2026, 1, 23), date(2026, 1, 26)).overdue
    True
    """
    return Clock(
        due_on=due_on,
        working_days_left=working_days_between(today, due_on, holidays, workdays),
        overdue=today > due_on,
    )


def filing_due_on(
    duty_arose_on: date, holidays: Collection[date] = (), workdays: Collection[date] = ()
) -> date:
    """Every filing (initial, change, de-registration) is due 30 working days after its duty."""
    return filing_deadline(duty_arose_on, holidays, workdays)


def filing_problem(
    kind: str, previous_kinds: list[str], *, duty_arose_on: date, filed_on: date, today: date
) -> str | None:
    """Why a filing cannot be recorded as given, or None. `previous_kinds` oldest first.

    >>> filing_problem("change", [], duty_arose_on=date(2026, 1, 5), filed_on=date(2026, 1, 6),
    ...                today=date(2026, 1, 7))
    'no_initial'
    """
    if filed_on > today:
        return "filed_in_future"
    if duty_arose_on > filed_on:
        return "duty_after_filing"
    registered = False
    for previous in previous_kinds:
        registered = previous != "deregistration"
    if kind == "initial" and registered:
        return "already_registered"
    if kind != "initial" and not registered:
        return "no_initial"
    return None
