"""Door gallery snapshots: a worker's warm-up reads one sealed block per gallery instead of
decrypting one template per row.

A gallery (building, purpose, face model) may have one snapshot: its template ids, people,
enrolment times and normalised float32 embeddings, packed and sealed with AES-256-GCM under a
key made for that snapshot alone, bound to the gallery and the generation it was built at.
The key is kept wrapped by the key ring in the key store, beside the per-person data keys
(recognition.lifecycle.datakeys): in a key database of its own when FACE_KEY_DATABASE_URL is set.

Crypto-shredding is kept, for every copy:

1. Every deletion of a template (withdrawal, leaving, retirement, the purge, account deletion:
   whatever sends ``templates_deleted``) and every replacement of one at re-enrolment deletes
   the snapshot of its gallery and the snapshot's key in the deleting transaction (in a key
   database of its own, the key once that transaction commits, as a person's key). From the
   commit on, no snapshot holds the deleted embedding, and a copy of the old block elsewhere (a
   backup of the portal's database) no longer opens: its key is gone.
2. A snapshot is written only at the generation its gallery was read at, under that
   generation's row lock (`save`): a deletion that committed meanwhile moved the generation,
   and the write is given up.
3. A warm-up that starts from a snapshot older than the gallery's generation brings it up to
   date as any reload does (identify.refresh): rows deleted since are dropped, rows enrolled
   since are decrypted; and every door answer checks its candidates against the database.

Snapshots are written by a door worker after a warm-up that had to decrypt templates, and by
the compaction (`compact`, every DOOR_SNAPSHOT_MINUTES on the maintenance queue), which brings
every stale or missing snapshot up to its gallery's generation, decrypting only the templates
enrolled since the previous snapshot (all of them when a deletion removed it).
"""

from __future__ import annotations

import os
import struct

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, transaction
from django.db.models import Q

from portal import clock
from recognition.doors import identify
from recognition.doors.identify import Gallery
from recognition.lifecycle import datakeys
from recognition.models import GalleryGeneration, GallerySnapshot

_NONCE = 12
_HEADER = struct.Struct("<4sQI")  # magic, rows, width
_MAGIC = b"GSN1"


# -- the block: plain functions over plain values ---------------------------------------------


def pack(gallery: Gallery) -> bytes:
    """The gallery's rows as bytes: header, ids, people, stamps, then the matrix."""
    rows = len(gallery)
    width = gallery.matrix.shape[1] if rows else 0
    return b"".join(
        [
            _HEADER.pack(_MAGIC, rows, width),
            np.ascontiguousarray(gallery.ids, dtype="<i8").tobytes(),
            np.ascontiguousarray(gallery.people, dtype="<i8").tobytes(),
            np.ascontiguousarray(gallery.stamps, dtype="<f8").tobytes(),
            np.ascontiguousarray(gallery.matrix, dtype="<f4").tobytes(),
        ]
    )


def unpack(data: bytes, model_id: str, generation: int) -> Gallery:
    """The gallery packed by `pack` (the matrix's rows are already normalised).

    >>> g = Gallery("m", 3, np.array([4, 9]), np.array([1, 2]), np.array([1.5, 2.5]),
    ...             identify.normalise(np.array([[3.0, 4.0], [0.0, 2.0]])))
    >>> back = unpack(pack(g), "m", 3)
    >>> back.ids.tolist(), back.people.tolist(), back.stamps.tolist(), back.matrix.tolist()
    ([4, 9], [1, 2], [1.5, 2.5], [[0.6000000238418579, 0.800000011920929], [0.0, 1.0]])
    """
    magic, rows, width = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise ValueError("not a gallery snapshot")
    view = memoryview(data)[_HEADER.size :]
    ids = np.frombuffer(view, dtype="<i8", count=rows)
    people = np.frombuffer(view, dtype="<i8", count=rows, offset=8 * rows)
    stamps = np.frombuffer(view, dtype="<f8", count=rows, offset=16 * rows)
    matrix = np.frombuffer(view, dtype="<f4", count=rows * width, offset=24 * rows)
    # Views into `data`, not copies (read-only: a gallery is replaced, never changed in place).
    return Gallery(
        model_id=model_id,
        generation=generation,
        ids=ids.astype(np.int64, copy=False),
        people=people.astype(np.int64, copy=False),
        stamps=stamps.astype(np.float64, copy=False),
        matrix=matrix.reshape(rows, width) if rows else np.zeros((0, 0), dtype=np.float32),
    )


def _aad(building_id: int, purpose_id: int, model_id: str, generation: int) -> bytes:
    return b"gallery snapshot %d/%d/%s/%d" % (
        building_id,
        purpose_id,
        model_id.encode("utf-8"),
        generation,
    )


def seal(data: bytes, key: bytes, building_id: int, purpose_id: int, model_id: str, gen: int):
    nonce = os.urandom(_NONCE)
    aad = _aad(building_id, purpose_id, model_id, gen)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def unseal(block: bytes, key: bytes, building_id: int, purpose_id: int, model_id: str, gen: int):
    """The packed gallery, or None when the block does not open (another gallery's, or
    tampered with)."""
    block = bytes(block)
    try:
        return AESGCM(key).decrypt(
            block[:_NONCE], block[_NONCE:], _aad(building_id, purpose_id, model_id, gen)
        )
    except InvalidTag:
        return None


# -- reading and writing ----------------------------------------------------------------------


_ROWS = """
SELECT building_id, purpose_id, generation, key_name, block FROM recognition_gallerysnapshot
WHERE purpose_id = ANY(%s) AND model_id = %s
"""


