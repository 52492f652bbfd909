"""The active challenge of face sign-in and enrolment: pure rules, no ORM, no face model.

The server issues a random, single-use, short-lived challenge (a sequence of head turns) bound
to the session; the page prompts the person and records a short burst of camera frames; the
worker reads the head pose of every frame from dlib's 68 landmarks and checks here that the
burst answers this challenge (its nonce, in time) with the turns in the challenge's order.

Poses are read from the unmirrored camera frame. ``yaw_from_landmarks`` is positive when the
nose is nearer the face's right edge in the image, which is where it goes when the person turns
to *their own* left; "left" and "right" are always the person's own, as the prompts say.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

LEFT = "left"
RIGHT = "right"
FRONT = "front"
TURNS = (LEFT, RIGHT)

# A challenge of STEPS turns drawn from left/right with repeats (8 sequences of 3): a video
# that loops left-right-left answers at most two of them, a still answers none.
DEFAULT_STEPS = 3
# The burst must come back within this many seconds of the challenge being issued.
DEFAULT_TTL_SECONDS = 30.0
# Frames per burst: enough for every turn and the front poses between, few enough to bound
# the worker's work (each frame is detected and its landmarks read).
MIN_FRAMES = 2 * DEFAULT_STEPS + 1
MAX_FRAMES = 40
MAX_FRAME_BYTES = 256 * 1024

# |yaw| below FRONT_MAX is looking at the camera; from TURN_MIN on, a turn. Between the two a
# frame says nothing (on its way). Frontal photos of ../shared/faces measured |yaw| <= 0.21;
# a head turned as the prompts ask moves the nose well past 0.3 (see docs/face-engine.md).
FRONT_MAX = 0.25
TURN_MIN = 0.3

# Stable refusal codes; the messages say what to do and that the code route is there.
NO_CHALLENGE = "liveness_no_challenge"
EXPIRED = "liveness_expired"
FRAMES = "liveness_frames"
NO_MOVEMENT = "liveness_no_movement"
WRONG_ORDER = "liveness_wrong_order"
TWO_PEOPLE = "liveness_two_people"
NO_FACE = "liveness_no_face"

MESSAGES = {
    NO_CHALLENGE: _(
        "This face check was not started here or was already used. Start the camera again "
        "for a new check, or use your password and code."
    ),
    EXPIRED: _(
        "The face check took too long. Start the camera again for a new check, or use your "
        "password and code."
    ),
    FRAMES: _(
        "The camera recording was incomplete. Start the camera again, or use your password "
        "and code."
    ),
    NO_MOVEMENT: _(
        "No head movement was seen: a photo or a still picture cannot pass. Turn your head as "
        "the prompts say, or use your password and code."
    ),
    WRONG_ORDER: _(
        "The head movements did not follow the prompts in order. Start again and follow them, "
        "or use your password and code."
    ),
    NO_FACE: _(
        "No face was seen during the check. Face the camera in good light, or use your "
        "password and code."
    ),
    TWO_PEOPLE: _(
        "More than one person was seen during the check. Only the person concerned may be in "
        "front of the camera. Start again, or use your password and code."
    ),
}

# The same refusals at a door kiosk, where the way in without a face is the door code.
DOOR_MESSAGES = {
    NO_CHALLENGE: _(
        "This face check was not started here or was already used. Start the face check "
        "again, or use your door code."
    ),
    EXPIRED: _("The face check took too long. Start it again, or use your door code."),
    FRAMES: _("The camera recording was incomplete. Start again, or use your door code."),
    NO_MOVEMENT: _(
        "No head movement was seen: a photo or a still picture cannot pass. Turn your head as "
        "the prompts say, or use your door code."
    ),
    WRONG_ORDER: _(
        "The head movements did not follow the prompts in order. Start again and follow them, "
        "or use your door code."
    ),
    NO_FACE: _("No face was seen during the check. Face the camera, or use your door code."),
    TWO_PEOPLE: _(
        "More than one person was seen during the check. Step up one at a time, or use your "
        "door code."
    ),
}

PROMPTS = {
    FRONT: _("Look straight at the camera."),
    LEFT: _("Turn your head to your left."),
    RIGHT: _("Turn your head to your right."),
}


@dataclass(frozen=True)
class Challenge:
    nonce: str
    steps: tuple[str, ...]
    issued_at: float  # seconds since the epoch, from the clock seam
    scope: str  # "sign_in", "enrolment" or "door": a challenge answers only where it was issued

    def as_dict(self) -> dict:
        return {
            "nonce": self.nonce,
            "steps": list(self.steps),
            "issued_at": self.issued_at,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data) -> Challenge | None:
        try:
            steps = tuple(str(step) for step in data["steps"])
            challenge = cls(str(data["nonce"]), steps, float(data["issued_at"]), str(data["scope"]))
        except (KeyError, TypeError, ValueError):
            return None
        if not steps or any(step not in TURNS for step in steps):
            return None
        return challenge


def new_challenge(
    now: float, scope: str, *, steps: int = DEFAULT_STEPS, rng: secrets.SystemRandom | None = None
) -> Challenge:
    """A fresh challenge: a 128-bit nonce and ``steps`` turns drawn at random."""
    rng = rng or secrets.SystemRandom()
    return Challenge(
        nonce=secrets.token_urlsafe(16),
        steps=tuple(rng.choice(TURNS) for _ in range(steps)),
        issued_at=float(now),
        scope=scope,
    )


def yaw_from_landmarks(points: Sequence[tuple[float, float]]) -> float:
    """Signed head turn from dlib's 68 landmarks, about -1 (own right) to 1 (own left).

    Where the nose tip (30) sits between the two sides of the face: the jaw line's ends (0, 16)
    and the outer eye corners (36, 45), averaged. 0 when the nose is midway (facing the camera).
    """
    if len(points) != 68:
        raise ValueError("68 landmarks are needed.")
    nose_x = points[30][0]
    ratios = []
    for left, right in ((0, 16), (36, 45)):
        span = points[right][0] - points[left][0]
        if span <= 0:
            return 0.0  # degenerate (mirrored or collapsed) shape: says nothing
        ratios.append((nose_x - points[left][0]) / span)
    return max(-1.0, min(1.0, 2.0 * sum(ratios) / len(ratios) - 1.0))


def pose_of(yaw: float, *, front_max: float = FRONT_MAX, turn_min: float = TURN_MIN) -> str | None:
    """FRONT, LEFT, RIGHT, or None for a frame between poses."""
    if abs(yaw) < front_max:
        return FRONT
    if yaw >= turn_min:
        return LEFT
    if yaw <= -turn_min:
        return RIGHT
    return None


def runs(poses: Sequence[str | None]) -> list[tuple[str, list[int]]]:
    """Consecutive frames of the same pose, as (pose, frame indexes); undecided frames skipped."""
    found: list[tuple[str, list[int]]] = []
    for index, pose in enumerate(poses):
        if pose is None:
            continue
        if found and found[-1][0] == pose:
            found[-1][1].append(index)
        else:
            found.append((pose, [index]))
    return found


def moves(poses: Sequence[str | None]) -> list[str]:
    """The turns made, in order: runs of one pose, front poses between them dropped.

    Turning left twice shows as left, front, left: two moves. Holding a turn is one move.
    """
    return [pose for pose, _frames in runs(poses) if pose != FRONT]


def check_answer(
    challenge: Challenge | None,
    *,
    nonce: str,
    scope: str,
    received_at: float,
    frame_count: int,
    ttl: float = DEFAULT_TTL_SECONDS,
) -> str:
    """Whether a burst may be looked at at all: "" or a refusal code. Before any face work."""
    if challenge is None or not secrets.compare_digest(challenge.nonce, nonce or ""):
        return NO_CHALLENGE
    if challenge.scope != scope:
        return NO_CHALLENGE
    age = received_at - challenge.issued_at
    if age < 0 or age > ttl:
        return EXPIRED
    if not MIN_FRAMES <= frame_count <= MAX_FRAMES:
        return FRAMES
    return ""


def check_moves(challenge: Challenge, poses: Sequence[str | None]) -> str:
    """Whether the frames' poses answer the challenge: "" or a refusal code.

    The burst must begin facing the camera, make exactly the challenge's turns in its order and
    end facing the camera again (so the last turn is a movement, not a picture held turned).
    """
    made = moves(poses)
    if not made:
        return NO_MOVEMENT
    found = runs(poses)
    if found[0][0] != FRONT or found[-1][0] != FRONT:
        return WRONG_ORDER if made else NO_MOVEMENT
    if made != list(challenge.steps):
        return WRONG_ORDER
    return ""


def frames_to_embed(poses: Sequence[str | None]) -> tuple[int, list[int]]:
    """The frame matched against the template (the most central frame of the first front
    run) and one frame per turn, whose identities are compared with it."""
    found = runs(poses)
    first_front = next(frames for pose, frames in found if pose == FRONT)
    probe = first_front[len(first_front) // 2]
    turns = [frames[len(frames) // 2] for pose, frames in found if pose != FRONT]
    return probe, turns


def message(code: str):
    return MESSAGES[code]


def door_message(code: str):
    return DOOR_MESSAGES[code]
