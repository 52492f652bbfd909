"""Starts and stops real Celery worker processes: one launcher for the tests and the benchmarks.

A worker counts as ready only once a task has made the round trip through a pool child: the
parent answers `control.ping` before its children have loaded the face model, and a first face
task sent then can miss its deadline on a busy machine.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def dies_with_its_parent() -> None:
    """Run in a child before it starts (``preexec_fn``): on Linux the child is sent SIGTERM
    when the process that started it dies, so that a test run or a bench that is killed
    leaves no worker behind (a Celery worker's SIGTERM is its warm shutdown)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_worker(
    env: dict,
    log_path: Path,
    *,
    app: str = "portal",
    concurrency: int = 1,
    queues: str = "latency,maintenance",
    loglevel: str = "INFO",
    new_session: bool = False,
) -> subprocess.Popen:
    """A prefork Celery worker process with its output in `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--queues",
                queues,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                loglevel,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            preexec_fn=dies_with_its_parent,  # noqa: PLW1509 (started from the main thread)
        )


def wait_until_ready(app, process: subprocess.Popen, log_path: Path, timeout: float = 120) -> None:
    """Waits for the parent's ping, then for a task answered by a pool child (model loaded)."""
    from portal.tasks import ping

    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=1):
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited; see {log_path}")
        if time.monotonic() > deadline:
            stop_worker(process)
            raise RuntimeError(f"Celery worker did not answer in time; see {log_path}")
    ping.apply_async(args=["warm"], queue="latency").get(
        timeout=max(1.0, deadline - time.monotonic())
    )


def stop_worker(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stops the worker (its whole process group when it was started in a session of its own)."""
    if process.poll() is not None:
        return
    try:
        if process.pid == os.getpgid(process.pid):
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextmanager
def gunicorn(
    env: dict, log_path: Path, *extra: str, ready_path: str = "/accounts/login/", headers=None
):
    """gunicorn on a free loopback port with `extra` arguments; yields its base URL once
    `ready_path` answers, and stops it afterwards."""
    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        web = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "portal.wsgi"]
            + ["--bind", f"127.0.0.1:{port}", *extra],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(base + ready_path, headers=headers, timeout=10)
            break
        except requests.RequestException:
            if time.monotonic() > deadline or web.poll() is not None:
                web.kill()
                raise RuntimeError(f"gunicorn did not start; see {log_path}") from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        web.terminate()
        web.wait(timeout=20)
