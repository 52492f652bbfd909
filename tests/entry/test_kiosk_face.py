"""The door kiosk's face: the live challenge of face sign-in, bound to the kiosk's device.

A challenge is asked for with the device key, kept against that device only, taken by the
burst that answers it, and refused when late; a still or replayed burst never opens. Through
the device API, the real worker and the real model.
"""

import pytest

from recognition import tasks
from recognition.engine import jobs, liveness
from recognition.entry.models import KioskChallenge
from recognition.models import Attempt
from tests.factories import device_headers, grant, make_door
from tests.liveness_frames import burst, data_urls, still

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CHALLENGE = "/api/v1/devices/face/challenge/"
IDENTIFY = "/api/v1/devices/identify/live/"


@pytest.fixture
def enrolled_door(celery_worker_process, front_door, door_purpose, resident, photos):
    """Building A's front door with the resident enrolled from photo a1: (device, key)."""
    grant(resident, door_purpose)
    assert jobs.run(tasks.enrol_face, resident.pk, door_purpose.pk, image=photos["a1"])["ok"]
    return front_door


def _challenge(client, key) -> dict:
    response = client.post(CHALLENGE, **device_headers(key))
    assert response.status_code == 200, response.content
    return response.json()


def _answer(client, key, nonce, frames):
    return client.post(
        IDENTIFY,
        {"nonce": nonce, "frames": data_urls(frames)},
        content_type="application/json",
        **device_headers(key),
    )


def _steps(issued) -> list[str]:
    return [step["pose"] for step in issued["steps"]]


def _refused(response, code):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["open"] is False and body["person_id"] is None
    assert body["code"] == code
    assert body["message"] == str(liveness.door_message(code))
    assert "door code" in body["message"]
    attempt = Attempt.objects.get(pk=body["attempt_id"])
    assert attempt.method == Attempt.FACE and attempt.channel == Attempt.DOOR
    assert attempt.result == Attempt.REJECTED and attempt.detail == code
    return attempt


def test_a_bona_fide_burst_opens_and_the_attempt_says_the_challenge_was_answered(
    client, enrolled_door, resident, photos
):
    device, key = enrolled_door
    issued = _challenge(client, key)
    assert len(issued["steps"]) == liveness.DEFAULT_STEPS
    response = _answer(client, key, issued["nonce"], burst([photos["a2"]], _steps(issued)))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["open"] is True and body["person_id"] == resident.pk
    attempt = Attempt.objects.get(pk=body["attempt_id"])
    assert attempt.device == device and attempt.result == Attempt.MATCH
    assert attempt.liveness == "portal:challenge"
    assert not KioskChallenge.objects.exists()


def test_a_challenge_answers_once(client, enrolled_door, photos):
    _device, key = enrolled_door
    issued = _challenge(client, key)
    frames = burst([photos["a2"]], _steps(issued))
    assert _answer(client, key, issued["nonce"], frames).json()["open"] is True
    _refused(_answer(client, key, issued["nonce"], frames), liveness.NO_CHALLENGE)


def test_a_replayed_burst_is_refused_under_a_new_challenge(client, enrolled_door, photos):
    """A burst captured from an earlier answer, sent with its own nonce after the kiosk asked
    for a new challenge: the new challenge is used up and nothing opens."""
    _device, key = enrolled_door
    first = _challenge(client, key)
    frames = burst([photos["a2"]], _steps(first))
    assert _answer(client, key, first["nonce"], frames).json()["open"] is True
    _challenge(client, key)
    _refused(_answer(client, key, first["nonce"], frames), liveness.NO_CHALLENGE)
    assert not KioskChallenge.objects.exists()


def test_another_device_cannot_answer_a_kiosk_challenge(
    client, enrolled_door, door_purpose, photos
):
    device, key = enrolled_door
    other, other_key = make_door(door_purpose.building, door_purpose, name="Back door")
    issued = _challenge(client, key)
    frames = burst([photos["a2"]], _steps(issued))
    # The other door has no challenge of its own: the nonce it sends answers nothing there.
    attempt = _refused(_answer(client, other_key, issued["nonce"], frames), liveness.NO_CHALLENGE)
    assert attempt.device == other
    # With a challenge of its own, another device's nonce still answers nothing.
    _challenge(client, other_key)
    _refused(_answer(client, other_key, issued["nonce"], frames), liveness.NO_CHALLENGE)
    # The challenge stays with the device it was issued to, which can still answer it.
    assert KioskChallenge.objects.get().device == device
    assert _answer(client, key, issued["nonce"], frames).json()["open"] is True


def test_a_late_answer_is_refused(client, enrolled_door, moved_clock, photos):
    _device, key = enrolled_door
    issued = _challenge(client, key)
    moved_clock.advance(seconds=liveness.DEFAULT_TTL_SECONDS + 1)
    response = _answer(client, key, issued["nonce"], burst([photos["a2"]], _steps(issued)))
    _refused(response, liveness.EXPIRED)


@pytest.mark.parametrize("noise", [False, True], ids=["same-frame", "filmed-picture"])
def test_a_still_burst_is_refused(client, enrolled_door, photos, noise):
    _device, key = enrolled_door
    issued = _challenge(client, key)
    response = _answer(client, key, issued["nonce"], still(photos["a2"], 12, noise=noise))
    _refused(response, liveness.NO_MOVEMENT)


def test_turns_in_the_wrong_order_are_refused(client, enrolled_door, photos):
    _device, key = enrolled_door
    issued = _challenge(client, key)
    asked = _steps(issued)
    flipped = [liveness.RIGHT if step == liveness.LEFT else liveness.LEFT for step in asked]
    response = _answer(client, key, issued["nonce"], burst([photos["a2"]], flipped))
    _refused(response, liveness.WRONG_ORDER)
