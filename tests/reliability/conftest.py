"""A private face stack for fault tests: our own redis-server on a free port (stopped and
started at will, never the shared one), a Celery worker on it that can be made to pause, and
the web side of this process pointed at it."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.launcher import start_worker, stop_worker, wait_until_ready
from tests.paths import ARTIFACTS
from tests.reliability.stack import PrivateRedis, celery_pointed_at, test_database_url


class FaceStack:
    def __init__(self, redis_server: PrivateRedis, worker: subprocess.Popen, fault_dir: Path):
        self.redis = redis_server
        self.worker = worker
        self.fault_dir = fault_dir
        self.tmp_dir = fault_dir / "tmp"

    def pause(self, where: str) -> None:
        (self.fault_dir / "pause").write_text(where)

    def unpause(self) -> None:
        (self.fault_dir / "pause").unlink(missing_ok=True)

    def wait_for_paused_child(self, timeout: float = 20) -> tuple[str, int]:
        """(task id, pid) of the first task held by the pause switch."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for marker in self.fault_dir.glob("paused-*"):
                text = marker.read_text().strip()
                if text:
                    return marker.name.removeprefix("paused-"), int(text)
            time.sleep(0.02)
        raise AssertionError("no task was held by the pause switch")

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)

    def clear_markers(self) -> None:
        for marker in self.fault_dir.glob("paused-*"):
            marker.unlink()


@pytest.fixture(scope="session")
def face_stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """Private Redis + a pausable prefork worker (concurrency 1) on the test database.

    Function-level tests point this process at it with `private_face_stack`.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    fault_dir = tmp_path_factory.mktemp("faults")
    (fault_dir / "tmp").mkdir()
    server = PrivateRedis(ARTIFACTS / "private-redis.log")
    server.start()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_DATABASE_URL=test_database_url(django_db_blocker),
        TEST_REDIS_URL=server.url,
        FAULT_DIR=str(fault_dir),
        TMPDIR=str(fault_dir / "tmp"),
    )
    log_path = ARTIFACTS / "private-worker.log"
    worker = start_worker(env, log_path, app="tests.reliability.faulty_worker")
    stack = FaceStack(server, worker, fault_dir)
    try:
        with celery_pointed_at(server.url) as app:
            wait_until_ready(app, worker, log_path)
        yield stack
    finally:
        stop_worker(worker)
        if server.process is None:
            server.start()  # leave nothing half-done for a later test's teardown
        server.stop()


@pytest.fixture
def private_face_stack(face_stack):
    """The private stack, with Redis running and this process's face tasks sent to it."""
    if face_stack.redis.process is None:
        face_stack.redis.start()
    face_stack.unpause()
    face_stack.clear_markers()
    with celery_pointed_at(face_stack.redis.url):
        yield face_stack
    if face_stack.redis.process is None:
        face_stack.redis.start()
    face_stack.unpause()
    face_stack.clear_markers()
