"""What a door device may do: identify a face (1:N), verify a claimed person's face (1:1), or
open with a code (the person's door code or one-time code). Every call leaves one Attempt
row (device, method, result, distance, time; never an image) and answers with a small dict.

The code route is open at every device, whatever its purpose, and is throttled under its own
scopes, so a face route locked after failures never blocks it. Person counters are kept per
(device, person) and only for members of the device's building: no device of another building
can touch a resident, and a locked person at one door is not locked at the next. A keypad under
attack is slowed (at most DOOR_KEYPAD_MAX_WAIT_SECONDS between checks), never locked, so a
valid door code opens after a few seconds at worst. Face answers are computed in
the worker (`recognition.tasks`); the code route needs no worker and runs in the web process.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from consent import rules as consent_rules
from portal import audit, signin, throttle
from portal.models import Membership
from recognition import policy
from recognition.doors import doorcodes, identify
from recognition.engine.imaging import ImageRejected
from recognition.lifecycle import crypto
from recognition.lifecycle.services import log_attempt
from recognition.models import Attempt, Device, FaceTemplate

if TYPE_CHECKING:  # the engine is imported where it runs
    from recognition.engine import ScannedPhoto

# Throttle scopes: the face route and the code route are counted apart.
FACE_DEVICE = "door-face-device"
FACE_PERSON = "door-face-person"
CODE_DEVICE = "door-code-device"
CODE_PERSON = "door-code-person"

# Detail codes of refused attempts.
FACE_NOT_OFFERED = "face_not_offered"
NO_ANSWER = "no_answer"
AMBIGUOUS = "ambiguous"  # the face is within the threshold of more than one person
# The one code a device sees for any face that does not open: whether nobody came close, the
# claimed person is not enrolled here, or two people came close stays in the attempt log.
NOT_RECOGNISED_CODE = "not_recognised"
DOOR_CODE = "door_code"
ONE_TIME_CODE = "one_time_code"
BACKUP_CODE = "backup_code"

NOT_OFFERED = _(
    "Face recognition is not used at this door. Please use your door code or one-time code."
)
NOT_RECOGNISED = _("Not recognised. Please use your door code or one-time code instead.")
CODE_REFUSED = _("This code is not accepted here. Check it, or ask for a new door code.")
USE_CODE = _("You can still open the door with your door code or one-time code.")


def device_free_failures() -> int:
    """A door sees many people: a device tolerates more failures than one person does."""
    return settings.SIGNIN_FREE_FAILURES * 4


def _person_key(device: Device, person_id) -> str:
    return f"{device.pk}:{person_id}"


def _keypad_options() -> dict:
    """A keypad's wrong codes slow it down, a second at first, never more than
    DOOR_KEYPAD_MAX_WAIT_SECONDS: brute force stays slow, the next resident waits seconds."""
    return {
        "free_failures": device_free_failures(),
        "base_seconds": 1,
        "max_seconds": settings.DOOR_KEYPAD_MAX_WAIT_SECONDS,
    }


def face_offered(device: Device, *, identification: bool) -> bool:
    """May this device use faces now? Identification needs a 1:N purpose; verification any."""
    purpose = device.purpose
    if purpose is None or purpose.status != consent_rules.ACTIVE:
        return False
    if purpose.building_id != device.building_id or not device.location.placement().allowed:
        return False
    if purpose.kind != consent_rules.KIND_DOOR or not consent_rules.leaves_device(purpose.storage):
        # Sign-in templates never open a door; data kept on the device only never reaches us.
        return False
    if policy.public_area_purpose_problem(device.location.kind, purpose.public_security):
        return False  # a public area: public security only, whatever was registered before
    return not identification or purpose.method == consent_rules.IDENTIFICATION


def face_locked_message(seconds: int) -> str:
    return " ".join([signin.locked_message(seconds), str(USE_CODE)])


def is_member(person_id: int | None, building_id: int) -> bool:
    if person_id is None:
        return False
    return (
        Membership.objects.current()
        .filter(user_id=person_id, building_id=building_id, user__is_active=True)
        .exists()
    )


def answer(attempt: Attempt, message="", retry_after: int = 0) -> dict:
    """The device's answer: open or not and a reason code; the person only when it opens.

    No image, no embedding and no distance, score or similarity: a device that learnt how
    close a photo came could steer a forgery towards a resident or learn who is enrolled.
    Distances stay in the worker and the attempt log.
    """
    opened = attempt.result == Attempt.MATCH
    return {
        "open": opened,
        "result": attempt.result,
        "method": attempt.method,
        "person_id": attempt.person_id if opened else None,
        "attempt_id": attempt.pk,
        "code": public_code(attempt),
        "message": str(message),
        "retry_after": retry_after,
    }


def public_code(attempt: Attempt) -> str:
    """The reason code a device may see: a face that does not open is only "not recognised"."""
    if attempt.method == Attempt.FACE and attempt.result == Attempt.NO_MATCH:
        return NOT_RECOGNISED_CODE
    return attempt.detail


def replayed(job_id: str) -> dict | None:
    """The answer already given for this task id (a redelivered task logs nothing twice)."""
    if not job_id:
        return None
    done = Attempt.objects.filter(job_id=job_id).first()
    return answer(done) if done is not None else None


def _locked(keys: list[tuple[str, str]]) -> int:
    return max((throttle.seconds_locked(scope, key) for scope, key in keys), default=0)


def _failed(device: Device, device_scope: str, person_scope: str, person_id, member) -> None:
    """Counts a failure for the device, and for (device, person) only when the person named
    belongs to the device's building."""
    if device_scope == CODE_DEVICE:
        throttle.record_failure(device_scope, str(device.pk), **_keypad_options())
    else:
        throttle.record_failure(device_scope, str(device.pk), free_failures=device_free_failures())
    if member:
        throttle.record_failure(
            person_scope, _person_key(device, person_id), half_life=throttle.CODE_HALF_LIFE
        )


