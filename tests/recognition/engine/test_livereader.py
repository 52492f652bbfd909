"""The burst reader, a process of the worker's own that reads a burst's poses and identities
while the worker's process embeds the probe frame: the same answers as the worker reading the
burst itself, whatever becomes of the reader, and no reader outliving its worker. Real models,
real processes."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from recognition.engine import get_engine, livecheck, liveness
from tests import liveness_frames as lf

STEPS = (liveness.LEFT, liveness.RIGHT, liveness.LEFT)


def _challenge(steps=STEPS):
    return liveness.Challenge("n" * 22, tuple(steps), 0.0, "sign_in")


@pytest.fixture
def reader():
    livecheck.start_reader()
    started = livecheck.reader()
    assert started is not None and started.wait_ready(60)
    yield started
    livecheck.stop_reader()


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a child of ours that ended stays until it is waited for
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def _bursts(photos):
    """Bursts of every kind the check answers: bona fide (the page's 10 frames; three front
    frames, whose probe is the second), turns by someone else, the wrong order, a still."""
    return {
        "page": (lf.burst([photos["a2"]], STEPS, front=1, turn=2), ""),
        "three front": (lf.burst([photos["a2"]], STEPS, front=3, turn=3), ""),
        "someone else": (lf.burst([photos["b1"], photos["a2"]], STEPS), liveness.TWO_PEOPLE),
        "wrong order": (
            lf.burst([photos["a2"]], (liveness.RIGHT, liveness.LEFT, liveness.LEFT), front=3),
            liveness.WRONG_ORDER,
        ),
        "still": (lf.still(photos["a2"], 12, noise=True), liveness.NO_MOVEMENT),
    }


def test_the_reader_reads_every_burst_as_the_workers_process_does(photos, reader):
    engine = get_engine()
    bursts = _bursts(photos)
    alone = {}
    livecheck.stop_reader()  # the worker's process on its own first
    for name, (frames, _code) in bursts.items():
        alone[name] = livecheck.read_burst(_challenge(), frames, engine)
    livecheck.start_reader()
    reader = livecheck.reader()
    assert reader.wait_ready(60)
    for name, (frames, code) in bursts.items():
        before = reader.answered
        reading = livecheck.read_burst(_challenge(), frames, engine)
        assert reader.answered == before + 1, name  # read by the reader, not here
        expected = alone[name]
        assert reading.code == expected.code == code, name
        assert reading.probe == expected.probe, name
        assert [f.pose for f in reading.frames] == [f.pose for f in expected.frames], name
        assert reading.detections == expected.detections, name
        assert reading.near_detections == expected.near_detections, name
        if code:
            assert reading.scanned is None, name  # no embedding goes with a refusal
            continue
        assert reading.identity_similarities[0] >= livecheck.SAME_PERSON_MIN
        # The probe embedded beside the reading, or after it when it is not the first frame:
        # the engine's embedding of the probe frame's bytes either way.
        assert np.array_equal(engine.embed(reading.scanned), engine.embed(frames[reading.probe]))
        assert np.array_equal(engine.embed(reading.scanned), engine.embed(expected.scanned))


def test_a_reader_still_loading_its_models_is_waited_for(photos):
    # A worker's first burst may come before its reader is ready: reading it in the worker
    # instead would load the models there too, for good.
    frames = lf.burst([photos["a2"]], STEPS, front=1, turn=2)
    livecheck.start_reader()
    try:
        reader = livecheck.reader()
        assert not reader.ready
        assert livecheck.read_burst(_challenge(), frames, get_engine()).code == ""
        assert reader.answered == 1
    finally:
        livecheck.stop_reader()


def test_a_second_face_in_the_first_frame_is_refused_before_the_reader_is_asked(photos, reader):
    frames = lf.burst([photos["a2"]], STEPS, front=1, turn=2)
    frames[0] = lf.jpeg(lf.fit_frame(photos["two"]))
    reading = livecheck.read_burst(_challenge(), frames, get_engine())
    assert reading.code == liveness.TWO_PEOPLE and reading.scanned is None
    assert reader.answered == 0


def test_a_reader_killed_mid_burst_changes_no_answer_and_another_is_started(photos, reader):
    engine = get_engine()
    frames = lf.burst([photos["a2"]], STEPS, front=1, turn=2)
    expected = livecheck.read_burst(_challenge(), frames, engine)
    assert reader.answered == 1
    # Killed while it reads: the worker waits for no answer that will not come, reads the
    # burst itself, the same reading.
    ask = reader.ask
    reader.ask = lambda job: (ask(job), os.kill(reader.process.pid, signal.SIGKILL))[0]
    reading = livecheck.read_burst(_challenge(), frames, engine)
    assert reading.code == "" and reading.probe == expected.probe
    assert [f.pose for f in reading.frames] == [f.pose for f in expected.frames]
    assert np.array_equal(engine.embed(reading.scanned), engine.embed(expected.scanned))
    assert reader.answered == 1
    assert _gone(reader.process.pid)
    # The next burst starts another reader and is read there ...
    assert livecheck.read_burst(_challenge(), frames, engine).code == ""
    another = livecheck.reader()
    assert another is not None and another is not reader and another.answered == 1
    # ... and one killed between two bursts is noticed at the next one, the same way.
    another.process.kill()
    another.process.wait()
    assert livecheck.read_burst(_challenge(), frames, engine).code == ""
    third = livecheck.reader()
    assert third is not None and third is not another and third.answered == 1


def test_an_answer_abandoned_is_never_taken_for_the_next_bursts(photos, reader):
    # The task interrupted (its soft time limit) while the reader read its burst: the next
    # task's burst gets its own reading, not the one left behind.
    engine = get_engine()
    refused = lf.still(photos["a2"], 10, noise=True)
    answer = reader.ask((_challenge(), refused, None))
    assert answer is not None
    reader.abandon()
    frames = lf.burst([photos["a2"]], STEPS, front=1, turn=2)
    reading = livecheck.read_burst(_challenge(), frames, engine)
    assert reading.code == "" and reading.probe == 0
    assert reader.answered == 1


def test_a_reader_that_keeps_failing_is_not_started_again_for_a_while(photos, reader):
    engine = get_engine()
    frames = lf.burst([photos["a2"]], STEPS, front=1, turn=2)
    started = set()
    for _ in range(livecheck.livereader.MAX_FAILURES + 2):
        current = livecheck.reader()
        if current is None:
            break
        started.add(current.process.pid)
        current.wait_ready(60)
        current.process.kill()
        current.process.wait()
        assert livecheck.read_burst(_challenge(), frames, engine).code == ""
    assert livecheck.reader() is None
    assert len(started) == livecheck.livereader.MAX_FAILURES
    assert livecheck.read_burst(_challenge(), frames, engine).code == ""  # read here
    # Once the window has passed, the next burst starts a reader again.
    failures = livecheck._readers._failures[os.getpid()]
    failures[:] = [at - livecheck.livereader.FAILURE_WINDOW for at in failures]
    assert livecheck.read_burst(_challenge(), frames, engine).code == ""
    assert livecheck.reader().answered == 1


@pytest.mark.parametrize("end", ["exits", "is killed"])
def test_a_reader_ends_with_the_process_that_started_it(end):
    script = (
        "import os, sys, time\n"
        "from recognition.engine import livecheck\n"
        "livecheck.start_reader()\n"
        "print(livecheck.reader().process.pid, flush=True)\n"
        "sys.stdin.readline()\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(worker.stdout.readline())
        os.kill(pid, 0)  # running
        if end == "exits":
            worker.stdin.write("\n")
            worker.stdin.flush()
        else:
            worker.kill()
        worker.wait(30)
        assert _gone(pid), f"the reader {pid} outlived its worker"
    finally:
        worker.kill()
        worker.wait()
