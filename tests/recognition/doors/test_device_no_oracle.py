"""A stolen device key learns nothing beyond open / not open: no distance, score or
similarity in any answer, and the same answer for an enrolled resident whose face does not
match, a resident who never enrolled, and a person who does not exist. The distances stay in
the attempt log."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recognition import tasks
from recognition.engine import jobs
from recognition.models import Attempt
from tests.factories import device_headers, grant, make_person

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

IDENTIFY = "/api/v1/devices/identify/"
VERIFY = "/api/v1/devices/verify/"
# Every key a face answer may carry, and the only numbers among them.
ANSWER_KEYS = {"open", "result", "method", "person_id", "attempt_id", "code", "message"}
ANSWER_KEYS |= {"retry_after"}


def _post(client, key, url, photo, **data):
    data["photo"] = SimpleUploadedFile("probe.jpg", photo, content_type="image/jpeg")
    response = client.post(url, data, **device_headers(key))
    assert response.status_code == 200, response.content
    return response.json()


def _without_attempt(body: dict) -> dict:
    return {name: value for name, value in body.items() if name != "attempt_id"}


def _assert_no_score(body: dict) -> None:
    assert set(body) == ANSWER_KEYS, body
    text = str(body).lower()
    for word in ("distance", "score", "similar", "threshold", "closest"):
        assert word not in text, body


def test_verify_answers_the_same_whoever_is_claimed(
    client, celery_worker_process, front_door, door_purpose, resident, other_resident, photos
):
    _device, key = front_door
    grant(resident, door_purpose)
    assert jobs.run(tasks.enrol_face, resident.pk, door_purpose.pk, image=photos["a1"])["ok"]
    never_enrolled = other_resident
    outsider = make_person("outsider", None, None)

    enrolled_miss = _post(client, key, VERIFY, photos["b1"], person=resident.pk)
    not_enrolled = _post(client, key, VERIFY, photos["b1"], person=never_enrolled.pk)
    not_here = _post(client, key, VERIFY, photos["b1"], person=outsider.pk)
    nobody = _post(client, key, VERIFY, photos["b1"], person=outsider.pk + 1000)
    for body in (enrolled_miss, not_enrolled, not_here, nobody):
        _assert_no_score(body)
        assert body["open"] is False and body["code"] == "not_recognised"
    assert (
        _without_attempt(enrolled_miss)
        == _without_attempt(not_enrolled)
        == _without_attempt(not_here)
        == _without_attempt(nobody)
    )
    # The distance is kept where it belongs: in the attempt log of the enrolled miss only.
    logged = Attempt.objects.get(pk=enrolled_miss["attempt_id"])
    assert logged.distance is not None and logged.distance > 0
    assert Attempt.objects.get(pk=not_enrolled["attempt_id"]).distance is None

    opened = _post(client, key, VERIFY, photos["a2"], person=resident.pk)
    _assert_no_score(opened)
    assert opened["open"] is True and Attempt.objects.get(pk=opened["attempt_id"]).distance


def test_identify_hides_how_close_a_stranger_came_and_who_was_close(
    client, celery_worker_process, front_door, door_purpose, resident, other_resident, photos
):
    """A face near two residents at once (ambiguous) and a face near nobody answer alike."""
    _device, key = front_door
    for person, photo in ((resident, photos["a1"]), (other_resident, photos["a2"])):
        grant(person, door_purpose)
        assert jobs.run(tasks.enrol_face, person.pk, door_purpose.pk, image=photo)["ok"]
    # Both residents enrolled the same face: any photo of it is within reach of two people.
    ambiguous = _post(client, key, IDENTIFY, photos["a2"])
    stranger = _post(client, key, IDENTIFY, photos["b1"])
    for body in (ambiguous, stranger):
        _assert_no_score(body)
        assert body["open"] is False and body["code"] == "not_recognised"
    assert _without_attempt(ambiguous) == _without_attempt(stranger)
    assert Attempt.objects.get(pk=ambiguous["attempt_id"]).detail == "ambiguous"
    assert Attempt.objects.get(pk=stranger["attempt_id"]).distance is not None


def test_the_api_schema_offers_devices_no_score(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    fields = set(schema.json()["components"]["schemas"]["DoorAnswer"]["properties"])
    assert fields == ANSWER_KEYS
