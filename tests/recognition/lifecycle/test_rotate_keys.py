"""Key rotation: `rotate_face_keys` wraps every person's data key with the newest key and
moves templates from before per-person keys under them; the old key keeps working until then,
and is not needed afterwards."""

import io

import numpy as np
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.test import override_settings

from portal.models import AuditEntry
from recognition.lifecycle import crypto, services
from recognition.models import FaceTemplate
from tests.factories import grant, make_person

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def _vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=128).astype(np.float32)


@pytest.fixture
def templates(settings, building_a, sign_in_purpose):
    """Five people: three with per-person keys, two with templates from before them."""
    settings.FACE_ENCRYPTION_KEYS = [OLD]
    people = [make_person(f"p{i}", building_a, "staff") for i in range(5)]
    for i, person in enumerate(people):
        grant(person, sign_in_purpose)
        services.store_template(person, sign_in_purpose, _vector(i), "test-engine")
    for i, person in enumerate(people[3:], start=3):
        legacy = crypto.fernet().encrypt(_vector(i).astype("<f4").tobytes())
        FaceTemplate.objects.filter(person=person).update(ciphertext=legacy)
    return people


def _decrypts_with(key: str) -> bool:
    """Every template opens with the ring holding `key` alone."""
    with override_settings(FACE_ENCRYPTION_KEYS=[key]):
        try:
            for token, person in FaceTemplate.objects.values_list("ciphertext", "person_id"):
                crypto.decrypt_embedding(token, person)
        except InvalidToken:
            return False
    return True


def _stored() -> list:
    return [
        crypto.decrypt_embedding(token, person)
        for token, person in FaceTemplate.objects.values_list("ciphertext", "person_id").order_by(
            "pk"
        )
    ]


def test_rotation_re_encrypts_every_template_with_the_newest_key(templates, settings):
    settings.FACE_ENCRYPTION_KEYS = [NEW, OLD]
    assert _decrypts_with(OLD) and not _decrypts_with(NEW)
    # the old key is still accepted until the command runs
    before = _stored()

    out = io.StringIO()
    call_command("rotate_face_keys", "--batch-size", "2", stdout=out)

    assert out.getvalue() == "Re-encrypted 5 face templates with the newest key in 3 batches.\n"
    assert _decrypts_with(NEW) and not _decrypts_with(OLD)
    settings.FACE_ENCRYPTION_KEYS = [NEW]  # the old key can now be dropped
    after = _stored()
    assert not any(
        crypto.is_legacy(t) for t in FaceTemplate.objects.values_list("ciphertext", flat=True)
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    entry = AuditEntry.objects.get(event="face.keys_rotated")
    assert entry.data == {"templates": 5, "batches": 3}


def test_rotation_with_nothing_to_do_says_so(db, settings):
    settings.FACE_ENCRYPTION_KEYS = [NEW, OLD]
    out = io.StringIO()
    call_command("rotate_face_keys", stdout=out)
    assert out.getvalue() == "Re-encrypted 0 face templates with the newest key in 0 batches.\n"
    assert not AuditEntry.objects.filter(event="face.keys_rotated").exists()
