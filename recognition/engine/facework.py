"""How much face work an anonymous client may ask for: a fixed window per client.

The face sign-in page is open to anyone, and each photo posted there costs a worker a decode
and an embedding whatever the outcome. Failure throttling (portal.throttle) counts only what
fails; this counts every photo, so a client cannot keep the workers busy with photos that are
refused or that match. Counted in the database (the ``Throttle`` table, under a scope of its
own) so that it holds across web processes: ``failures`` is the number of photos in the
current window and ``locked_until`` the window's end.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import ngettext

from portal import clock, rules
from portal.models import Throttle

SCOPE = "face-work-ip"
WINDOW = timedelta(minutes=1)


def _hash(client: str) -> str:
    return hashlib.sha256(client.encode()).hexdigest()


def take(client: str, limit: int | None = None, *, scope: str = SCOPE) -> int:
    """Count one photo of this client; 0 when it may be checked, else the seconds to wait.
    Another ``scope`` counts something else per client the same way (live challenges)."""
    limit = limit if limit is not None else settings.FACE_ANONYMOUS_PER_MINUTE
    now = clock.now()
    with transaction.atomic():
        row, _ = Throttle.objects.select_for_update().get_or_create(scope=scope, key=_hash(client))
        if row.locked_until is None or row.locked_until <= now:
            Throttle.objects.filter(pk=row.pk).update(failures=1, locked_until=now + WINDOW)
            return 0
        if row.failures >= limit:
            return max(1, rules.seconds_left(row.locked_until, now))
        Throttle.objects.filter(pk=row.pk).update(failures=F("failures") + 1)
        return 0


def busy_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "Too many face checks from this device. Try again in %(minutes)d minute, or sign in "
        "with your password and code.",
        "Too many face checks from this device. Try again in %(minutes)d minutes, or sign in "
        "with your password and code.",
        minutes,
    ) % {"minutes": minutes}


def door_busy_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "Too many face checks at this door. Try again in %(minutes)d minute, or use your "
        "door code.",
        "Too many face checks at this door. Try again in %(minutes)d minutes, or use your "
        "door code.",
        minutes,
    ) % {"minutes": minutes}
