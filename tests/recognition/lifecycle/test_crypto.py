import numpy as np
import pytest
from cryptography.fernet import Fernet, InvalidToken

from recognition.lifecycle import crypto, datakeys
from recognition.models import FaceDataKey
from tests.factories import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def vector():
    return np.random.default_rng(7).normal(size=128).astype("float32")


@pytest.fixture
def person(building_a):
    return make_person("keyholder", building_a, "resident")


def test_embedding_round_trips_under_the_persons_key_and_is_not_stored_in_clear(vector, person):
    token = crypto.encrypt_embedding(vector, person.pk)
    assert vector.tobytes() not in token
    assert np.array_equal(crypto.decrypt_embedding(token, person.pk), vector)
    wrapped = bytes(FaceDataKey.objects.get(person=person).wrapped)
    key = datakeys.keys_for_reading([person.pk])[person.pk]
    assert len(key) == 32 and key not in wrapped  # the data key is kept wrapped only


def test_each_person_has_a_key_of_their_own_and_a_template_opens_only_as_theirs(
    vector, person, building_a
):
    other = make_person("someone-else", building_a, "resident")
    token = crypto.encrypt_embedding(vector, person.pk)
    crypto.encrypt_embedding(vector, other.pk)
    keys = datakeys.keys_for_reading([person.pk, other.pk])
    assert keys[person.pk] != keys[other.pk]
    with pytest.raises(crypto.Unreadable):
        crypto.decrypt_embedding(token, other.pk)  # moved to another person's row


def test_a_template_whose_key_is_shredded_is_unreadable(vector, person):
    token = crypto.encrypt_embedding(vector, person.pk)
    datakeys.shred([person.pk])  # no template row holds it: the key goes
    assert not FaceDataKey.objects.filter(person=person).exists()
    with pytest.raises(crypto.Unreadable):
        crypto.decrypt_embedding(token, person.pk)
    assert crypto.decrypt_many([(1, person.pk, token)]) == {}


def test_a_ring_encrypted_template_from_before_per_person_keys_still_opens(
    settings, vector, person
):
    legacy = crypto.fernet().encrypt(vector.astype("<f4").tobytes())
    assert crypto.is_legacy(legacy)
    assert np.array_equal(crypto.decrypt_embedding(legacy, person.pk), vector)
    moved = crypto.to_per_person(legacy, person.pk)
    assert not crypto.is_legacy(moved)
    assert np.array_equal(crypto.decrypt_embedding(moved, person.pk), vector)


def test_a_new_ring_key_still_opens_keys_wrapped_by_the_old_one_until_it_is_dropped(
    settings, vector, person
):
    old_key = settings.FACE_ENCRYPTION_KEYS[0]
    token = crypto.encrypt_embedding(vector, person.pk)
    new_key = Fernet.generate_key().decode()
    settings.FACE_ENCRYPTION_KEYS = [new_key, old_key]
    assert np.array_equal(crypto.decrypt_embedding(token, person.pk), vector)
    assert datakeys.rewrap_all() == 1
    settings.FACE_ENCRYPTION_KEYS = [new_key]
    assert np.array_equal(crypto.decrypt_embedding(token, person.pk), vector)
    settings.FACE_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        crypto.decrypt_embedding(token, person.pk)  # the retired key opens nothing now
