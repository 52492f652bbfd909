"""Per-person data keys: each person's templates are encrypted with a key of their own
(AES-256-GCM), kept wrapped by the key ring (FACE_ENCRYPTION_KEYS). When a person's last
template is deleted their key is deleted with it, and every copy of their templates anywhere
else (a backup, a WAL archive, a replica) can no longer be decrypted: crypto-shredding.

That holds against backups only while the wrapped keys are not in those backups: with
FACE_KEY_DATABASE_URL set the keys live in a PostgreSQL database of their own that is not
backed up with the portal's (losing it loses only templates, which people enrol again).
Without it they live in the portal's database (table recognition_facedatakey), deleted in the
same transaction as the last template, which shreds the live database and its replicas only.

The keys of door gallery snapshots (recognition.doors.snapshots) are kept in the same store, one per
snapshot (table recognition_gallerykey), and deleted with the snapshot the same way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction

from portal import clock, keyring

_WRAP_INFO = b"portal face data key wrap v1"
_NONCE = 12
_CHUNK = 10_000
TABLE = "recognition_facedatakey"
GALLERY_TABLE = "recognition_gallerykey"
_GALLERY_WRAP_INFO = b"portal gallery snapshot key wrap v1"


class KeyMissing(Exception):
    """The person's data key is gone (shredded) or cannot be unwrapped with the key ring."""


# -- wrapping ---------------------------------------------------------------------------------


def wrapping_keys() -> tuple[AESGCM, ...]:
    return keyring.derived(_WRAP_INFO)


def _aad(person_id: int) -> bytes:
    return b"person:%d" % person_id


def wrap(key: bytes, person_id: int) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + wrapping_keys()[0].encrypt(nonce, key, _aad(person_id))


def unwrap(wrapped: bytes, person_id: int) -> tuple[bytes, int]:
    """(the data key, index in the ring of the key that opened it)."""
    wrapped = bytes(wrapped)
    nonce, body = wrapped[:_NONCE], wrapped[_NONCE:]
    for index, key in enumerate(wrapping_keys()):
        try:
            return key.decrypt(nonce, body, _aad(person_id)), index
        except InvalidTag:
            continue
    raise KeyMissing(person_id)


# -- the store: the portal's database, or a database of its own ------------------------------

