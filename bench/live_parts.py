"""Where the time of one live face sign-in goes inside the worker task, part by part.

Runs the worker's task (recognition.tasks.verify_face_live) in this process on the bench's
burst (the page's 10 frames built from one photo, as bench/verify.py sends them), against a
real PostgreSQL database and Redis, and times each part by its own (exclusive) time: the
burst's way out of Redis, decoding, the whole-frame and near-the-face HOG scans, the 68
landmarks, SFace, the engine's detection, crop and network, decrypting the template, SQL
queries, and the rest (the burst reader's own parts run in its process, and show here only as
the wait for its reading). One raw embedding of the probe photo is timed alternately, as
bench/verify.py does. With --profile, cProfile's top functions by cumulative time follow.
Usage: .venv/bin/python bench/live_parts.py [--runs 20] [--photos DIR] [--profile]
       [--database NAME] [--redis-db N] [--front 1 --turn 2] [--no-reader]
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _stack  # noqa: E402

DB = "portal_bench_live_parts"
REDIS_DB = 13


class Clock:
    """Exclusive time per part: a part's own time, without the parts timed inside it. Parts
    timed on another thread than the task's (the liveness check's helper) are kept apart, in
    ``overlapped``: they run while the task goes on, and are not part of its time."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.overlapped: dict[str, float] = defaultdict(float)
        self._local = threading.local()

    @property
    def _stack(self) -> list[list]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def enter(self, name: str) -> None:
        self._stack.append([name, time.perf_counter(), 0.0])

    def leave(self) -> None:
        name, started, inner = self._stack.pop()
        elapsed = time.perf_counter() - started
        if threading.current_thread() is not threading.main_thread():
            self.overlapped[name] += elapsed - inner
        else:
            self.spent[name] += elapsed - inner
        self.calls[name] += 1
        if self._stack:
            self._stack[-1][2] += elapsed

    def wrap(self, owner, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            self.enter(name)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, attribute, timed)


class _Timed:
    """A stand-in for a dlib or OpenCV model whose calls are timed (their classes are C)."""

    def __init__(self, clock: Clock, model, name: str) -> None:
        self._clock, self._model, self._name = clock, model, name

    def __call__(self, *args, **kwargs):
        self._clock.enter(self._name)
        try:
            return self._model(*args, **kwargs)
        finally:
            self._clock.leave()

    def __getattr__(self, attribute):
        value = getattr(self._model, attribute)
        if not callable(value):
            return value

        def timed(*args, **kwargs):
            self._clock.enter(self._name)
            try:
                return value(*args, **kwargs)
            finally:
                self._clock.leave()

        return timed


