"""Crypto-shredding: a backup taken before a deletion no longer yields the deleted template.

The data keys live in a PostgreSQL database of their own (FACE_KEY_DATABASE_URL), apart from
the portal's database and its backups. A real pg_dump of the portal's database is taken
while the template exists, the person withdraws, and the dump is restored into a scratch
database: the template's ciphertext is there, byte for byte, and nothing opens it any more.
"""

import subprocess

import numpy as np
import psycopg
import pytest
from django.db import connection

from recognition.lifecycle import crypto, datakeys, services
from recognition.models import FaceDataKey, FaceTemplate, GalleryKey
from tests.factories import grant, make_person, withdraw

pytestmark = pytest.mark.django_db(transaction=True)


def _server() -> tuple[str, dict]:
    db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}", {"user": user, "host": host, "port": str(port)}


def _admin(sql: str) -> None:
    base, _parts = _server()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def scratch_databases():
    """Names of two scratch databases (the key database, the restored dump), dropped after."""
    name = connection.settings_dict["NAME"]
    names = [f"{name}_keys", f"{name}_restored"]
    for scratch in names:
        _admin(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{scratch}"')
    yield names
    held = getattr(datakeys._local, "vault", None)
    if held is not None:
        held[1].close()
    for scratch in names:
        _admin(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=128).astype(np.float32)


def _dump_and_restore(target: str, path) -> None:
    _base, parts = _server()
    common = ["-h", parts["host"], "-p", parts["port"], "-U", parts["user"]]
    name = connection.settings_dict["NAME"]
    subprocess.run(["pg_dump", *common, "-Fc", "-f", str(path), name], check=True)
    return lambda: subprocess.run(
        ["pg_restore", *common, "--no-owner", "-d", target, str(path)], check=True
    )


def _restored_templates(database: str) -> dict[int, bytes]:
    base, _parts = _server()
    with psycopg.connect(f"{base}/{database}") as conn:
        rows = conn.execute("SELECT person_id, ciphertext FROM recognition_facetemplate")
        return {person: bytes(token) for person, token in rows}


def test_a_dump_taken_before_withdrawal_no_longer_yields_the_template(
    settings, scratch_databases, tmp_path, building_a, sign_in_purpose
):
    keys_db, restored_db = scratch_databases
    base, _parts = _server()
    settings.FACE_KEY_DATABASE_URL = f"{base}/{keys_db}"
    leaving, staying = (make_person(n, building_a, "staff") for n in ("leaving", "staying"))
    for seed, person in enumerate((leaving, staying)):
        grant(person, sign_in_purpose)
        services.store_template(person, sign_in_purpose, _vector(seed), "test-engine")
    assert not FaceDataKey.objects.exists()  # no key in the portal's own database
    token = bytes(FaceTemplate.objects.get(person=leaving).ciphertext)
    assert np.array_equal(crypto.decrypt_embedding(token, leaving.pk), _vector(0))

    restore = _dump_and_restore(restored_db, tmp_path / "portal.dump")  # the nightly backup
    withdraw(leaving, sign_in_purpose)
    assert not FaceTemplate.objects.filter(person=leaving).exists()
    assert set(datakeys.keys_for_reading([leaving.pk, staying.pk])) == {staying.pk}

    restore()
    backup = _restored_templates(restored_db)
    assert backup[leaving.pk] == token  # the backup still holds the ciphertext ...
    with pytest.raises(crypto.Unreadable):
        crypto.decrypt_embedding(backup[leaving.pk], leaving.pk)  # ... which nothing opens
    assert np.array_equal(crypto.decrypt_embedding(backup[staying.pk], staying.pk), _vector(1))


def test_leaving_and_the_purge_shred_keys_too_and_a_person_keeps_one_key(
    settings, scratch_databases, building_a, sign_in_purpose
):
    from consent import services as consent_services

    keys_db, _restored = scratch_databases
    base, _parts = _server()
    settings.FACE_KEY_DATABASE_URL = f"{base}/{keys_db}"
    person = make_person("comer", building_a, "staff")
    grant(person, sign_in_purpose)
    services.store_template(person, sign_in_purpose, _vector(3), "test-engine")
    first_key = datakeys.keys_for_reading([person.pk])[person.pk]
    services.store_template(person, sign_in_purpose, _vector(4), "test-engine")
    assert datakeys.keys_for_reading([person.pk])[person.pk] == first_key  # one key a person

    consent_services.mark_person_left(person, building_a, actor=None)
    assert datakeys.keys_for_reading([person.pk]) == {}

    # A key left behind (say, by an enrolment that never committed) goes with the next purge.
    datakeys.key_for_writing(person.pk)
    from recognition.lifecycle.purge import purge_lapsed_templates

    purge_lapsed_templates()
    assert datakeys.keys_for_reading([person.pk]) == {}


def test_key_rotation_rewraps_the_keys_in_their_own_database(
    settings, scratch_databases, building_a, sign_in_purpose
):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    keys_db, _restored = scratch_databases
    base, _parts = _server()
    settings.FACE_KEY_DATABASE_URL = f"{base}/{keys_db}"
    person = make_person("rotated", building_a, "staff")
    grant(person, sign_in_purpose)
    services.store_template(person, sign_in_purpose, _vector(5), "test-engine")
    token = bytes(FaceTemplate.objects.get(person=person).ciphertext)
    old = list(settings.FACE_ENCRYPTION_KEYS)
    settings.FACE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old]
    call_command("rotate_face_keys", verbosity=0)
    settings.FACE_ENCRYPTION_KEYS = settings.FACE_ENCRYPTION_KEYS[:1]  # the old key dropped
    assert bytes(FaceTemplate.objects.get(person=person).ciphertext) == token  # unchanged
    assert np.array_equal(crypto.decrypt_embedding(token, person.pk), _vector(5))


