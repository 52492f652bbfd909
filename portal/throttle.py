"""Failure throttling kept in the database, so it holds across processes and without Redis."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from portal import clock, rules
from portal.models import Throttle


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def seconds_locked(scope: str, key: str) -> int:
    row = Throttle.objects.filter(scope=scope, key=_hash(key)).only("locked_until").first()
    return rules.seconds_left(row.locked_until if row else None, clock.now())


def record_failure(scope: str, key: str, free_failures: int | None = None) -> int:
    """Counts one failure and returns the seconds the key is now locked for."""
    with transaction.atomic():
        row, _ = Throttle.objects.select_for_update().get_or_create(scope=scope, key=_hash(key))
        Throttle.objects.filter(pk=row.pk).update(failures=F("failures") + 1)
        row.refresh_from_db(fields=["failures"])
        lock = rules.lock_seconds(
            row.failures,
            free_failures or settings.SIGNIN_FREE_FAILURES,
            settings.SIGNIN_LOCK_SECONDS,
            settings.SIGNIN_LOCK_MAX_SECONDS,
        )
        if lock:
            row.locked_until = clock.now() + timedelta(seconds=lock)
            row.save(update_fields=["locked_until", "updated_at"])
        return lock


def reset(scope: str, key: str) -> None:
    Throttle.objects.filter(scope=scope, key=_hash(key)).delete()