def instrument(clock: Clock, engine) -> None:
    from django.db import connection

    from recognition import tasks
    from recognition.engine import imaging, livecheck, livereader
    from recognition.lifecycle import crypto

    m = livecheck.models()
    clock.wrap(imaging, "decode_image", "decode (every frame; the probe again in the engine)")
    clock.wrap(livecheck, "_detect", "liveness: whole-frame HOG scan")
    m.detector = _Timed(clock, m.detector, "liveness: HOG (whole frame and near the face)")
    m.landmarks = _Timed(clock, m.landmarks, "liveness: 68 landmarks")
    m.sface = _Timed(clock, m.sface, "liveness: SFace (align; network)")
    clock.wrap(livecheck, "_detect_near", "liveness: near-face crop and resize")
    clock.wrap(engine, "_detect_dlib_hog", "engine: whole-frame HOG + 5 landmarks")
    clock.wrap(engine, "_face_chip", "engine: aligned crop")
    clock.wrap(engine, "_represent", "engine: Dlib network (x2, mirror)")
    clock.wrap(crypto, "decrypt_embedding", "decrypting the template")
    clock.wrap(tasks, "burst", "broker: burst out of Redis, opened, unpacked")
    clock.wrap(livereader.Reader, "ask", "reader: the burst sent to it")
    clock.wrap(livereader.Reader, "_answer", "reader: waiting for its reading")

    def sql(execute, query, params, many, context):
        clock.enter("SQL queries")
        try:
            return execute(query, params, many, context)
        finally:
            clock.leave()

    connection.execute_wrappers.append(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--photos", type=Path, default=_stack.REPO.parent / "shared" / "faces")
    parser.add_argument("--database", default=DB, help="scratch database, dropped at the end")
    parser.add_argument("--redis-db", type=int, default=REDIS_DB)
    parser.add_argument("--front", type=int, default=1, help="frames per front pose")
    parser.add_argument("--turn", type=int, default=2, help="frames per turn")
    parser.add_argument("--profile", action="store_true", help="cProfile's top functions too")
    parser.add_argument(
        "--no-reader", action="store_true", help="read bursts in the task's process (as before)"
    )
    args = parser.parse_args()
    enrolled = (args.photos / "person_a_1.jpg").read_bytes()
    probe = (args.photos / "person_a_2.jpg").read_bytes()

    env = _stack.stack_env(args.database, args.redis_db)
    _stack.recreate_database(args.database)
    _stack.use_in_this_process(env)
    import os

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("prepare_face_model", verbosity=0)

    from bench.verify import enrolled_staff
    from recognition import tasks
    from recognition.engine import broker, get_engine, livecheck, liveness
    from tests.liveness_frames import burst

    engine = get_engine()
    livecheck.models()
    if not args.no_reader:  # as a worker process does (FACE_LIVE_READER)
        livecheck.start_reader()
        livecheck.reader().wait_ready(60)
    staff = enrolled_staff(engine, enrolled)

    def prepared() -> tuple:
        challenge = liveness.new_challenge(time.time(), "sign_in")
        frames = burst([probe], challenge.steps, front=args.front, turn=args.turn)
        return challenge, broker.store_photo(broker.pack_burst(frames), ttl=30)

    def attempt(challenge, reference) -> float:
        started = time.perf_counter()
        answer = tasks.verify_face_live.run(
            staff.pk, challenge.as_dict(), challenge.nonce, time.time(), reference
        )
        elapsed = time.perf_counter() - started
        broker.discard_photo(reference)
        if not answer["ok"]:
            raise RuntimeError(f"the bench's burst was refused: {answer}")
        return elapsed

    attempt(*prepared())  # warm up
    engine.embed(probe)
    clock = Clock()
    instrument(clock, engine)
    totals, raw = [], []
    profiler = cProfile.Profile() if args.profile else None
    for _ in range(args.runs):
        spent, calls, overlapped = dict(clock.spent), dict(clock.calls), dict(clock.overlapped)
        challenge, reference = prepared()  # the bench's frames: drawn with the check's models
        started = time.perf_counter()
        engine.embed(probe)
        raw.append(time.perf_counter() - started)
        # only the task's parts are counted
        clock.spent.clear(), clock.spent.update(spent)
        clock.calls.clear(), clock.calls.update(calls)
        clock.overlapped.clear(), clock.overlapped.update(overlapped)
        if profiler:
            profiler.enable()
        totals.append(attempt(challenge, reference))
        if profiler:
            profiler.disable()
    _stack.drop_database(args.database)
    runs = args.runs
    task = sum(totals) / runs
    reader = livecheck.reader()
    print(
        f"runs {runs}, load average {os.getloadavg()[0]:.1f} at the end; bursts read by the "
        f"reader process: {reader.answered if reader else 0}"
    )
    print(f"raw embedding of the probe photo p50 {statistics.median(raw) * 1000:7.1f} ms")
    print(
        f"worker task p50 {statistics.median(totals) * 1000:7.1f} ms, "
        f"mean {task * 1000:.1f} ms = {statistics.median(totals) / statistics.median(raw):.2f}x raw"
    )
    print("part (exclusive time, mean per attempt)                   ms   calls  share")
    named = 0.0
    for name, spent in sorted(clock.spent.items(), key=lambda item: -item[1]):
        named += spent
        print(
            f"  {name:55s} {spent / runs * 1000:6.1f} {clock.calls[name] / runs:6.1f} "
            f"{spent / runs / task:6.1%}"
        )
    rest = task - named / runs
    print(
        f"  {'the rest (Python around them, rules, audit)':55s} {rest * 1000:6.1f}        "
        f"{rest / task:6.1%}"
    )
    for name, spent in sorted(clock.overlapped.items(), key=lambda item: -item[1]):
        print(
            f"  {name + ', helper thread':55s} {spent / runs * 1000:6.1f}         "
            "wall time beside the task's, waits for the interpreter included"
        )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
