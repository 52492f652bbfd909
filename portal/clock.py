"""The one clock seam: code asks `now()`, tests move time by patching this module's `_now`."""

from datetime import datetime

from django.utils import timezone


def _now() -> datetime:
    return timezone.now()


def now() -> datetime:
    return _now()