def test_a_dump_taken_before_withdrawal_holds_a_door_snapshot_that_no_longer_opens(
    settings, scratch_databases, tmp_path, building_a, door_purpose
):
    """The door gallery's snapshot (one sealed block of everyone's embeddings) is in the
    nightly dump too; its key is in the key database, deleted with the withdrawal, so the
    dumped block opens no more, and a cold start after the withdrawal identifies nobody of it."""
    from recognition.doors import identify, snapshots
    from recognition.models import GallerySnapshot

    keys_db, restored_db = scratch_databases
    base, _parts = _server()
    settings.FACE_KEY_DATABASE_URL = f"{base}/{keys_db}"
    leaving, staying = (make_person(n, building_a, "resident") for n in ("leaving", "staying"))
    for seed, person in enumerate((leaving, staying)):
        grant(person, door_purpose)
        services.store_template(person, door_purpose, _vector(seed), "test-engine")
    identify.forget_all()
    identify.warm("test-engine")  # the cold start writes the gallery's snapshot
    snapshot = GallerySnapshot.objects.get(purpose=door_purpose)
    assert datakeys.gallery_key(snapshot.key_name) is not None
    assert not GalleryKey.objects.exists()  # its key is in the key database, not the portal's

    restore = _dump_and_restore(restored_db, tmp_path / "portal.dump")
    withdraw(leaving, door_purpose)
    assert not GallerySnapshot.objects.filter(purpose=door_purpose).exists()
    assert datakeys.gallery_key(snapshot.key_name) is None  # gone once the withdrawal committed

    restore()
    with psycopg.connect(f"{base}/{restored_db}") as conn:
        name, generation, block = conn.execute(
            "SELECT key_name, generation, block FROM recognition_gallerysnapshot"
        ).fetchone()
    assert name == snapshot.key_name and bytes(block) == bytes(snapshot.block)  # in the backup
    assert datakeys.gallery_key(name) is None  # ... and nothing opens it

    identify.forget_all()
    identify.warm("test-engine")
    assert identify.held_people() == [staying.pk]
    identify.forget_all()
    snapshot = GallerySnapshot.objects.get(purpose=door_purpose)  # written again, without them
    gallery = snapshots.load(building_a.pk, door_purpose.pk, "test-engine")
    assert gallery is not None and gallery.people.tolist() == [staying.pk]
    assert generation < snapshot.generation
