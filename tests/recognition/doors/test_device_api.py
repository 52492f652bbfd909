"""The device API end to end: a real worker, the real model, real photos.

Faces are identified among the residents of the device's building, withdrawal is respected by
the very next identification, keys of revoked or other buildings' devices open nothing, and
the code route opens for everyone, with or without a face, throttled face route or not.
"""

import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from consent import mydata
from consent import rules as consent_rules
from recognition import tasks
from recognition.doors import devices, doorcodes
from recognition.engine import jobs
from recognition.models import Attempt, FaceTemplate
from tests.factories import (
    add_totp,
    current_code,
    device_headers,
    grant,
    make_active_purpose,
    make_door,
    make_person,
    withdraw,
)
from tests.paths import SHARED_FACES

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

IDENTIFY = "/api/v1/devices/identify/"
VERIFY = "/api/v1/devices/verify/"
CODE = "/api/v1/devices/code/"


def _upload(photo: bytes):
    return SimpleUploadedFile("probe.jpg", photo, content_type="image/jpeg")


def _identify(client, key, photo):
    return client.post(IDENTIFY, {"photo": _upload(photo)}, **device_headers(key))


def _verify(client, key, person, photo):
    data = {"person": person.pk, "photo": _upload(photo)}
    return client.post(VERIFY, data, **device_headers(key))


def _code(client, key, code, person=None):
    data = {"code": code} if person is None else {"code": code, "person": person.pk}
    return client.post(CODE, data, content_type="application/json", **device_headers(key))


def _enrol(person, purpose, photo):
    grant(person, purpose)
    answer = jobs.run(tasks.enrol_face, person.pk, purpose.pk, image=photo)
    assert answer["ok"], answer


def _shared(name: str) -> bytes | None:
    path = SHARED_FACES / name
    return path.read_bytes() if path.is_file() else None


@pytest.fixture
def enrolled(celery_worker_process, front_door, door_purpose, resident, other_resident, photos):
    """Building A's front door with the resident (person a) and the neighbour (person b)
    enrolled, and person c too when the shared photos are there."""
    _enrol(resident, door_purpose, photos["a1"])
    _enrol(other_resident, door_purpose, photos["b1"])
    third = _shared("person_c_1.jpg")
    if third is not None:
        _enrol(make_person("third", door_purpose.building, "resident"), door_purpose, third)
    return front_door