def _door_attempt(device: Device, *, method: str, **fields) -> Attempt:
    return log_attempt(
        channel=Attempt.DOOR,
        method=method,
        device=device,
        building=device.building,
        purpose=device.purpose if method == Attempt.FACE else None,
        **fields,
    )


def log_unavailable(device: Device, person_id: int | None = None) -> Attempt:
    """The web process's record of a face request no worker answered within the deadline."""
    return _door_attempt(
        device,
        method=Attempt.FACE,
        result=Attempt.UNAVAILABLE,
        detail=NO_ANSWER,
        person_id=person_id if is_member(person_id, device.building_id) else None,
    )


def _probe(device, image, engine, face: dict, keys, *, identification: bool):
    """(the photo's embedding, None), or (None, the door's answer) when the face is not looked
    at: face not offered at this door, a lock on one of ``keys``, or a photo refused. Each
    refusal is logged as the door's attempt."""
    if not face_offered(device, identification=identification):
        attempt = _door_attempt(device, result=Attempt.UNAVAILABLE, detail=FACE_NOT_OFFERED, **face)
        return None, answer(attempt, NOT_OFFERED)
    wait = _locked(keys)
    if wait:
        attempt = _door_attempt(device, result=Attempt.THROTTLED, **face)
        return None, answer(attempt, face_locked_message(wait), retry_after=wait)
    try:
        return engine.embed(image), None
    except ImageRejected as rejected:
        attempt = _door_attempt(device, result=Attempt.REJECTED, detail=rejected.code, **face)
        return None, answer(attempt, rejected.message)


def identify_at_door(
    device_id: int, image: "bytes | ScannedPhoto", engine, *, job_id: str = "", liveness: str = ""
) -> dict:
    """1:N: the photo against every usable template of the device's building and purpose.
    ``liveness`` is the terminal's own liveness attestation, kept with the attempt. ``image``
    may be the kiosk burst's probe frame as the engine already scanned it (engine.live)."""
    done = replayed(job_id)
    if done is not None:
        return done
    device = Device.objects.select_related("building", "location", "purpose").get(pk=device_id)
    face = {"method": Attempt.FACE, "job_id": job_id or None, "liveness": liveness}
    keys = [(FACE_DEVICE, str(device.pk))]
    probe, refused = _probe(device, image, engine, face, keys, identification=True)
    if refused is not None:
        return refused
    found = identify.identify(
        device.building_id,
        device.purpose_id,
        probe,
        model_id=engine.model_id,
        threshold=engine.threshold,
        impostor_fit=getattr(engine, "impostor_fit", None),
        max_false_open=settings.FACE_IDENTIFY_MAX_FALSE_OPEN,
        margin=settings.FACE_IDENTIFY_MARGIN,
    )
    matched = found.person_id is not None
    attempt = _door_attempt(
        device,
        person_id=found.person_id,
        result=Attempt.MATCH if matched else Attempt.NO_MATCH,
        distance=found.distance,
        detail=AMBIGUOUS if found.ambiguous else "",
        **face,
    )
    audit.record(
        "face.identified" if matched else "face.not_identified",
        person=found.person_id,
        building=device.building_id,
        data={"channel": Attempt.DOOR, "device": device.pk, "attempt": attempt.pk},
    )
    if matched:
        throttle.reset(FACE_DEVICE, str(device.pk))
        return answer(attempt)
    _failed(device, FACE_DEVICE, FACE_PERSON, None, False)
    return answer(attempt, NOT_RECOGNISED)


def refuse_live_face(device_id: int, code: str, message, *, job_id: str = "") -> dict:
    """A kiosk burst that did not answer its challenge: logged and counted like a face that
    was not recognised (a device probing with replays is slowed as one guessing faces)."""
    device = Device.objects.select_related("building", "location", "purpose").get(pk=device_id)
    attempt = _door_attempt(
        device, method=Attempt.FACE, result=Attempt.REJECTED, detail=code, job_id=job_id or None
    )
    _failed(device, FACE_DEVICE, FACE_PERSON, None, False)
    return answer(attempt, message)