_local = threading.local()

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    person_id bigint PRIMARY KEY,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""
_CREATE_GALLERY = f"""
CREATE TABLE IF NOT EXISTS {GALLERY_TABLE} (
    name varchar(64) PRIMARY KEY,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""


def separate() -> bool:
    return bool(settings.FACE_KEY_DATABASE_URL)


def _vault():
    """An autocommit connection to the key database, one per process, thread and URL."""
    import psycopg

    url = settings.FACE_KEY_DATABASE_URL
    held = getattr(_local, "vault", None)
    if held is not None and held[0] == (os.getpid(), url) and not held[1].closed:
        return held[1]
    conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    conn.execute(_CREATE)
    conn.execute(_CREATE_GALLERY)
    _local.vault = ((os.getpid(), url), conn)
    return conn


def _stored(person_ids: list[int]) -> dict[int, bytes]:
    if separate():
        found = {}
        for start in range(0, len(person_ids), _CHUNK):
            rows = _vault().execute(
                f"SELECT person_id, wrapped FROM {TABLE} WHERE person_id = ANY(%s)",  # noqa: S608
                [person_ids[start : start + _CHUNK]],
            )
            found.update((pk, bytes(wrapped)) for pk, wrapped in rows)
        return found
    from recognition.models import FaceDataKey

    found = {}
    for start in range(0, len(person_ids), _CHUNK):
        rows = FaceDataKey.objects.filter(person_id__in=person_ids[start : start + _CHUNK])
        found.update((pk, bytes(wrapped)) for pk, wrapped in rows.values_list("pk", "wrapped"))
    return found


def _insert_many(rows: list[tuple[int, bytes]]) -> None:
    if separate():
        with _vault().cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {TABLE} (person_id, wrapped) VALUES (%s, %s) "  # noqa: S608
                "ON CONFLICT (person_id) DO NOTHING",
                rows,
            )
        return
    from recognition.models import FaceDataKey

    FaceDataKey.objects.bulk_create(
        [FaceDataKey(person_id=pk, wrapped=wrapped) for pk, wrapped in rows],
        ignore_conflicts=True,
        batch_size=_CHUNK,
    )


def _delete(person_ids: list[int]) -> None:
    if not person_ids:
        return
    if separate():
        _vault().execute(f"DELETE FROM {TABLE} WHERE person_id = ANY(%s)", [person_ids])  # noqa: S608
        return
    from recognition.models import FaceDataKey

    FaceDataKey.objects.filter(person_id__in=person_ids).delete()


# -- what the rest of recognition calls -------------------------------------------------------


def key_for_writing(person_id: int) -> bytes:
    """The person's data key, made on their first template. Call it after the audit chain's
    lock (as every writer of face data): a deletion of their last template meanwhile waits."""
    return keys_for_writing([person_id])[person_id]


def keys_for_writing(person_ids: Iterable[int]) -> dict[int, bytes]:
    """{person id: data key} of each, made for those who have none yet (three statements
    however many people)."""
    person_ids = sorted(set(person_ids))
    stored = _stored(person_ids)
    missing = [pk for pk in person_ids if pk not in stored]
    if missing:
        _insert_many([(pk, wrap(os.urandom(32), pk)) for pk in missing])
        stored.update(_stored(missing))  # someone else's insert may have won
    return {pk: unwrap(stored[pk], pk)[0] for pk in person_ids}


def keys_for_reading(person_ids: Iterable[int]) -> dict[int, bytes]:
    """{person id: data key} of those who still have one."""
    return unwrap_many(_stored(sorted(set(person_ids))))


def unwrap_many(stored: dict[int, bytes]) -> dict[int, bytes]:
    """{person id: data key} of {person id: wrapped key}; one that no ring key opens is
    left out."""
    keys = {}
    for person_id, wrapped in stored.items():
        try:
            keys[person_id] = unwrap(wrapped, person_id)[0]
        except KeyMissing:
            continue
    return keys


def _without_templates(person_ids: list[int]) -> list[int]:
    from recognition.models import FaceTemplate

    still = set(
        FaceTemplate.objects.filter(person_id__in=person_ids)
        .values_list("person_id", flat=True)
        .distinct()
    )
    return [pk for pk in person_ids if pk not in still]


def shred(person_ids: Iterable[int]) -> None:
    """Deletes the data key of each of these people who has no template left. In the
    portal's database: now, in the deleting transaction. In a key database of its own: once
    that transaction commits."""
    person_ids = sorted(set(person_ids))
    if not person_ids:
        return
    if separate():
        transaction.on_commit(lambda: _delete(_without_templates(person_ids)))
    else:
        _delete(_without_templates(person_ids))


def sweep() -> int:
    """Deletes the data keys of everyone without a template (after a purge, or keys left by
    an enrolment that did not commit); returns how many."""
    from recognition.models import FaceTemplate

    held = set(FaceTemplate.objects.values_list("person_id", flat=True).distinct())
    if separate():
        stored = {row[0] for row in _vault().execute(f"SELECT person_id FROM {TABLE}")}  # noqa: S608
    else:
        from recognition.models import FaceDataKey

        stored = set(FaceDataKey.objects.values_list("pk", flat=True))
    orphans = sorted(stored - held)
    for start in range(0, len(orphans), _CHUNK):
        _delete(orphans[start : start + _CHUNK])
    return len(orphans)


def rewrap_all(batch_size: int = 1000) -> int:
    """Wraps every data key not yet wrapped by the newest key of the ring with it; returns
    how many were rewrapped. The templates themselves do not change."""
    done = 0
    if separate():
        rows = list(_vault().execute(f"SELECT person_id, wrapped FROM {TABLE}"))  # noqa: S608
    else:
        from recognition.models import FaceDataKey

        rows = list(FaceDataKey.objects.values_list("pk", "wrapped"))
    for start in range(0, len(rows), batch_size):
        updates = []
        for person_id, wrapped in rows[start : start + batch_size]:
            key, index = unwrap(wrapped, person_id)
            if index:
                updates.append((wrap(key, person_id), person_id))
        if not updates:
            continue
        if separate():
            with _vault().cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {TABLE} SET wrapped = %s WHERE person_id = %s",  # noqa: S608
                    updates,
                )
        else:
            from recognition.models import FaceDataKey

            FaceDataKey.objects.bulk_update(
                [FaceDataKey(person_id=pk, wrapped=w) for w, pk in updates], ["wrapped"]
            )
        done += len(updates)
    return done


# -- gallery snapshot keys --------------------------------------------------------------------


def _gallery_aad(name: str) -> bytes:
    return b"gallery snapshot key:" + name.encode("ascii")


def new_gallery_key() -> tuple[str, bytes]:
    """(name, key) of a new snapshot key, stored wrapped (in a key database of its own at
    once: one left by a snapshot that did not commit goes with the next `sweep`)."""
    name = os.urandom(16).hex()
    key = os.urandom(32)
    nonce = os.urandom(_NONCE)
    wrapped = nonce + keyring.derived(_GALLERY_WRAP_INFO)[0].encrypt(nonce, key, _gallery_aad(name))
    if separate():
        _vault().execute(
            f"INSERT INTO {GALLERY_TABLE} (name, wrapped) VALUES (%s, %s)",  # noqa: S608
            [name, wrapped],
        )
    else:
        from recognition.models import GalleryKey

        GalleryKey.objects.create(name=name, wrapped=wrapped)
    return name, key


def open_gallery_key(name: str, wrapped: bytes | None) -> bytes | None:
    """The snapshot key of a wrapped one, or None when it is gone or no ring key opens it."""
    if wrapped is None:
        return None
    wrapped = bytes(wrapped)
    nonce, body = wrapped[:_NONCE], wrapped[_NONCE:]
    for key in keyring.derived(_GALLERY_WRAP_INFO):
        try:
            return key.decrypt(nonce, body, _gallery_aad(name))
        except InvalidTag:
            continue
    return None


def gallery_key(name: str) -> bytes | None:
    """The snapshot key of that name, or None when it was deleted."""
    return gallery_keys([name]).get(name)


def gallery_keys(names: Iterable[str]) -> dict[str, bytes]:
    """{name: snapshot key} of those of these names that still have a key (one query)."""
    names = sorted(set(names))
    if not names:
        return {}
    if separate():
        rows = _vault().execute(
            f"SELECT name, wrapped FROM {GALLERY_TABLE} WHERE name = ANY(%s)",  # noqa: S608
            [names],
        )
    else:
        from recognition.models import GalleryKey

        rows = GalleryKey.objects.filter(pk__in=names).values_list("pk", "wrapped")
    keys = {}
    for name, wrapped in rows:
        key = open_gallery_key(name, wrapped)
        if key is not None:
            keys[name] = key
    return keys


def _delete_gallery_keys(names: list[str]) -> None:
    if separate():
        _vault().execute(
            f"DELETE FROM {GALLERY_TABLE} WHERE name = ANY(%s)",  # noqa: S608
            [names],
        )
        return
    from recognition.models import GalleryKey

    GalleryKey.objects.filter(pk__in=names).delete()


def drop_gallery_keys(names: Iterable[str]) -> None:
    """Deletes these snapshot keys: in the portal's database now, in the current transaction;
    in a key database of its own once that transaction commits (as `shred`)."""
    names = sorted(set(names))
    if not names:
        return
    if separate():
        transaction.on_commit(lambda: _delete_gallery_keys(names))
    else:
        _delete_gallery_keys(names)


def sweep_gallery_keys() -> int:
    """Deletes every snapshot key whose snapshot is gone (a key database that was away when
    a snapshot was deleted, a snapshot that did not commit); returns how many."""
    from recognition.models import GalleryKey, GallerySnapshot

    used = set(GallerySnapshot.objects.values_list("key_name", flat=True))
    # A key younger than this may belong to a snapshot being written right now.
    before = clock.now() - timedelta(minutes=10)
    if separate():
        rows = _vault().execute(
            f"SELECT name FROM {GALLERY_TABLE} WHERE created_at < %s",  # noqa: S608
            [before],
        )
        stored = {row[0] for row in rows}
    else:
        stored = set(GalleryKey.objects.filter(created_at__lt=before).values_list("pk", flat=True))
    orphans = sorted(stored - used)
    for start in range(0, len(orphans), _CHUNK):
        _delete_gallery_keys(orphans[start : start + _CHUNK])
    return len(orphans)


def rewrap_gallery_keys() -> int:
    """Wraps every snapshot key with the newest key of the ring; returns how many."""
    if separate():
        rows = list(_vault().execute(f"SELECT name, wrapped FROM {GALLERY_TABLE}"))  # noqa: S608
    else:
        from recognition.models import GalleryKey

        rows = list(GalleryKey.objects.values_list("pk", "wrapped"))
    updates = []
    for name, wrapped in rows:
        key = open_gallery_key(name, wrapped)
        if key is None:
            continue  # no ring key opens it: its snapshot is rebuilt when next needed
        nonce = os.urandom(_NONCE)
        aead = keyring.derived(_GALLERY_WRAP_INFO)[0]
        updates.append((nonce + aead.encrypt(nonce, key, _gallery_aad(name)), name))
    if separate():
        with _vault().cursor() as cursor:
            cursor.executemany(
                f"UPDATE {GALLERY_TABLE} SET wrapped = %s WHERE name = %s",  # noqa: S608
                updates,
            )
    else:
        from recognition.models import GalleryKey

        GalleryKey.objects.bulk_update(
            [GalleryKey(name=name, wrapped=w) for w, name in updates], ["wrapped"]
        )
    return len(updates)
