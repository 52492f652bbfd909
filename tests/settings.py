"""Test settings: the production shape (PostgreSQL, Redis, DEBUG off) with test-only secrets."""

import os

os.environ["DEBUG"] = "false"
os.environ["SECRET_KEY"] = "test-secret-key-" + "x" * 60
os.environ.setdefault(
    "FACE_ENCRYPTION_KEYS",
    "kIjqZ8vYbM7w2wQ1n3hJmVQeYcX1rT5uP0aLsDfGhJk=,c2VjcmV0LWtleS1mb3Itb2xkLWVtYmVkZGluZ3MtMDE=",
)
os.environ.setdefault("AUDIT_CHECKPOINT_KEY", "test-checkpoint-key-" + "k" * 40)
os.environ["DATABASE_URL"] = os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"
)
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault(
    "PORTAL_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test")
)

from portal.settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Pages render without `collectstatic`; tests/portal/test_static_files.py checks the
# production storage through gunicorn.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise warns at every live server's start when STATIC_ROOT is missing; pages here serve
# from STATICFILES_DIRS, so an empty folder is all it needs.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# The audit log refuses TRUNCATE (consent migration 0006) except where this is on: test
# databases are emptied with TRUNCATE between transactional tests.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c portal.audit_truncate=on"  # noqa: F405