def verify_at_door(
    device_id: int, person_id: int, image: bytes, engine, *, job_id="", liveness: str = ""
) -> dict:
    """1:1: is this the person the card or QR code claims? The same answer whether or not the
    person exists, belongs here, consented or enrolled, so it reveals nothing about them."""
    done = replayed(job_id)
    if done is not None:
        return done
    device = Device.objects.select_related("building", "location", "purpose").get(pk=device_id)
    member = is_member(person_id, device.building_id)
    face = {
        "method": Attempt.FACE,
        "job_id": job_id or None,
        "person_id": person_id if member else None,
        "liveness": liveness,
    }
    keys = [(FACE_DEVICE, str(device.pk))]
    if member:
        keys.append((FACE_PERSON, _person_key(device, person_id)))
    probe, refused = _probe(device, image, engine, face, keys, identification=False)
    if refused is not None:
        return refused
    distance = None
    if member:
        ids = list(
            FaceTemplate.objects.filter(
                person_id=person_id,
                building_id=device.building_id,
                purpose_id=device.purpose_id,
                model_id=engine.model_id,
            ).values_list("pk", flat=True)
        )
        usable = identify.usable_templates(ids, device.building_id, device.purpose_id)
        for template in FaceTemplate.objects.filter(pk__in=list(usable)):
            try:
                embedding = crypto.decrypt_embedding(template.ciphertext, template.person_id)
            except crypto.Unreadable:
                continue  # its key was shredded with a deletion that is committing now
            distance = engine.distance(probe, embedding)
    matched = distance is not None and policy.is_match(distance, engine.threshold)
    attempt = _door_attempt(
        device,
        result=Attempt.MATCH if matched else Attempt.NO_MATCH,
        distance=distance,
        **face,
    )
    if member:
        audit.record(
            "face.verified" if matched else "face.not_verified",
            person=person_id,
            building=device.building_id,
            data={"channel": Attempt.DOOR, "device": device.pk, "attempt": attempt.pk},
        )
    if matched:
        throttle.reset(FACE_PERSON, _person_key(device, person_id))
        throttle.reset(FACE_DEVICE, str(device.pk))
        return answer(attempt)
    _failed(device, FACE_DEVICE, FACE_PERSON, person_id, member)
    return answer(attempt, NOT_RECOGNISED)


def _one_time_code_matches(person_id: int, code: str, device: Device) -> str:
    """ONE_TIME_CODE or BACKUP_CODE when the code is the person's, else "". Checked under the
    door's own counters: django-otp's per-device throttle is off (OTP_*_THROTTLE_FACTOR = 0),
    so nothing sent at a door can slow the person's code on the web page. Backup codes count
    only at the doors of a building that accepts them."""
    from portal.models import User

    person = User.objects.filter(pk=person_id, is_active=True).first()
    if person is None:
        return ""
    matched = signin.match_code(person, code, backup_codes=device.building.door_backup_codes)
    if matched is None:
        return ""
    return BACKUP_CODE if signin.is_backup_device(matched) else ONE_TIME_CODE


def open_with_code(device: Device, code: str, person_id: int | None = None) -> dict:
    """The non-face route, at every device: a live door code of a person of this building,
    or the one-time code (authenticator app or backup code) of the person named.

    Throttled per device (slowed, never locked), and per (device, person) when a member of
    the building is named, under scopes of its own.
    """
    with throttle.held(CODE_DEVICE, str(device.pk)):  # one code at a time per keypad
        return _open_with_code(device, code, person_id)


def _open_with_code(device: Device, code: str, person_id: int | None) -> dict:
    member = is_member(person_id, device.building_id)
    logged_person = person_id if member else None
    keys = [(CODE_DEVICE, str(device.pk))]
    if member:
        keys.append((CODE_PERSON, _person_key(device, person_id)))
    wait = _locked(keys)
    if wait:
        attempt = _door_attempt(
            device, method=Attempt.CODE, result=Attempt.THROTTLED, person_id=logged_person
        )
        return answer(attempt, signin.locked_message(wait), retry_after=wait)
    code = doorcodes.normalise(code)
    used = doorcodes.redeem_door_code(code, device, person_id)
    opened_by, detail = None, ""
    if used is not None:
        opened_by, detail = used.person_id, DOOR_CODE
    elif member and (matched := _one_time_code_matches(person_id, code, device)):
        opened_by, detail = person_id, matched
    if opened_by is not None:
        throttle.reset(CODE_PERSON, _person_key(device, opened_by))
        attempt = _door_attempt(
            device, method=Attempt.CODE, result=Attempt.MATCH, person_id=opened_by, detail=detail
        )
        return answer(attempt)
    _failed(device, CODE_DEVICE, CODE_PERSON, person_id, member)
    attempt = _door_attempt(
        device, method=Attempt.CODE, result=Attempt.NO_MATCH, person_id=logged_person
    )
    return answer(attempt, CODE_REFUSED)
