"""A test run or a bench that is killed leaves no process of its own behind: the launcher's
children (the Celery workers) die with the process that started them."""

import subprocess
import sys
import time
from pathlib import Path

from tests.launcher import REPO

# A parent that starts a child the way the launcher starts a worker, says its pid, and waits.
PARENT = """
import subprocess, sys, time
from tests.launcher import dies_with_its_parent
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(60)"],
    preexec_fn=dies_with_its_parent,
    start_new_session=True,
)
print(child.pid, flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_child_started_by_the_launcher_dies_when_its_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    assert _running(child)
    parent.kill()  # as a test run killed mid-way (SIGKILL: no clean-up of its own runs)
    parent.wait()
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)
