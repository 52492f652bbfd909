"""A private face stack for fault tests: our own redis-server on a free port (stopped and
started at will, never the shared one), a Celery worker on it that can be made to pause, and
the web side of this process pointed at it."""

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import ARTIFACTS
from tests.launcher import start_worker, stop_worker, wait_until_ready
from tests.recognition.conftest import (  # noqa: F401 (fixtures shared with these tests)
    door_purpose,
    front_door,
    photos,
    sign_in_purpose,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own: no persistence, loopback only."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2)


def _reset_connections(app) -> None:
    """Forget the app's broker pools and result backend so the next use reads the config."""
    from kombu import pools

    pools.reset()  # closes and forgets this process's connection and producer pools
    app._pool = None
    try:
        app.__dict__["amqp"]._producer_pool = None
    except KeyError:
        pass
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@contextmanager
def celery_pointed_at(url: str):
    """The web side of this process sends face tasks to `url` and reads results there."""
    from portal.celery import app

    saved = (app.conf.broker_url, app.conf.result_backend)
    _reset_connections(app)
    app.conf.broker_url = url
    app.conf.result_backend = url
    try:
        yield app
    finally:
        _reset_connections(app)
        app.conf.broker_url, app.conf.result_backend = saved


def test_database_url(django_db_blocker) -> str:
    from django.db import connection

    with django_db_blocker.unblock():
        db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


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
