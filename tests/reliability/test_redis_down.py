"""Redis stopped: everything without a face keeps working; face routes say so within 2 s.

Runs against a private redis-server (see conftest) that these tests stop and start; the shared
Redis of the other tests is never touched.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from consent import rules as consent_rules
from consent.models import Consent
from recognition.doors import doorcodes
from recognition.engine import jobs
from recognition.models import FaceTemplate
from tests.factories import (
    PASSWORD,
    add_totp,
    current_code,
    device_headers,
    grant,
    make_active_purpose,
    make_door,
)
from tests.liveness_frames import ENROL, SIGN_IN, live_post, warm_turns

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

UNAVAILABLE = "Face recognition is unavailable right now"
LIMIT_SECONDS = 2.0


def _photo(data: bytes):
    return SimpleUploadedFile("face.jpg", data, content_type="image/jpeg")


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.fixture
def enrolled_staff(private_face_stack, client, sign_in, staff, sign_in_purpose, photos):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    response = live_post(client, ENROL, {"purpose": sign_in_purpose.pk}, [photos["a1"]])
    assert response.status_code == 302, response.content.decode()
    assert FaceTemplate.objects.filter(person=staff).exists()
    client.post("/accounts/logout/")
    return staff


def test_password_and_code_sign_in_and_every_consent_action_work_without_redis(
    private_face_stack, client, resident, building_a
):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    other = make_active_purpose(building_a, demo=consent_rules.VERIFICATION, name="Second purpose")
    device = add_totp(resident)
    private_face_stack.redis.stop()

    response = client.post("/accounts/login/", {"username": "resident", "password": PASSWORD})
    assert response.status_code == 302
    response = client.post("/accounts/login/code/", {"code": current_code(device)})
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "resident"

    assert client.get("/consents/").status_code == 200
    notice_hash = purpose.current_notice.text_hash
    # pages: grant, withdraw; API: grant, refuse, withdraw
    decide = f"/consents/purposes/{purpose.pk}/decide/"
    granted = {"action": "grant", "agree": "on", "notice_hash": notice_hash}
    assert client.post(decide, granted).status_code == 302
    assert Consent.objects.get(person=resident, purpose=purpose).status == "granted"
    assert client.post(decide, {"action": "withdraw"}).status_code == 302
    assert Consent.objects.get(person=resident, purpose=purpose).status == "withdrawn"
    api = f"/api/v1/purposes/{other.pk}/"
    other_hash = {"notice_hash": other.current_notice.text_hash}
    assert (
        client.post(api + "refuse/", other_hash, content_type="application/json").status_code == 200
    )
    agreed = {**other_hash, "agree": True}
    assert client.post(api + "grant/", agreed, content_type="application/json").status_code == 200
    assert client.post(api + "withdraw/", {}, content_type="application/json").status_code == 200
    assert Consent.objects.get(person=resident, purpose=other).status == "withdrawn"
    assert client.get("/my-data/").status_code == 200
    assert client.get("/api/v1/consents/").status_code == 200


def test_face_sign_in_and_enrolment_answer_unavailable_within_two_seconds(
    private_face_stack, client, enrolled_staff, sign_in_purpose, photos
):
    warm_turns(photos["a2"])
    warm_turns(photos["a1"])
    private_face_stack.redis.stop()
    response, took = _timed(
        lambda: live_post(client, SIGN_IN, {"username": "staff"}, [photos["a2"]])
    )
    assert response.status_code == 200 and took < LIMIT_SECONDS, took
    page = response.content.decode()
    assert UNAVAILABLE in page and 'href="/accounts/login/"' in page

    client.force_login(enrolled_staff)  # staff need no second factor; the code was just used
    response, took = _timed(
        lambda: live_post(client, ENROL, {"purpose": sign_in_purpose.pk}, [photos["a1"]])
    )
    assert response.status_code == 200 and took < LIMIT_SECONDS, took
    assert UNAVAILABLE in response.content.decode()


def test_door_face_routes_answer_503_fast_and_the_code_route_opens_without_redis(
    private_face_stack, client, resident, building_a, photos
):
    from consent import rules as consent_rules

    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    _device, key = make_door(building_a, purpose)
    _door_code, code = doorcodes.issue_door_code(resident)
    private_face_stack.redis.stop()
    for path, data in [
        ("/api/v1/devices/identify/", {}),
        ("/api/v1/devices/identify/jobs/", {}),
        ("/api/v1/devices/verify/", {"person": resident.pk}),
    ]:
        response, took = _timed(
            lambda path=path, data=data: client.post(
                path, {**data, "photo": _photo(photos["a1"])}, **device_headers(key)
            )
        )
        assert response.status_code == 503 and took < LIMIT_SECONDS, (path, took)
        assert response.json()["error"]["code"] == "face_unavailable"
    response = client.post(
        "/api/v1/devices/code/",
        {"code": code},
        content_type="application/json",
        **device_headers(key),
    )
    assert response.status_code == 200 and response.json()["open"] is True


def test_face_works_again_when_redis_returns_without_a_restart(
    private_face_stack, client, enrolled_staff, photos
):
    private_face_stack.redis.stop()
    with pytest.raises(jobs.FaceUnavailable):
        from recognition import tasks

        jobs.run(tasks.verify_face, enrolled_staff.pk, image=photos["a2"])
    private_face_stack.redis.start()
    deadline = time.monotonic() + 60
    while True:
        response = live_post(client, SIGN_IN, {"username": "staff"}, [photos["a2"]])
        if response.status_code == 302:
            break
        assert UNAVAILABLE in response.content.decode()
        assert time.monotonic() < deadline, "face sign-in did not come back after Redis returned"
        time.sleep(0.5)
    assert client.get("/api/v1/me/").json()["username"] == "staff"


def test_polling_a_door_job_while_redis_is_down_answers_unavailable(
    private_face_stack, client, building_a
):
    from consent import rules as consent_rules

    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    _device, key = make_door(building_a, purpose)
    private_face_stack.pause("before")  # the job stays unanswered
    started = client.post(
        "/api/v1/devices/identify/jobs/", {"photo": _photo(b"\xff\xd8\xff")}, **device_headers(key)
    )
    assert started.status_code == 202
    _task_id, pid = private_face_stack.wait_for_paused_child()
    private_face_stack.redis.stop()
    response, took = _timed(lambda: client.get(started.json()["status_url"], **device_headers(key)))
    assert response.status_code == 200 and took < LIMIT_SECONDS, took
    assert response.json()["status"] == "unavailable"
    private_face_stack.unpause()
    private_face_stack.kill(pid)
