"""Pure rules for accounts and sign-in: no ORM, explicit inputs."""

from datetime import datetime, timedelta

RESIDENT = "resident"
STAFF = "staff"
ADMIN = "admin"


def lock_seconds(failures: int, free_failures: int, base_seconds: int, max_seconds: int) -> int:
    """How long a key stays locked after `failures` consecutive failures.

    The first `free_failures` failures cost nothing; from then on the lock doubles each time,
    up to `max_seconds`.

    >>> [lock_seconds(n, 3, 60, 600) for n in range(1, 8)]
    [0, 0, 60, 120, 240, 480, 600]
    """
    if failures < free_failures:
        return 0
    return int(min(base_seconds * 2 ** (failures - free_failures), max_seconds))


def seconds_left(locked_until: datetime | None, now: datetime) -> int:
    """Whole seconds until a lock ends (0 when not locked), rounded up."""
    if locked_until is None or locked_until <= now:
        return 0
    return int((locked_until - now) / timedelta(seconds=1) + 0.999)


def second_factor_required(roles: set[str], is_superuser: bool) -> bool:
    """Building admins and superusers must use a second factor; others may."""
    return is_superuser or ADMIN in roles
