"""Production mode (DEBUG off) refuses weak secrets and passes Django's deploy checks."""

import os
import subprocess
import sys

from tests.conftest import REPO

GOOD_KEY = "kIjqZ8vYbM7w2wQ1n3hJmVQeYcX1rT5uP0aLsDfGhJk="


def _manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FACE_ENCRYPTION_KEYS"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "portal.example.com",
            "DATABASE_URL": "",
            "REDIS_URL": "",
        }
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", FACE_ENCRYPTION_KEYS=GOOD_KEY)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_insecure_development_key():
    result = _manage(
        "check", SECRET_KEY="django-insecure-" + "a" * 60, FACE_ENCRYPTION_KEYS=GOOD_KEY
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_encryption_key():
    result = _manage("check", SECRET_KEY="s" * 64)
    assert result.returncode != 0
    assert "FACE_ENCRYPTION_KEYS must be set" in result.stderr


def test_malformed_encryption_key_is_refused():
    result = _manage("check", SECRET_KEY="s" * 64, FACE_ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "Fernet keys" in result.stderr


def test_production_passes_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="Vq7!" + "kP2x9Lm#Zt4Rw8Yb6Nc1Jd3Hf5Gs0Qa" * 2,
        FACE_ENCRYPTION_KEYS=GOOD_KEY,
    )
    assert result.returncode == 0, result.stderr + result.stdout
