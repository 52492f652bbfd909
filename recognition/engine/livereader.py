"""A process of its own per worker process, reading a burst's head poses and identities while
the worker's process embeds the probe frame (docs/face-engine.md, "Time per attempt").

dlib keeps Python's interpreter lock through its recognition network and through its face
detector and landmarks alike, so in one process the poses of a burst can only be read before
or after the embedding, never beside it. This process reads them on the machine's other core:
the worker hands it the challenge, the frames and the first frame's face (found by the engine's
own scan), embeds the first frame meanwhile (the probe, whenever the person looks at the camera
first, as the page asks), and takes the reading back.

The process is the worker's own: started by it (``Reader.start``), fed over a socket pair
only it holds, ended when the worker ends (the socket closes; on Linux the kernel also sends it
SIGTERM). Anything wrong with it (ended, late, never ready) and the worker reads the burst
itself, as it does without one: the reader changes the time, never the answer.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
READY = "ready"
# How long the worker waits for a reading before reading the burst itself. A reading takes
# about 0.1 s on an idle machine and 40 frames, the most a burst may hold, a few times that
# under load.
ANSWER_SECONDS = 10.0
# How long a burst waits for a new reader to load its models before the worker gives up on it
# and reads the burst itself.
READY_SECONDS = 60.0
# Readers that may end within FAILURE_WINDOW seconds in one worker process before it stops
# starting new ones for the rest of that window.
MAX_FAILURES = 3
FAILURE_WINDOW = 600.0


def _dies_with_its_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Reader:
    """The worker's side: one reader process, one burst at a time."""

    def __init__(self, process: subprocess.Popen, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        self.ready = False
        self.busy = threading.Lock()
        self.answered = 0  # bursts this reader has read
        self._sent = 0  # jobs sent; each answer carries its job's number

    @classmethod
    def start(cls) -> Reader:
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(  # noqa: S603 - our own module, no outside input
                [sys.executable, "-m", "recognition.engine.livereader", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                preexec_fn=_dies_with_its_parent,
            )
        finally:
            theirs.close()
        return cls(process, Connection(ours.detach()))

    def wait_ready(self, seconds: float) -> bool:
        """Whether the reader has loaded its models, waiting for it ``seconds`` at most."""
        if not self.ready and self.connection.poll(seconds):
            self.ready = self.connection.recv() == READY
        return self.ready

    def ask(self, job: tuple):
        """Sends a job; returns a function that waits for its answer, which must be called (or
        ``abandon``). None when the reader is busy with another thread's burst; ReaderFailed
        when it is not there (ended, or never ready: a reader still loading its models is
        waited for, READY_SECONDS at most, as the worker would take as long to load them)."""
        if not self.busy.acquire(blocking=False):
            return None
        try:
            if not self.wait_ready(READY_SECONDS):
                raise TimeoutError
            self._sent += 1
            self.connection.send((self._sent, job))
        except (OSError, EOFError, ValueError, TimeoutError):
            self.busy.release()
            self.stop()
            raise ReaderFailed from None
        return self._answer

    def _answer(self):
        """This job's reading. An answer to an earlier job, abandoned (the task interrupted
        by its time limit while it waited, say), is passed over: never another burst's."""
        deadline = time.monotonic() + ANSWER_SECONDS
        try:
            while True:
                if not self.connection.poll(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError
                number, reading = self.connection.recv()
                if number == self._sent:
                    self.answered += 1
                    return reading
        except (OSError, EOFError, TimeoutError):
            self.stop()
            raise ReaderFailed from None
        finally:
            self.busy.release()

    def abandon(self) -> None:
        """Gives up waiting for the job sent last; its answer will be passed over."""
        self.busy.release()

    def stop(self) -> None:
        try:
            self.connection.close()
        except OSError:
            pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def alive(self) -> bool:
        return self.process.poll() is None and not self.connection.closed


class ReaderFailed(Exception):
    pass


class Readers:
    """At most one reader per process (a reader does not survive the worker's fork: a child
    starts its own). One that ends is started again at the next burst, unless MAX_FAILURES
    ended in this process within FAILURE_WINDOW seconds: the bursts are then read in the worker
    until the window has passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_pid: dict[int, Reader] = {}
        self._failures: dict[int, list[float]] = {}

    def _failing(self, pid: int) -> bool:
        recent = [
            at for at in self._failures.get(pid, []) if at > time.monotonic() - FAILURE_WINDOW
        ]
        self._failures[pid] = recent
        return len(recent) >= MAX_FAILURES

    def start(self) -> None:
        pid = os.getpid()
        with self._lock:
            if pid not in self._by_pid and not self._failing(pid):
                self._by_pid[pid] = Reader.start()

    def current(self) -> Reader | None:
        """This process's reader, a new one when it ended (the next burst waits for it to load,
        as the worker would take as long to load the models itself); None when there is
        none."""
        pid = os.getpid()
        reader = self._by_pid.get(pid)
        if reader is not None and reader.alive():
            return reader
        with self._lock:
            if reader is not None and self._by_pid.get(pid) is reader:
                self._failures.setdefault(pid, []).append(time.monotonic())
                log.warning(
                    "the burst reader process ended (%d times lately)", len(self._failures[pid])
                )
                del self._by_pid[pid]
                reader.stop()
            elif reader is None and not self._failures.get(pid):
                return None  # never started here
        self.start()
        return self._by_pid.get(pid)

    def stop(self) -> None:
        """Ends this process's reader, and forgets how many failed: a reader started after
        this is a fresh start."""
        pid = os.getpid()
        with self._lock:
            reader = self._by_pid.pop(pid, None)
            self._failures.pop(pid, None)
        if reader is not None:
            reader.stop()


def serve(fd: int) -> None:
    """The reader process: loads the models, says it is ready, answers jobs until the worker
    closes the socket."""
    from recognition.engine import livecheck

    # A terminal's Ctrl-C reaches the whole process group: the reader ends when its worker
    # does, by the socket closing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = Connection(fd)
    livecheck.models()
    connection.send(READY)
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        number, (challenge, frames, first) = job
        connection.send((number, livecheck.read_apart(challenge, frames, first)))


if __name__ == "__main__":
    serve(int(sys.argv[1]))
