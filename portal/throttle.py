"""Failure throttling kept in the database, so it holds across processes and without Redis.

Each (scope, key) holds a failure score that decays (it halves every SIGNIN_DECAY_SECONDS):
a sliding window, so an attacker who keeps guessing once per lock never keeps a key locked
for ever, and the lock after a failure grows with the recent failures only.
"""

import hashlib
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from portal import clock, rules
from portal.models import Throttle

# Counters that guard a 6-digit one-time code forget slowly: one wrong code an hour at most
# once locked, about 30 guesses a day, against a million codes.
CODE_HALF_LIFE = 24 * 3600


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def seconds_locked(scope: str, key: str) -> int:
    row = Throttle.objects.filter(scope=scope, key=_hash(key)).only("locked_until").first()
    return rules.seconds_left(row.locked_until if row else None, clock.now())


def record_failure(
    scope: str,
    key: str,
    free_failures: int | None = None,
    max_seconds: int | None = None,
    base_seconds: int | None = None,
    half_life: int | None = None,
) -> int:
    """Counts one failure and returns the seconds the key is now locked for."""
    now = clock.now()
    with transaction.atomic():
        row, _ = Throttle.objects.select_for_update().get_or_create(scope=scope, key=_hash(key))
        row.score = (
            rules.decayed(row.score, row.scored_at, now, half_life or settings.SIGNIN_DECAY_SECONDS)
            + 1.0
        )
        row.scored_at = now
        row.failures += 1
        lock = rules.decayed_lock_seconds(
            row.score,
            free_failures or settings.SIGNIN_FREE_FAILURES,
            base_seconds or settings.SIGNIN_LOCK_SECONDS,
            max_seconds or settings.SIGNIN_LOCK_MAX_SECONDS,
        )
        if lock:
            row.locked_until = now + timedelta(seconds=lock)
        row.save(update_fields=["score", "scored_at", "failures", "locked_until", "updated_at"])
        return lock


def current_score(scope: str, key: str, half_life: int | None = None) -> float:
    """The key's failure score now, decayed."""
    row = Throttle.objects.filter(scope=scope, key=_hash(key)).only("score", "scored_at").first()
    if row is None:
        return 0.0
    return rules.decayed(
        row.score, row.scored_at, clock.now(), half_life or settings.SIGNIN_DECAY_SECONDS
    )


@contextmanager
def held(scope: str, key: str):
    """A transaction holding the key's row: checks and failures under it run one at a time,
    so requests sent in parallel cannot all pass the check before the first failure counts."""
    with transaction.atomic():
        Throttle.objects.get_or_create(scope=scope, key=_hash(key))
        Throttle.objects.select_for_update().filter(scope=scope, key=_hash(key)).exists()
        yield


def reset(scope: str, key: str) -> None:
    Throttle.objects.filter(scope=scope, key=_hash(key)).delete()
