"""The parts of a private face stack that fault tests use directly: a free port, our own
redis-server (never the shared one), the web side of this process pointed at it, and the test
database's address for processes started beside the tests."""

import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis


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
