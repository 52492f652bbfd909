"""A throw-away production-shaped stack on loopback for benchmarks: its own PostgreSQL
database and Redis database, gunicorn and a Celery worker, started and stopped by the script."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(db_name: str, redis_db: int) -> dict:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="true",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{db_name}",
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        LOG_LEVEL="ERROR",
        SIGNIN_FREE_FAILURES="100000",
    )


def use_in_this_process(env: dict) -> None:
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DJANGO_SETTINGS_MODULE",
                "DEBUG",
                "DATABASE_URL",
                "REDIS_URL",
                "LOG_LEVEL",
                "SIGNIN_FREE_FAILURES",
            )
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def recreate_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{db_name}"')


def drop_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@contextmanager
def processes(
    env: dict,
    *,
    web_workers: int,
    face_workers: int,
    log_dir: Path,
    web_threads: int = 1,
    worker_loglevel: str = "WARNING",
):
    """gunicorn on a free port and a prefork Celery worker; yields the base URL.
    ``worker_loglevel="INFO"`` has the worker log each task's run time."""
    from tests.launcher import start_worker, wait_until_ready

    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    started = []
    web_log = open(log_dir / "web.log", "w")  # noqa: SIM115
    started.append(
        subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(web_workers),
                "--timeout",
                "60",
                "--threads",
                str(web_threads),
            ],
            cwd=REPO,
            env=env,
            stdout=web_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    )
    worker = start_worker(
        env,
        log_dir / "worker.log",
        concurrency=face_workers,
        loglevel=worker_loglevel,
        new_session=True,
    )
    started.append(worker)
    try:
        from portal.celery import app

        wait_until_ready(app, worker, log_dir / "worker.log")
        time.sleep(2 * (face_workers - 1))  # the other children load the model after the fork
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in started:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        web_log.close()
