"""Production mode (DEBUG off) refuses weak secrets and passes Django's deploy checks."""

import os
import subprocess
import sys

from tests.paths import REPO

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


def test_production_answers_carry_hsts_csp_and_secure_cookies(tmp_path):
    """portal.settings with DEBUG off, served as over HTTPS: HSTS, CSP, nosniff, frame denial,
    and the CSRF and session cookies marked Secure and HttpOnly (session); plain HTTP is
    redirected to HTTPS. Static files collected first, as the production shape needs."""
    script = (
        "import json, django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('collectstatic', '--noinput', verbosity=0)\n"
        "from django.test import Client\n"
        "client = Client()\n"
        "page = client.get('/accounts/login/', secure=True)\n"
        "plain = client.get('/accounts/login/')\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'headers': dict(page.headers),"
        " 'csrf': page.cookies['csrftoken'].output(), 'plain': plain.status_code,"
        " 'location': plain.headers.get('Location', ''),"
        " 'session_secure': s.SESSION_COOKIE_SECURE, 'session_httponly':"
        " s.SESSION_COOKIE_HTTPONLY}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FACE_ENCRYPTION_KEYS"}}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="false",
        ALLOWED_HOSTS="testserver",
        DATABASE_URL="",
        REDIS_URL="",
        SECRET_KEY="Vq7!" + "kP2x9Lm#Zt4Rw8Yb6Nc1Jd3Hf5Gs0Qa" * 2,
        FACE_ENCRYPTION_KEYS=GOOD_KEY,
        PORTAL_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    import json

    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "; Secure" in seen["csrf"]
    assert seen["session_secure"] and seen["session_httponly"]
    assert seen["plain"] == 301 and seen["location"].startswith("https://")
