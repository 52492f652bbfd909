"""1:N identification at a door: the probe against every usable template of one building and
purpose, with the decrypted embeddings held in the worker's memory between requests.

Deletion is respected by two checks on every request, both in PostgreSQL:

1. The gallery's generation (`GalleryGeneration`) is read first. Every enrolment and every
   deletion of templates raises it inside the transaction that writes or deletes them
   (`bump`), so a worker whose copy is older reloads before it answers: the very next
   request after a withdrawal no longer holds that person's embedding.
2. The few templates that come out of the search within the threshold are checked again,
   in one query, for an active consent, a current membership and a running retention,
   so a template that lapsed without being deleted yet (an expired consent, say) never opens
   a door either.

The search itself is one matrix product over L2-normalised float32 rows.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db import DatabaseError, connection
from django.db.models import Exists, F, FloatField, OuterRef, Q
from django.db.models.functions import Cast, Extract
from django.utils import timezone

from consent import rules as consent_rules
from consent import rules_query as consent_rules_query
from portal import clock
from portal.models import Membership
from portal.rules_query import current_member_sql
from recognition import policy, policy_query
from recognition.doors import operating
from recognition.doors.operating import ImpostorFit
from recognition.lifecycle import crypto, datakeys
from recognition.models import FaceTemplate, GalleryGeneration

# How many of the closest templates are checked against the database when several fall
# within the threshold; more would only ever matter for a threshold set far too loose.
CANDIDATES = 8
_FETCH_CHUNK = 2_000
# Galleries read per round trip at a warm-up (a snapshot holds about 0.5 KB per template;
# the blocks of one round trip are in memory at once, besides the galleries).
WARM_CHUNK = 20
log = logging.getLogger(__name__)


def bump(pairs: Iterable[tuple[int, int]]) -> None:
    """Raises the generation of each (building id, purpose id); call inside the transaction
    that writes or deletes their templates, so that the two commit together.

    Three statements however many pairs (a purge batch brings hundreds); the rows are locked
    in (building, purpose) order, so bumps running at the same time never deadlock.
    """
    pairs = sorted(set(pairs))
    if not pairs:
        return
    GalleryGeneration.objects.bulk_create(
        [GalleryGeneration(building_id=b, purpose_id=p) for b, p in pairs], ignore_conflicts=True
    )
    wanted = Q()
    for building_id, purpose_id in pairs:
        wanted |= Q(building_id=building_id, purpose_id=purpose_id)
    locked = list(
        GalleryGeneration.objects.filter(wanted)
        .order_by("building_id", "purpose_id")
        .select_for_update()
        .values_list("pk", flat=True)
    )
    GalleryGeneration.objects.filter(pk__in=locked).update(value=F("value") + 1)


def current_generation(building_id: int, purpose_id: int) -> int:
    value = (
        GalleryGeneration.objects.filter(building_id=building_id, purpose_id=purpose_id)
        .values_list("value", flat=True)
        .first()
    )
    return value or 0


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (all-zero rows stay zero), as contiguous float32."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)


@dataclass
class Gallery:
    """Decrypted, normalised embeddings of one building and purpose, row i for ids[i]."""

    model_id: str
    generation: int = -1
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    people: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stamps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, probe: np.ndarray, threshold: float, limit: int = CANDIDATES):
        """(candidates, closest): up to `limit` (row, distance) pairs at or below the
        threshold, closest first, and the smallest distance of all (None when empty).

        Cosine distance, as the engine's: 1 - a.b over unit vectors.
        """
        if not len(self.ids):
            return [], None
        similarities = self.matrix @ normalise(probe)[0]
        count = min(limit, len(similarities))
        if count < len(similarities):
            top = np.argpartition(similarities, -count)[-count:]
        else:
            top = np.arange(len(similarities))
        top = top[np.argsort(-similarities[top], kind="stable")]
        distances = 1.0 - similarities[top].astype(np.float64)
        closest = float(distances[0])
        candidates = [
            (int(row), float(distance))
            for row, distance in zip(top, distances, strict=True)
            if policy.is_match(float(distance), threshold)
        ]
        return candidates, closest

    def replace(self, ids, people, stamps, vectors) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.people = np.asarray(people, dtype=np.int64)
        self.stamps = np.asarray(stamps, dtype=np.float64)
        self.matrix = normalise(vectors) if len(ids) else np.zeros((0, 0), dtype=np.float32)


_WITH_KEYS = f"""
SELECT t.id, t.person_id, t.ciphertext, k.wrapped
FROM recognition_facetemplate t LEFT JOIN {datakeys.TABLE} k ON k.person_id = t.person_id
WHERE t.id = ANY(%s)
"""  # noqa: S608 (a constant table name)


def _decrypt(template_ids: list[int]) -> dict[int, np.ndarray]:
    """Embeddings of these templates; one whose person's key is gone is left out.

    On PostgreSQL each chunk is one statement with the ids as one array parameter and, with
    the keys in the portal's database, each person's wrapped key joined in: building a query
    of thousands of parameters cost more than decrypting its rows."""
    vectors = {}
    if connection.vendor == "postgresql":
        chunk = 10 * _FETCH_CHUNK
        for start in range(0, len(template_ids), chunk):
            with connection.cursor() as cursor:
                cursor.execute(_WITH_KEYS, [template_ids[start : start + chunk]])
                rows = cursor.fetchall()
            wrapped = None
            if not datakeys.separate():
                wrapped = {person: key for _pk, person, _t, key in rows if key is not None}
            vectors.update(crypto.decrypt_many([row[:3] for row in rows], wrapped))
        return vectors
    for start in range(0, len(template_ids), _FETCH_CHUNK):
        chunk = template_ids[start : start + _FETCH_CHUNK]
        rows = FaceTemplate.objects.filter(pk__in=chunk).values_list(
            "pk", "person_id", "ciphertext"
        )
        vectors.update(crypto.decrypt_many(rows))
    return vectors


def _template_rows(building_id: int, purpose_id: int, model_id: str) -> list:
    """(id, person id, enrolment time in seconds) of the gallery's templates, by id.

    PostgreSQL sends the time as a number: building 100,000 datetime objects would cost more
    than everything else a reload does."""
    templates = FaceTemplate.objects.filter(
        building_id=building_id, purpose_id=purpose_id, model_id=model_id
    ).order_by("pk")
    if connection.vendor == "postgresql":
        stamp = Cast(Extract("created_at", "epoch"), FloatField())
        rows = templates.annotate(stamp=stamp).values_list("pk", "person_id", "stamp")
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:  # plain tuples: no per-row converters
            cursor.execute(sql, params)
            return cursor.fetchall()
    return [
        (pk, person, at.timestamp())
        for pk, person, at in templates.values_list("pk", "person_id", "created_at")
    ]


def refresh(gallery: Gallery, building_id: int, purpose_id: int, generation: int) -> Gallery:
    """Brings the gallery up to the templates in the database: rows that went are dropped,
    new or re-enrolled ones are decrypted, unchanged ones are copied over as they are."""
    rows = _template_rows(building_id, purpose_id, gallery.model_id)
    count = len(rows)
    ids = np.fromiter((pk for pk, _person, _at in rows), dtype=np.int64, count=count)
    people = np.fromiter((person for _pk, person, _at in rows), dtype=np.int64, count=count)
    stamps = np.fromiter((at for _pk, _person, at in rows), dtype=np.float64, count=count)
    # Both id lists are sorted: a row is unchanged when the old gallery has its id and stamp.
    source = np.zeros(count, dtype=np.int64)
    unchanged = np.zeros(count, dtype=bool)
    if len(gallery.ids) and count:
        source = np.minimum(np.searchsorted(gallery.ids, ids), len(gallery.ids) - 1)
        unchanged = (gallery.ids[source] == ids) & (gallery.stamps[source] == stamps)
    decrypted = _decrypt(ids[~unchanged].tolist())
    fresh = np.array([int(pk) in decrypted for pk in ids], dtype=bool) & ~unchanged
    present = unchanged | fresh  # a row deleted between the two queries is left out
    width = gallery.matrix.shape[1] if unchanged.any() else 0
    if decrypted:
        width = len(next(iter(decrypted.values())))
    matrix = np.zeros((count, width), dtype=np.float32)
    if unchanged.any():
        matrix[unchanged] = gallery.matrix[source[unchanged]]
    if fresh.any():
        matrix[fresh] = normalise(np.stack([decrypted[int(pk)] for pk in ids[fresh]]))
    return Gallery(
        model_id=gallery.model_id,
        generation=generation,
        ids=ids[present],
        people=people[present],
        stamps=stamps[present],
        matrix=np.ascontiguousarray(matrix[present]),
    )


_galleries: dict[tuple[int, int], Gallery] = {}
_lock = threading.Lock()


def gallery_for(building_id: int, purpose_id: int, model_id: str) -> Gallery:
    """This process's gallery of one building and purpose, reloaded first if its generation
    moved since it was loaded (one small query when it did not)."""
    from recognition.doors import snapshots

    generation = current_generation(building_id, purpose_id)
    key = (building_id, purpose_id)
    with _lock:
        gallery = _galleries.get(key)
        if gallery is None or gallery.model_id != model_id:
            gallery = snapshots.starting_point(building_id, purpose_id, model_id)
        if gallery.generation != generation:
            gallery = refresh(gallery, building_id, purpose_id, generation)
            _galleries[key] = gallery
        return gallery


def warm(
    model_id: str, keep: Callable[[int], bool] | None = None, *, write_snapshots: bool = True
) -> int:
    """Loads the gallery of every active identification purpose (of the buildings `keep`
    accepts: a door worker's shards, recognition.doors.shards); returns the templates held.

    Run in the worker's parent process before it forks: every child then starts with the
    galleries (shared copy-on-write) and only catches up with what changed since, instead of
    decrypting every template on its first door request. Each gallery starts from its
    snapshot (one block, one decryption: recognition.doors.snapshots) and decrypts only the
    templates enrolled since; a gallery that had to decrypt any is written back as its
    snapshot, so the next cold start reads one block."""
    from consent.models import Purpose
    from recognition.doors import snapshots

    galleries = [
        (building_id, purpose_id)
        for building_id, purpose_id in Purpose.objects.active()
        .filter(method=consent_rules.IDENTIFICATION, kind=consent_rules.KIND_DOOR)
        .values_list("building_id", "pk")
        if keep is None or keep(building_id)
    ]
    held = 0
    for first in range(0, len(galleries), WARM_CHUNK):
        chunk = galleries[first : first + WARM_CHUNK]
        # The snapshots first, the generations after: a deletion between the two moved the
        # generation, so its gallery is brought up to date below.
        starts = snapshots.load_many(chunk, model_id)
        rows = GalleryGeneration.objects.filter(purpose_id__in=[p for _b, p in chunk])
        generations = {
            (b, p): v for b, p, v in rows.values_list("building_id", "purpose_id", "value")
        }
        for key in chunk:
            start = starts.get(key) or Gallery(model_id=model_id)
            generation = generations.get(key, 0)
            gallery = start
            if start.generation != generation:
                gallery = refresh(start, key[0], key[1], generation)
            with _lock:
                _galleries[key] = gallery
            held += len(gallery)
            if write_snapshots and gallery is not start:
                try:
                    snapshots.save(key[0], key[1], gallery)
                except DatabaseError as error:  # the gallery is held; only the snapshot waits
                    log.warning("door gallery snapshot not written: %s", error.__class__.__name__)
    return held


def held() -> dict[int, int]:
    """{building id: templates} of the galleries this process holds."""
    with _lock:
        galleries = list(_galleries.items())
    counts: dict[int, int] = {}
    for (building_id, _purpose_id), gallery in galleries:
        counts[building_id] = counts.get(building_id, 0) + len(gallery)
    return counts


def forget_all() -> None:
    """Drops every gallery held by this process."""
    with _lock:
        _galleries.clear()


def _renew_lock() -> None:
    # A fork copies the lock as it is: held by a thread (the broadcast listener) that does
    # not exist in the child, it would never be released there.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_lock)


def drop_deleted(pairs: Iterable[tuple[int, int]]) -> None:
    """Drops from this process's galleries of these (building, purpose) pairs every row whose
    template is no longer in the database; decrypts nothing (new rows come with the next
    request). A gallery that cannot be checked is dropped whole."""
    for building_id, purpose_id in pairs:
        key = (building_id, purpose_id)
        with _lock:
            gallery = _galleries.get(key)
            if gallery is None:
                continue
            try:
                kept = np.fromiter(
                    FaceTemplate.objects.filter(
                        building_id=building_id, purpose_id=purpose_id, model_id=gallery.model_id
                    ).values_list("pk", flat=True),
                    dtype=np.int64,
                )
            except DatabaseError:
                del _galleries[key]
                continue
            rows = np.isin(gallery.ids, kept)
            if rows.all():
                continue
            _galleries[key] = Gallery(
                model_id=gallery.model_id,
                generation=gallery.generation,
                ids=gallery.ids[rows],
                people=gallery.people[rows],
                stamps=gallery.stamps[rows],
                matrix=np.ascontiguousarray(gallery.matrix[rows]),
            )


def held_people() -> list[int]:
    """The people whose embeddings this process holds, in any gallery (ids only)."""
    with _lock:
        galleries = list(_galleries.values())
    held: set[int] = set()
    for gallery in galleries:
        held.update(int(person) for person in gallery.people)
    return sorted(held)


def _usable(template_ids: list[int], building_id: int, purpose_id: int, now=None):
    member = Membership.objects.current().filter(
        user_id=OuterRef("person_id"), building_id=OuterRef("building_id")
    )
    return (
        FaceTemplate.objects.for_active_consent()
        .filter(
            policy_query.retention_runs(now or clock.now()),
            pk__in=template_ids,
            building_id=building_id,
            purpose_id=purpose_id,
            purpose__status=consent_rules.ACTIVE,
            person__is_active=True,
        )
        .filter(Exists(member))
        .values_list("pk", "person_id")
    )


def usable_templates(template_ids: list[int], building_id: int, purpose_id: int, now=None):
    """{template id: person id} of those templates that may open a door now: active consent,
    active account, person still a member of the building, purpose active, retention not
    over."""
    return dict(_usable(template_ids, building_id, purpose_id, now))


# `usable_templates` in one PostgreSQL statement with the generation: the ORM takes longer to
# build that query than PostgreSQL takes to plan and run it, on every door request. The rules
# are Consent.objects.active(), an active account and a current membership, as in `_usable`;
# tests/recognition/doors/test_identify_cache.py checks that both agree, state by state.
_CHECK = f"""
SELECT g.value, u.id, u.person_id
FROM (
    SELECT COALESCE((SELECT value FROM recognition_gallerygeneration
                     WHERE building_id = %(building)s AND purpose_id = %(purpose)s), 0) AS value
) AS g
LEFT JOIN LATERAL (
    SELECT t.id, t.person_id
    FROM recognition_facetemplate t
    JOIN consent_purpose p ON p.id = t.purpose_id
    JOIN consent_consent c ON c.person_id = t.person_id AND c.purpose_id = t.purpose_id
    JOIN portal_user person ON person.id = t.person_id
    WHERE t.id = ANY(%(ids)s) AND t.building_id = %(building)s AND t.purpose_id = %(purpose)s
        AND {policy_query.RETENTION_RUNS_SQL}
        AND {consent_rules_query.ACTIVE_SQL}
        AND person.is_active
        AND EXISTS (
            SELECT 1 FROM portal_membership m
            WHERE m.user_id = t.person_id AND m.building_id = t.building_id
                AND {current_member_sql("m")}
        )
) AS u ON TRUE
"""  # noqa: S608 (constant text; every value is a bound parameter)


def check(building_id: int, purpose_id: int, template_ids: list[int]) -> tuple[int, dict]:
    """(current generation, usable templates among `template_ids`) in one round trip."""
    if not template_ids:
        return current_generation(building_id, purpose_id), {}
    if connection.vendor != "postgresql":
        return (
            current_generation(building_id, purpose_id),
            usable_templates(template_ids, building_id, purpose_id),
        )
    now = clock.now()
    params = {
        "building": building_id,
        "purpose": purpose_id,
        "ids": list(template_ids),
        **consent_rules_query.active_params(
            now, consent_rules.adult_born_on_or_before(timezone.localdate(now))
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute(_CHECK, params)
        rows = cursor.fetchall()
    return rows[0][0], {pk: person for _value, pk, person in rows if pk is not None}


@dataclass(frozen=True)
class Identification:
    person_id: int | None
    template_id: int | None
    distance: float | None  # of the match, or the closest template when nobody matched
    ambiguous: bool = False  # more than one person within the threshold: nobody matched


# A gallery whose generation moved is reloaded and searched again; after this many moves in
# a row (enrolments arriving faster than reloads) the answer stands on the last reload, and on
# a check of the candidates that is current in any case.
SEARCHES = 3


def identify(
    building_id: int,
    purpose_id: int,
    probe: np.ndarray,
    *,
    model_id: str,
    threshold: float,
    impostor_fit: ImpostorFit | None = None,
    max_false_open: float = 1.0,
    margin: float = 0.0,
) -> Identification:
    """The person whose usable template is closest to the probe within the threshold.

    The threshold is the 1:1 one, tightened for the gallery's size when the model's impostor
    distances are known (``recognition.doors.operating``: a stranger's estimated chance to open
    stays at ``max_false_open``); nobody is identified when another person comes within
    ``margin`` of the best one.

    With the gallery already held, one query per request: the search runs on the held copy,
    then one round trip reads the generation and checks the candidates together; if the
    generation moved, the gallery is brought up to it and searched again.
    """
    key = (building_id, purpose_id)
    with _lock:
        gallery = _galleries.get(key)
    if gallery is None or gallery.model_id != model_id:
        gallery = gallery_for(building_id, purpose_id, model_id)
    for search in range(SEARCHES):
        limit = operating.identification_threshold(
            threshold, len(gallery), impostor_fit, max_false_open
        )
        candidates, closest = gallery.search(probe, limit + margin)
        ids = [int(gallery.ids[row]) for row, _distance in candidates]
        generation, usable = check(building_id, purpose_id, ids)
        if generation == gallery.generation or search == SEARCHES - 1:
            break
        with _lock:
            gallery = refresh(gallery, building_id, purpose_id, generation)
            _galleries[key] = gallery
    found = [
        (usable[int(gallery.ids[row])], int(gallery.ids[row]), distance)
        for row, distance in candidates
        if int(gallery.ids[row]) in usable
    ]
    person_id = policy.door_match(
        [(person, distance) for person, _t, distance in found], limit, margin
    )
    if person_id is None:
        people = {person for person, _t, _distance in found}
        return Identification(None, None, closest, ambiguous=len(people) > 1)
    _person, template_id, distance = found[0]
    return Identification(person_id, template_id, distance)
