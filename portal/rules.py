"""Pure rules for accounts and sign-in: no ORM, explicit inputs."""

import math
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


def decayed(score: float, since: datetime | None, now: datetime, half_life: float) -> float:
    """A failure score that halves every `half_life` seconds: a sliding window, not a tally.

    >>> from datetime import datetime
    >>> t = datetime(2026, 1, 1)
    >>> decayed(8.0, t, t + timedelta(seconds=600), 300)
    2.0
    >>> decayed(8.0, None, t, 300), decayed(8.0, t, t - timedelta(seconds=5), 300)
    (0.0, 8.0)
    """
    if since is None:
        return 0.0
    elapsed = max(0.0, (now - since) / timedelta(seconds=1))
    return score * math.pow(0.5, elapsed / half_life)


SLACK = 0.1  # how far below a whole number a decayed score still counts as it


def decayed_lock_seconds(score: float, free_failures: int, base: int, maximum: int) -> int:
    """The lock after a failure that brought the decayed score to `score`: none for the first
    `free_failures`, then `base` doubling per further failure, at most `maximum`.

    >>> [decayed_lock_seconds(n, 3, 60, 600) for n in (1.0, 2.8, 2.95, 4.0, 5.5, 40.0)]
    [0, 0, 60, 120, 340, 600]
    """
    if score + SLACK < free_failures:  # failures a minute or two apart count as whole ones
        return 0
    exponent = min(max(0.0, score - free_failures), 64.0)
    return min(maximum, math.ceil(base * 2**exponent))


def client_address(remote_addr: str, forwarded_for: str, trusted_proxies: int) -> str:
    """The client's address: REMOTE_ADDR, or with `trusted_proxies` proxies in front, the
    address the outermost trusted proxy saw (entries further left are the client's to forge).

    >>> client_address("10.0.0.1", "6.6.6.6, 1.2.3.4", 1)
    '1.2.3.4'
    >>> client_address("10.0.0.1", "6.6.6.6, 1.2.3.4", 0)
    '10.0.0.1'
    >>> client_address("10.0.0.1", "1.2.3.4", 2)
    '10.0.0.1'
    """
    if trusted_proxies <= 0:
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    if len(hops) < trusted_proxies:
        return remote_addr
    return hops[-trusted_proxies]


def seconds_left(locked_until: datetime | None, now: datetime) -> int:
    """Whole seconds until a lock ends (0 when not locked), rounded up."""
    if locked_until is None or locked_until <= now:
        return 0
    return int((locked_until - now) / timedelta(seconds=1) + 0.999)


def second_factor_required(roles: set[str], is_superuser: bool) -> bool:
    """Building admins and superusers must use a second factor; others may."""
    return is_superuser or ADMIN in roles


def is_current_member(left_at: datetime | None) -> bool:
    """A membership counts (role, consent questions, templates kept, doors) until the person
    leaves; a left membership stays on record with the time it ended. The query form is
    `portal.rules_query.current_member`.

    >>> is_current_member(None), is_current_member(datetime(2026, 1, 1))
    (True, False)
    """
    return left_at is None
