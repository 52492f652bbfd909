"""Presentation-attack figures of the face check (ISO/IEC 30107-3 terms), on this machine.

Bona-fide bursts are built from the real photos of ../shared/faces, one person at a time: the
face as photographed for the front poses and turned by a 2D warp for the turns (see
tests/liveness_frames.py), each frame with its own small shift and noise; "two photos" uses a
second photo of the same person for the turns. Attacks: the same photo as every frame (still),
a camera filming a printed photo (static loop: noise, no movement), a recorded bona-fide burst
sent for a new challenge (replay; the same burst with its own nonce is refused by the nonce
before any face work), the challenge's turns in another order (wrong order), and the turns made
by someone else (two people, every ordered pair of people).

APCER: share of attacks the check accepts, per attack type. BPCER: share of bona-fide bursts
it refuses. Time: the check of one burst (every frame read, the identity passes) plus the
engine embedding the probe frame, against one raw embedding of the original photo.
Usage: .venv/bin/python bench/liveness.py [--challenges 4] [--photos DIR] [--front 1 --turn 2]
       [--reader]
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from recognition.engine import (  # noqa: E402
    get_engine,  # noqa: E402
    livecheck,
    liveness,
)
from tests import liveness_frames as lf  # noqa: E402

# Frames per pose, as the page records them (static/js/liveness.js): one facing the camera,
# two per turn held (10 frames for three turns). --front 3 --turn 3 is the earlier page's 21.
FRONT, TURN = 1, 2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--challenges", type=int, default=4)
    parser.add_argument(
        "--photos", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "faces"
    )
    parser.add_argument("--front", type=int, default=FRONT, help="frames per front pose")
    parser.add_argument("--turn", type=int, default=TURN, help="frames per turn")
    parser.add_argument(
        "--reader",
        action="store_true",
        help="read the bursts in a reader process while the probe frame is embedded, as a "
        "worker does (FACE_LIVE_READER)",
    )
    args = parser.parse_args()
    front, turn = args.front, args.turn
    people = defaultdict(list)
    for path in sorted(args.photos.glob("person_*.jpg")):
        people[path.stem.rsplit("_", 1)[0]].append(path.read_bytes())
    engine = get_engine()
    livecheck.models()
    if args.reader:
        livecheck.start_reader()
        livecheck.reader().wait_ready(60)
    rng = random.Random(14)

    def challenge(steps=None):
        found = liveness.new_challenge(0.0, "sign_in", rng=rng)
        return (
            found
            if steps is None
            else liveness.Challenge(found.nonce, tuple(steps), 0.0, "sign_in")
        )

    results = defaultdict(list)  # kind -> [accepted?]
    refusals = defaultdict(lambda: defaultdict(int))
    timings, raw_timings, frames_read = [], [], []

    def check(kind, chall, frames, timed=False):
        started = time.perf_counter()
        # As the worker does (recognition.engine.live): the engine scans the probe frame for
        # the check, then embeds it from that scan.
        reading = livecheck.read_burst(chall, frames, engine)
        if not reading.code:
            engine.embed(reading.scanned or frames[reading.probe])
        if timed:
            timings.append(time.perf_counter() - started)
            frames_read.append((len(frames), reading.embedded))
        results[kind].append(not reading.code)
        if reading.code:
            refusals[kind][reading.code] += 1
        return reading

    for name, photos in people.items():
        for index, photo in enumerate(photos):
            started = time.perf_counter()
            engine.embed(photo)
            raw_timings.append(time.perf_counter() - started)
            for _ in range(args.challenges):
                chall = challenge()
                seed = rng.randrange(2**31)
                frames = lf.burst([photo], chall.steps, seed=seed, front=front, turn=turn)
                check("bona fide, one photo", chall, frames, timed=True)
                other = photos[(index + 1) % len(photos)]
                both = lf.burst([photo, other], chall.steps, seed=seed, front=front, turn=turn)
                check("bona fide, two photos of one person", chall, both)
                # attacks with the same person's photo
                count = len(frames)
                check("still photo", challenge(), lf.still(photo, count, noise=False))
                check(
                    "static loop (camera on a picture)",
                    challenge(),
                    lf.still(photo, count, noise=True),
                )
                check("replay for a new challenge", challenge(), frames)
                order = list(chall.steps)
                while order == list(chall.steps):
                    order = [rng.choice(liveness.TURNS) for _ in chall.steps]
                check(
                    "wrong order",
                    chall,
                    lf.burst([photo], order, seed=seed, front=front, turn=turn),
                )
        for other_name, other_photos in people.items():
            if other_name == name:
                continue
            for photo in photos[:2]:
                chall = challenge()
                frames = lf.burst([photo, other_photos[0]], chall.steps, front=front, turn=turn)
                check("two people", chall, frames)

    reader = livecheck.reader()
    print(
        f"people: {len(people)}, photos: {sum(map(len, people.values()))}, model {engine.model_id}"
        f"; bursts read by a reader process: {reader.answered if reader else 0}"
    )
    for kind, accepted in results.items():
        rate = sum(accepted) / len(accepted)
        label = "BPCER" if kind.startswith("bona fide") else "APCER"
        shown = 1 - rate if label == "BPCER" else rate
        why = ", ".join(f"{code} {n}" for code, n in sorted(refusals[kind].items()))
        print(f"{kind:40s} {label} {shown:6.1%}  ({len(accepted)} bursts; refused: {why})")
    frames, embedded = frames_read[0]
    print(
        f"time per attempt p50 {statistics.median(timings) * 1000:.0f} ms "
        f"({frames} frames read, {embedded} SFace passes + 1 probe embedding); "
        f"raw embedding p50 {statistics.median(raw_timings) * 1000:.0f} ms "
        f"= {statistics.median(timings) / statistics.median(raw_timings):.2f}x"
    )


if __name__ == "__main__":
    main()
