"""Enrolment through the page, a real Redis broker, a real worker and the real face model."""

import numpy as np
import pytest

from portal.models import AuditEntry
from recognition.lifecycle import crypto
from recognition.models import Attempt, FaceTemplate
from tests.factories import grant, withdraw
from tests.liveness_frames import ENROL, fit_frame, jpeg, live_post, still

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _enrol(client, purpose, photo: bytes, make=None):
    return live_post(client, ENROL, {"purpose": purpose.pk}, [photo], make=make)


def test_enrolment_keeps_only_an_encrypted_embedding(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos
):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    response = _enrol(client, sign_in_purpose, photos["a1"])
    assert response.status_code == 302, response.content.decode()
    template = FaceTemplate.objects.get(person=staff, purpose=sign_in_purpose)
    ciphertext = bytes(template.ciphertext)
    assert photos["a1"][:64] not in ciphertext
    vector = crypto.decrypt_embedding(ciphertext, staff.pk)
    assert vector.shape == (128,) and np.isfinite(vector).all()
    assert template.model_id.startswith("Dlib")
    assert Attempt.objects.filter(person=staff, result=Attempt.ENROLLED).count() == 1
    assert AuditEntry.objects.filter(event="face.enrolled", person_id=staff.pk).exists()
    assert "Your face is enrolled" in client.get("/face/enrol/").content.decode()


def test_enrolment_without_consent_is_refused(client, sign_in, staff, sign_in_purpose, photos):
    sign_in(staff)
    response = _enrol(client, sign_in_purpose, photos["a1"])
    assert response.status_code == 200
    assert not FaceTemplate.objects.exists()


def test_enrolment_after_withdrawal_is_refused(client, sign_in, staff, sign_in_purpose, photos):
    grant(staff, sign_in_purpose)
    withdraw(staff, sign_in_purpose)
    from recognition.lifecycle import services

    with pytest.raises(services.FaceRefused):
        services.check_can_enrol(staff, sign_in_purpose)


@pytest.mark.parametrize(
    ("photo_key", "message"),
    [
        ("none", "No face was seen during the check"),
        ("two", "More than one person was seen during the check"),
        ("not_image", "The camera recording was incomplete"),
    ],
)
def test_unusable_photos_get_a_clear_message_and_store_nothing(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos, photo_key, message
):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    if photo_key == "not_image":
        frames = [b"%PDF-1.4 definitely not a photo"] * 12
    else:
        frames = [jpeg(fit_frame(photos[photo_key]))] * 12
    response = _enrol(client, sign_in_purpose, b"", make=lambda steps: frames)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not FaceTemplate.objects.exists()


def test_an_uploaded_photo_is_never_enrolled(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    grant(staff, sign_in_purpose)
    sign_in(staff)
    upload = SimpleUploadedFile("me.jpg", photos["a1"], content_type="image/jpeg")
    response = client.post("/face/enrol/", {"purpose": sign_in_purpose.pk, "photo": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "never from a photo file" in page and 'href="/face/door-code/"' in page
    assert not FaceTemplate.objects.exists()


def test_a_still_photo_as_every_frame_is_not_enrolled(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos
):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    response = _enrol(
        client, sign_in_purpose, b"", make=lambda s: still(photos["a1"], 12, noise=True)
    )
    assert "No head movement was seen" in response.content.decode()
    assert not FaceTemplate.objects.exists()
    attempt = Attempt.objects.get(person=staff, channel=Attempt.ENROLMENT)
    assert attempt.result == Attempt.REJECTED and attempt.detail == "liveness_no_movement"


def test_a_new_enrolment_replaces_the_old_one(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos
):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    _enrol(client, sign_in_purpose, photos["a1"])
    first = bytes(FaceTemplate.objects.get(person=staff).ciphertext)
    _enrol(client, sign_in_purpose, photos["b2"])
    assert FaceTemplate.objects.filter(person=staff).count() == 1
    second = FaceTemplate.objects.get(person=staff)
    assert crypto.decrypt_embedding(bytes(second.ciphertext), staff.pk).tolist() != (
        crypto.decrypt_embedding(first, staff.pk).tolist()
    )