def test_the_right_resident_is_identified_among_several(client, enrolled, resident, photos):
    device, key = enrolled
    response = _identify(client, key, photos["a2"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["open"] is True and body["person_id"] == resident.pk
    assert body["method"] == "face" and "distance" not in body
    attempt = Attempt.objects.get(pk=body["attempt_id"])
    assert (attempt.device, attempt.person, attempt.channel, attempt.result) == (
        device,
        resident,
        Attempt.DOOR,
        Attempt.MATCH,
    )
    assert attempt.job_id and attempt.distance <= settings.FACE_THRESHOLD
    other_photo = _shared("person_b_2.jpg")
    if other_photo is not None:
        answer = _identify(client, key, other_photo).json()
        assert answer["open"] is True and answer["person_id"] != resident.pk


def test_a_stranger_is_not_identified(
    client, celery_worker_process, front_door, door_purpose, resident, photos
):
    _device, key = front_door
    _enrol(resident, door_purpose, photos["a1"])
    body = _identify(client, key, photos["b1"]).json()
    assert body["open"] is False and body["result"] == "no_match" and body["person_id"] is None
    assert body["code"] == "not_recognised" and "distance" not in body
    attempt = Attempt.objects.get(pk=body["attempt_id"])
    assert attempt.person is None and attempt.distance > settings.FACE_THRESHOLD


def test_withdrawal_makes_the_next_identification_miss(
    client, enrolled, door_purpose, resident, photos
):
    _device, key = enrolled
    assert _identify(client, key, photos["a2"]).json()["person_id"] == resident.pk
    withdraw(resident, door_purpose)
    assert not FaceTemplate.objects.filter(person=resident).exists()
    body = _identify(client, key, photos["a2"]).json()
    assert body["open"] is False and body["person_id"] is None


def test_a_photo_without_one_face_is_refused_with_its_reason(client, enrolled, photos):
    _device, key = enrolled
    none = _identify(client, key, photos["none"]).json()
    assert none["open"] is False and none["result"] == "rejected" and none["code"] == "no_face"
    several = _identify(client, key, photos["two"]).json()
    assert several["result"] == "rejected" and several["code"] == "several_faces"


def test_verification_compares_only_with_the_person_named(
    client, enrolled, resident, other_resident, photos
):
    _device, key = enrolled
    same = _verify(client, key, resident, photos["a2"]).json()
    assert same["open"] is True and same["person_id"] == resident.pk
    assert _verify(client, key, other_resident, photos["a2"]).json()["open"] is False
    nobody = make_person("nobody", None, None)
    unknown = _verify(client, key, nobody, photos["a2"]).json()
    assert unknown["open"] is False and unknown["result"] == "no_match"


def test_the_async_form_answers_by_polling(client, enrolled, resident, building_b, photos):
    _device, key = enrolled
    submitted = client.post(
        "/api/v1/devices/identify/jobs/", {"photo": _upload(photos["a2"])}, **device_headers(key)
    )
    assert submitted.status_code == 202, submitted.content
    url = submitted.json()["status_url"]
    deadline = time.monotonic() + settings.FACE_VERIFY_DEADLINE
    while True:
        state = client.get(url, **device_headers(key)).json()
        if state["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state["status"] == "done", state
    assert state["answer"]["open"] is True and state["answer"]["person_id"] == resident.pk
    _other, other_key = make_door(building_b, name="B door")
    assert client.get(url, **device_headers(other_key)).status_code == 404
    assert client.get(url[:-3] + "xx/", **device_headers(key)).status_code == 404


def test_a_revoked_key_is_refused(client, enrolled, resident, photos):
    device, key = enrolled
    devices.revoke_device(device, actor=None)
    refused = _identify(client, key, photos["a2"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "device_revoked"
    _stored, code = doorcodes.issue_door_code(resident)
    assert _code(client, key, code).status_code == 401
    assert not Attempt.objects.filter(channel=Attempt.DOOR).exists()


def test_another_buildings_device_opens_nothing_here(
    client, enrolled, building_b, resident, photos
):
    b_purpose = make_active_purpose(building_b, demo=consent_rules.IDENTIFICATION)
    _device, b_key = make_door(building_b, b_purpose, name="B door")
    identified = _identify(client, b_key, photos["a2"]).json()
    assert identified["open"] is False and identified["person_id"] is None
    assert _verify(client, b_key, resident, photos["a2"]).json()["open"] is False
    _stored, code = doorcodes.issue_door_code(resident)
    assert _code(client, b_key, code).json()["open"] is False
    totp = add_totp(resident)
    assert _code(client, b_key, current_code(totp), person=resident).json()["open"] is False
    _front, a_key = enrolled
    assert _code(client, a_key, code).json()["open"] is True  # the same code, at home


def test_the_code_route_opens_for_a_resident_with_no_face(client, enrolled, building_a, photos):
    _device, key = enrolled
    faceless = make_person("faceless", building_a, "resident")
    assert _identify(client, key, photos["b1"]).json()["person_id"] != faceless.pk
    _stored, code = doorcodes.issue_door_code(faceless)
    opened = _code(client, key, code).json()
    assert opened["open"] is True and opened["person_id"] == faceless.pk
    totp = add_totp(faceless)
    assert _code(client, key, current_code(totp), person=faceless).json()["open"] is True
    rows = mydata.as_json(faceless)["sections"]["face_attempts"]["rows"]
    assert [row["method"] for row in rows] == [
        "one-time code (authenticator app)",  # newest first
        "door code",
    ]
    assert all(row["where"] == "Front door" for row in rows)


def test_the_code_route_works_while_the_face_route_is_throttled(client, enrolled, resident, photos):
    _device, key = enrolled
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        assert _verify(client, key, resident, photos["b1"]).json()["open"] is False
    locked = _verify(client, key, resident, photos["a2"])
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    assert "door code" in locked.json()["error"]["message"]
    _stored, code = doorcodes.issue_door_code(resident)
    assert _code(client, key, code).json()["open"] is True
    totp = add_totp(resident)
    assert _code(client, key, current_code(totp), person=resident).json()["open"] is True
    figures = Attempt.objects.at_doors().figures()["door"]
    assert figures["code"] == {"accepted": 2, "refused": 0}
    assert figures["face"]["refused"] == settings.SIGNIN_FREE_FAILURES + 1


def test_every_door_attempt_is_in_the_persons_data(client, enrolled, resident, photos, sign_in):
    _device, key = enrolled
    _identify(client, key, photos["a2"])
    _verify(client, key, resident, photos["b1"])
    sign_in(resident)
    rows = client.get("/api/v1/my-data/").json()["sections"]["face_attempts"]["rows"]
    door_rows = [row for row in rows if row["where"] == "Front door"]
    assert sorted(row["result"] for row in door_rows) == ["accepted", "not accepted"]
    assert all(row["method"] == "face" for row in door_rows)