def _rows(purpose_ids: list[int], model_id: str) -> list[tuple]:
    """(building id, purpose id, generation, key name, block) of these purposes' snapshots.

    On PostgreSQL the blocks come in binary: as text (hex) they are twice the bytes and their
    decoding cost as much as the rest of a cold start."""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_ROWS, [purpose_ids, model_id], binary=True)
            return [tuple(row) for row in cursor.fetchall()]
    return list(
        GallerySnapshot.objects.filter(purpose_id__in=purpose_ids, model_id=model_id).values_list(
            "building_id", "purpose_id", "generation", "key_name", "block"
        )
    )


def load(building_id: int, purpose_id: int, model_id: str) -> Gallery | None:
    """The gallery as its snapshot holds it (at the snapshot's generation), or None when
    there is none or it no longer opens (its key deleted)."""
    return load_many([(building_id, purpose_id)], model_id).get((building_id, purpose_id))


def load_many(pairs, model_id: str) -> dict[tuple[int, int], Gallery]:
    """{(building id, purpose id): gallery} of those of these galleries whose snapshot is
    there and opens, in two queries (a cold start is round trips, not bytes)."""
    pairs = {(int(b), int(p)) for b, p in pairs}
    if not pairs:
        return {}
    rows = [row for row in _rows(sorted({p for _b, p in pairs}), model_id) if row[:2] in pairs]
    keys = datakeys.gallery_keys(row[3] for row in rows)
    galleries = {}
    for building_id, purpose_id, generation, key_name, block in rows:
        key = keys.get(key_name)
        if key is None:
            continue
        data = unseal(block, key, building_id, purpose_id, model_id, generation)
        if data is not None:
            galleries[(building_id, purpose_id)] = unpack(data, model_id, generation)
    return galleries


def save(building_id: int, purpose_id: int, gallery: Gallery) -> bool:
    """Writes the gallery as its gallery's snapshot if the generation it was read at is still
    the current one (checked under the generation row's lock, which every deletion takes
    first); returns whether it was written."""
    with transaction.atomic():
        GalleryGeneration.objects.bulk_create(
            [GalleryGeneration(building_id=building_id, purpose_id=purpose_id)],
            ignore_conflicts=True,
        )
        current = (
            GalleryGeneration.objects.select_for_update()
            .filter(building_id=building_id, purpose_id=purpose_id)
            .values_list("value", flat=True)
            .get()
        )
        if current != gallery.generation:
            return False
        old = list(
            GallerySnapshot.objects.filter(
                building_id=building_id, purpose_id=purpose_id, model_id=gallery.model_id
            ).values_list("key_name", flat=True)
        )
        name, key = datakeys.new_gallery_key()
        data = pack(gallery)
        GallerySnapshot.objects.update_or_create(
            building_id=building_id,
            purpose_id=purpose_id,
            model_id=gallery.model_id,
            defaults={
                "generation": current,
                "key_name": name,
                "templates": len(gallery),
                "block": seal(data, key, building_id, purpose_id, gallery.model_id, current),
                "built_at": clock.now(),
            },
        )
        datakeys.drop_gallery_keys(old)
    return True


def discard(pairs) -> int:
    """Deletes the snapshots of these (building id, purpose id) galleries, every model, and
    their keys; call inside the transaction that deletes or replaces their templates.
    Returns how many snapshots went."""
    pairs = sorted({(int(b), int(p)) for b, p in pairs})
    if not pairs:
        return 0
    wanted = Q()
    for building_id, purpose_id in pairs:
        wanted |= Q(building_id=building_id, purpose_id=purpose_id)
    snapshots = GallerySnapshot.objects.filter(wanted)
    names = list(snapshots.values_list("key_name", flat=True))
    if not names:
        return 0
    snapshots.delete()
    datakeys.drop_gallery_keys(names)
    return len(names)


def starting_point(building_id: int, purpose_id: int, model_id: str) -> Gallery:
    """What a cold process starts a gallery from: its snapshot, or an empty gallery."""
    return load(building_id, purpose_id, model_id) or Gallery(model_id=model_id)


def compact(model_id: str) -> dict[str, int]:
    """Brings the snapshot of every active door identification gallery of this model up to
    its gallery's generation: from the previous snapshot when there is one (decrypting only
    what was enrolled since), from the templates otherwise. Returns counts."""
    from django.db.models import OuterRef, Subquery

    from consent import rules as consent_rules
    from consent.models import Purpose

    generation = GalleryGeneration.objects.filter(
        building_id=OuterRef("building_id"), purpose_id=OuterRef("pk")
    ).values("value")[:1]
    snapshot = GallerySnapshot.objects.filter(
        building_id=OuterRef("building_id"), purpose_id=OuterRef("pk"), model_id=model_id
    ).values("generation")[:1]
    galleries = (
        Purpose.objects.active()
        .filter(method=consent_rules.IDENTIFICATION, kind=consent_rules.KIND_DOOR)
        .annotate(current=Subquery(generation), held=Subquery(snapshot))
        .values_list("building_id", "pk", "current", "held")
    )
    counts = {"written": 0, "current": 0, "skipped": 0}
    for building_id, purpose_id, current, held in galleries:
        if held is not None and held == (current or 0):
            counts["current"] += 1
            continue
        gallery = starting_point(building_id, purpose_id, model_id)
        generation_now = identify.current_generation(building_id, purpose_id)
        gallery = identify.refresh(gallery, building_id, purpose_id, generation_now)
        counts["written" if save(building_id, purpose_id, gallery) else "skipped"] += 1
    return counts
