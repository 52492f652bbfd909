"""Enrolment through the page, a real Redis broker, a real worker and the real face model."""

import numpy as np
import pytest

from consent.models import AuditEntry
from recognition import crypto
from recognition.models import Attempt, FaceTemplate
from tests.recognition.conftest import grant, withdraw

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _enrol(client, purpose, photo: bytes, name="me.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, photo, content_type="image/jpeg")
    return client.post("/face/enrol/", {"purpose": purpose.pk, "photo": upload})


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
    from recognition import services

    with pytest.raises(services.FaceRefused):
        services.check_can_enrol(staff, sign_in_purpose)


@pytest.mark.parametrize(
    ("photo_key", "message"),
    [
        ("none", "No face was found in the photo"),
        ("two", "More than one face is in the photo"),
        ("not_image", "not a photo"),
    ],
)
def test_unusable_photos_get_a_clear_message_and_store_nothing(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos, photo_key, message
):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    photo = b"%PDF-1.4 definitely not a photo" if photo_key == "not_image" else photos[photo_key]
    response = _enrol(client, sign_in_purpose, photo)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not FaceTemplate.objects.exists()


def test_a_new_enrolment_replaces_the_old_one(
    celery_worker_process, client, sign_in, staff, sign_in_purpose, photos
):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    _enrol(client, sign_in_purpose, photos["a1"])
    first = bytes(FaceTemplate.objects.get(person=staff).ciphertext)
    _enrol(client, sign_in_purpose, photos["b1"])
    assert FaceTemplate.objects.filter(person=staff).count() == 1
    second = FaceTemplate.objects.get(person=staff)
    assert crypto.decrypt_embedding(bytes(second.ciphertext), staff.pk).tolist() != (
        crypto.decrypt_embedding(first, staff.pk).tolist()
    )
