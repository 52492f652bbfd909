"""Where the face model lives: never in the web process; a worker without weights never starts."""

import os
import subprocess
import sys

import pytest

from tests.paths import REPO

pytestmark = pytest.mark.django_db


def test_web_process_never_imports_deepface():
    script = (
        "import django, sys; django.setup();"
        "from django.test import Client; from django.urls import reverse;"
        "import portal.urls, recognition.views, recognition.tasks;"
        "c = Client(); c.get('/accounts/login/face/'); c.get('/accounts/login/');"
        "print('deepface' in sys.modules, 'tensorflow' in sys.modules, 'cv2' in sys.modules)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["False", "False", "False"]


def test_worker_with_missing_weights_stops_at_start_naming_file_and_folder(tmp_path):
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        FACE_MODEL="Facenet512",
        DEEPFACE_HOME=str(tmp_path),
        # A broker nobody listens on: the worker must stop before it would need one.
        TEST_REDIS_URL="redis://127.0.0.1:6379/14",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "facenet512_weights" in output
    assert str(tmp_path / ".deepface" / "weights") in output
    assert "Downloading" not in output and "https://" not in output.split("copy them")[0]
