"""The portal's Celery app, plus a switch that holds a task so a test can kill its worker child.

Started only by the reliability tests (`celery -A tests.reliability.faulty_worker worker`).
While `$FAULT_DIR/pause` reads `before` (or `after`), each task's first delivery writes its
process id to `$FAULT_DIR/paused-<task id>` and sleeps before (or after) the task body, so the
test can SIGKILL that child at a known point. A redelivered task finds its marker and runs
straight through. While `$FAULT_DIR/slow-start` exists, each new pool child takes
SLOW_START_SECONDS longer to start, as on a busy machine. With no switch file the worker is
the plain production worker.
"""

import os
import time
from pathlib import Path

from celery.signals import task_postrun, task_prerun, worker_process_init

from portal.celery import app

__all__ = ["app"]

FAULT_DIR = Path(os.environ.get("FAULT_DIR", "/nonexistent"))
HOLD_SECONDS = 30
SLOW_START_SECONDS = 6  # longer than Celery's default wait for a new pool child (4 s)


def _hold(where: str, task_id: str | None) -> None:
    switch = FAULT_DIR / "pause"
    if not task_id or not switch.exists() or switch.read_text().strip() != where:
        return
    marker = FAULT_DIR / f"paused-{task_id}"
    if marker.exists():
        return
    marker.write_text(str(os.getpid()))
    time.sleep(HOLD_SECONDS)


@task_prerun.connect
def hold_before(task_id=None, **_kwargs) -> None:
    _hold("before", task_id)


@task_postrun.connect
def hold_after(task_id=None, **_kwargs) -> None:
    _hold("after", task_id)


@worker_process_init.connect
def start_slowly(**_kwargs) -> None:
    if (FAULT_DIR / "slow-start").exists():
        time.sleep(SLOW_START_SECONDS)
