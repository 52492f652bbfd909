"""Face sign-in, enrolment and the door kiosk from a live camera burst answering a challenge.

The worker first checks that the burst answers the challenge the session (or, at a door
kiosk, the paired device) was given (nonce, scope, time), then reads the burst
(:mod:`recognition.engine.livecheck`) and only then matches, enrols or identifies the probe frame
through the usual services. A refused burst leaves one attempt row with the refusal's code,
like a refused photo; nothing else is written.

Challenges are counted per client (an address, an account, a device): a client asking for
more than FACE_CHALLENGES_PER_MINUTE in a minute is told to wait.
"""

from django.conf import settings

from portal.models import User
from recognition.doors import door
from recognition.engine import ScannedPhoto, facework, livecheck, liveness
from recognition.lifecycle import services
from recognition.models import Attempt

SCOPE_SIGN_IN = "sign_in"
SCOPE_ENROLMENT = "enrolment"
SCOPE_DOOR = "door"
# What the attempt log keeps as the liveness of a kiosk face that answered its challenge.
DOOR_ATTESTATION = "portal:challenge"

# Challenges asked for, counted per client in a window of a minute (recognition.engine.facework).
CHALLENGES = "face-challenges"


def challenge_wait(client: str) -> int:
    """Counts one challenge for this client (an address, an account or a device): 0 when it
    may have it, else the seconds to wait. A burst needs a challenge, so this bounds the
    bursts a client can have checked, and the rows and sessions it can make the portal write."""
    return facework.take(client, settings.FACE_CHALLENGES_PER_MINUTE, scope=CHALLENGES)


def challenge_payload(challenge: liveness.Challenge) -> dict:
    """What the page needs to prompt a challenge: its nonce, turns and prompts."""
    return {
        "nonce": challenge.nonce,
        "steps": [
            {"pose": step, "prompt": str(liveness.PROMPTS[step])} for step in challenge.steps
        ],
        "front": str(liveness.PROMPTS[liveness.FRONT]),
        "expires_in": int(liveness.DEFAULT_TTL_SECONDS),
    }


def _refused(code: str, **extra) -> dict:
    return services._result(False, code, liveness.message(code), **extra)


def _replayed(job_id: str) -> Attempt | None:
    done = Attempt.objects.filter(job_id=job_id).first() if job_id else None
    if done is not None and done.detail in liveness.MESSAGES:
        return done
    return None


def _read(
    challenge_data, nonce, scope, received_at, frames, engine
) -> tuple[str, bytes | ScannedPhoto]:
    """A refusal code, or "" and the probe frame as the engine takes it: already decoded and
    scanned by the check when the engine could scan it (not again in the engine), else its
    bytes."""
    challenge = liveness.Challenge.from_dict(challenge_data) if challenge_data else None
    code = liveness.check_answer(
        challenge, nonce=nonce, scope=scope, received_at=received_at, frame_count=len(frames)
    )
    if code:
        return code, b""
    reading = livecheck.read_burst(challenge, frames, engine)
    if reading.code or reading.probe is None:
        return reading.code, b""
    return "", reading.scanned or frames[reading.probe]


def verify_face_live(
    person_id: int | None,
    challenge_data: dict | None,
    nonce: str,
    received_at: float,
    frames: list[bytes],
    engine,
    *,
    job_id: str = "",
) -> dict:
    """Face sign-in from a burst: the liveness check, then the 1:1 match of the probe frame."""
    done = _replayed(job_id)
    if done is not None:
        return _refused(done.detail, person_id=None)
    code, probe = _read(challenge_data, nonce, SCOPE_SIGN_IN, received_at, frames, engine)
    if code:
        services.log_refused_face(code, Attempt.SIGN_IN, job_id, person_id=person_id)
        return _refused(code, person_id=None)
    return services.verify_face(person_id, probe, engine, job_id=job_id)


def enrol_face_live(
    person_id: int,
    purpose_id: int,
    challenge_data: dict | None,
    nonce: str,
    received_at: float,
    frames: list[bytes],
    engine,
    *,
    job_id: str = "",
) -> dict:
    """Enrolment from a burst: the liveness check, then the probe frame enrolled."""
    from consent.models import Purpose

    done = _replayed(job_id)
    if done is not None:
        return _refused(done.detail)
    code, probe = _read(challenge_data, nonce, SCOPE_ENROLMENT, received_at, frames, engine)
    if code:
        purpose = Purpose.objects.select_related("building").filter(pk=purpose_id).first()
        person = User.objects.get(pk=person_id)
        services.log_refused_face(code, Attempt.ENROLMENT, job_id, person=person, purpose=purpose)
        return _refused(code)
    return services.enrol_face(person_id, purpose_id, probe, engine, job_id=job_id)


def identify_at_door_live(
    device_id: int,
    challenge_data: dict | None,
    nonce: str,
    received_at: float,
    frames: list[bytes],
    engine,
    *,
    job_id: str = "",
) -> dict:
    """A door kiosk's face: the challenge its device was given, then 1:N of the probe frame."""
    done = door.replayed(job_id)
    if done is not None:
        return done
    code, probe = _read(challenge_data, nonce, SCOPE_DOOR, received_at, frames, engine)
    if code:
        return door.refuse_live_face(device_id, code, liveness.door_message(code), job_id=job_id)
    return door.identify_at_door(device_id, probe, engine, job_id=job_id, liveness=DOOR_ATTESTATION)
