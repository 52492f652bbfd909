"""tests.settings for a portal served over plain HTTP on loopback by the fault tests."""

from tests.settings import *  # noqa: F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
