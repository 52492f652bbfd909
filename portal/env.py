"""Strict readers for settings that come from environment variables.

Each helper rejects a value it does not understand instead of guessing, so a typo in a
deployment stops the process at start with a message naming the variable.
"""

import os
from collections.abc import Mapping
from datetime import date

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    source = os.environ if environ is None else environ
    return source.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = env_str(name, "", environ).lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(
    name: str,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    _check_range(name, value, minimum, maximum)
    return value


def env_float(
    name: str,
    default: float,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value != value:  # NaN
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}")
    _check_range(name, value, minimum, maximum)
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    raw = env_str(name, "", environ)
    if raw == "":
        return list(default)
    items = [item.strip() for item in raw.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} has an empty item: {raw!r}")
    return items


def env_dates(
    name: str, default: list[date], environ: Mapping[str, str] | None = None
) -> list[date]:
    """Comma-separated ISO dates (2026-10-01,2026-10-02), sorted; a bad one stops the start."""
    items = env_list(name, [], environ)
    if not items:
        return sorted(default)
    days = []
    for item in items:
        try:
            days.append(date.fromisoformat(item))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list dates as YYYY-MM-DD separated by commas, not {item!r}"
            ) from None
    return sorted(set(days))


def env_choice(
    name: str, default: str, choices: set[str], environ: Mapping[str, str] | None = None
) -> str:
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    if raw not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, not {raw!r}")
    return raw


def _check_range(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value}")
