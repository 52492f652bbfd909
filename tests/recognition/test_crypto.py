import numpy as np
import pytest
from cryptography.fernet import Fernet, InvalidToken

from recognition import crypto


@pytest.fixture
def vector():
    return np.random.default_rng(7).normal(size=128).astype("float32")


def test_embedding_round_trips_and_is_not_stored_in_clear(vector):
    token = crypto.encrypt_embedding(vector)
    assert vector.tobytes() not in token
    assert np.array_equal(crypto.decrypt_embedding(token), vector)


def test_rotation_keeps_old_templates_readable_and_rewrites_them(settings, vector):
    old_key = settings.FACE_ENCRYPTION_KEYS[0]
    token = crypto.encrypt_embedding(vector)
    new_key = Fernet.generate_key().decode()
    settings.FACE_ENCRYPTION_KEYS = [new_key, old_key]
    assert np.array_equal(crypto.decrypt_embedding(token), vector)  # old key still accepted
    rotated = crypto.rotate(token)
    settings.FACE_ENCRYPTION_KEYS = [new_key]
    assert np.array_equal(crypto.decrypt_embedding(rotated), vector)
    with pytest.raises(InvalidToken):
        crypto.decrypt_embedding(token)  # the old ciphertext needs the retired key
