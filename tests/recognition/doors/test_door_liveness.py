"""Door terminals that run their own liveness check attest it; the attempt keeps what they said."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recognition import tasks
from recognition.engine import jobs
from recognition.models import Attempt
from tests.factories import device_headers, grant

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _post(client, key, path, photo, **fields):
    upload = SimpleUploadedFile("probe.jpg", photo, content_type="image/jpeg")
    return client.post(path, {"photo": upload, **fields}, **device_headers(key))


@pytest.fixture
def enrolled(celery_worker_process, front_door, door_purpose, resident, photos):
    grant(resident, door_purpose)
    assert jobs.run(tasks.enrol_face, resident.pk, door_purpose.pk, image=photos["a1"])["ok"]
    return front_door


def test_identify_and_verify_log_the_terminals_attestation(client, enrolled, resident, photos):
    _device, key = enrolled
    said = "acme-pad-3:live:0.97"
    response = _post(client, key, "/api/v1/devices/identify/", photos["a2"], liveness=said)
    assert response.status_code == 200, response.content
    assert Attempt.objects.get(pk=response.json()["attempt_id"]).liveness == said
    response = _post(
        client, key, "/api/v1/devices/verify/", photos["a2"], person=resident.pk, liveness="x:1"
    )
    assert Attempt.objects.get(pk=response.json()["attempt_id"]).liveness == "x:1"


def test_the_attestation_is_optional(client, enrolled, photos):
    _device, key = enrolled
    response = _post(client, key, "/api/v1/devices/identify/", photos["a2"])
    assert response.status_code == 200
    assert Attempt.objects.get(pk=response.json()["attempt_id"]).liveness == ""


@pytest.mark.parametrize("said", ["x" * 201, "live\n0.9", "live\x00"])
def test_an_unreadable_attestation_is_refused_before_any_face_work(client, enrolled, photos, said):
    _device, key = enrolled
    before = Attempt.objects.count()
    response = _post(client, key, "/api/v1/devices/identify/", photos["a2"], liveness=said)
    assert response.status_code == 400
    assert "liveness" in response.json()["error"]["details"]
    assert Attempt.objects.count() == before
