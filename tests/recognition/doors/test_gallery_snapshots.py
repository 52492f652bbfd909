"""Door gallery snapshots: a cold start reads one sealed block per gallery, and a person whose
templates were deleted is in no snapshot from the deleting commit on, so a cold start from a
snapshot built before the deletion never identifies them."""

import pytest
from django.db import transaction

from portal import clock
from recognition.doors import identify, snapshots
from recognition.lifecycle import crypto, datakeys, services
from recognition.models import FaceTemplate, GalleryKey, GallerySnapshot
from tests.factories import make_person, withdraw
from tests.recognition.doors.galleries import MODEL, Faces, identify_at

pytestmark = pytest.mark.django_db

FACES = Faces(seed=11)
_face, _near, _enrol, _identify = FACES.face, FACES.near, FACES.enrol, identify_at


def _cold_start() -> int:
    """What a restarted worker does before it forks: nothing held, then the warm-up."""
    identify.forget_all()
    return identify.warm(MODEL)


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    identify.forget_all()
    yield
    identify.forget_all()


@pytest.fixture
def decryptions(monkeypatch):
    """Every template decryption, counted (the per-row cost a snapshot saves)."""
    calls = []
    real = crypto.open_embedding
    monkeypatch.setattr(crypto, "open_embedding", lambda *args: calls.append(1) or real(*args))
    return calls


@pytest.fixture
def neighbours(building_a):
    return [make_person(f"neighbour-{n}", building_a, "resident") for n in range(3)]


def _snapshot(purpose):
    return GallerySnapshot.objects.filter(
        building_id=purpose.building_id, purpose_id=purpose.pk, model_id=MODEL
    ).first()


# The cold start -----------------------------------------------------------------------------


def test_a_warm_up_that_decrypted_writes_the_snapshot_and_the_next_reads_only_it(
    door_purpose, resident, neighbours, decryptions
):
    mine = _enrol(resident, door_purpose)
    for person in neighbours:
        _enrol(person, door_purpose)
    assert _cold_start() == 4
    assert len(decryptions) == 4
    snapshot = _snapshot(door_purpose)
    assert snapshot is not None and snapshot.templates == 4
    assert GalleryKey.objects.filter(pk=snapshot.key_name).exists()

    decryptions.clear()
    assert _cold_start() == 4
    assert decryptions == []  # one block, no template decrypted
    assert _identify(door_purpose, _near(mine)).person_id == resident.pk


def test_a_cold_start_reads_no_template_ciphertext(
    door_purpose, resident, neighbours, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for person in [resident, *neighbours]:
        _enrol(person, door_purpose)
    _cold_start()
    identify.forget_all()
    with CaptureQueriesContext(connection) as queries:
        identify.warm(MODEL)
    assert not [q for q in queries if "ciphertext" in q["sql"]]


def test_enrolments_since_the_snapshot_are_the_only_rows_decrypted(
    door_purpose, resident, neighbours, decryptions
):
    _enrol(resident, door_purpose)
    _cold_start()
    newcomer = _enrol(neighbours[0], door_purpose)
    decryptions.clear()
    assert _cold_start() == 2
    assert len(decryptions) == 1
    assert _identify(door_purpose, _near(newcomer)).person_id == neighbours[0].pk
    assert _snapshot(door_purpose).templates == 2  # written back: the next start reads it alone


# Deletion reaches the snapshot --------------------------------------------------------------


def test_a_withdrawn_person_is_not_identified_after_a_cold_start_from_an_older_snapshot(
    door_purpose, resident, neighbours
):
    mine = _enrol(resident, door_purpose)
    theirs = _enrol(neighbours[0], door_purpose)
    _cold_start()
    before = _snapshot(door_purpose)
    key_row = GalleryKey.objects.get(pk=before.key_name)
    assert _identify(door_purpose, _near(mine)).person_id == resident.pk

    with transaction.atomic():
        withdraw(resident, door_purpose)
        # In the deleting transaction: the snapshot and its key are gone with the template.
        assert _snapshot(door_purpose) is None
        assert not GalleryKey.objects.filter(pk=before.key_name).exists()

    _cold_start()
    assert _identify(door_purpose, _near(mine)).person_id is None
    assert _identify(door_purpose, _near(theirs)).person_id == neighbours[0].pk
    assert resident.pk not in identify.held_people()

    # The old snapshot put back (a restored copy of the portal's database): without its key
    # (kept apart, FACE_KEY_DATABASE_URL) it does not open ...
    def put_back_the_old_snapshot():
        GallerySnapshot.objects.all().delete()
        before.pk = None
        before.save()

    put_back_the_old_snapshot()
    assert snapshots.load(door_purpose.building_id, door_purpose.pk, MODEL) is None
    _cold_start()
    assert resident.pk not in identify.held_people()
    # ... and with its key too (both in one database), the generation moved with the
    # deletion: the cold start drops the deleted row before it holds the gallery.
    put_back_the_old_snapshot()
    GalleryKey.objects.create(name=key_row.name, wrapped=key_row.wrapped)
    assert resident.pk in snapshots.load(door_purpose.building_id, door_purpose.pk, MODEL).people
    _cold_start()
    assert resident.pk not in identify.held_people()
    assert _identify(door_purpose, _near(mine)).person_id is None


def test_the_purge_and_leaving_discard_the_snapshot(
    door_purpose, resident, neighbours, moved_clock
):
    from recognition.lifecycle.purge import purge_lapsed_templates

    mine = _enrol(resident, door_purpose)
    theirs = _enrol(neighbours[0], door_purpose)
    _cold_start()
    FaceTemplate.objects.filter(person=resident).update(lapses_at=clock.now())
    moved_clock.advance(seconds=1)
    purge_lapsed_templates()
    assert _snapshot(door_purpose) is None
    _cold_start()
    assert _identify(door_purpose, _near(mine)).person_id is None
    assert _identify(door_purpose, _near(theirs)).person_id == neighbours[0].pk

    from consent import services as consent_services

    assert _snapshot(door_purpose) is not None
    consent_services.mark_person_left(neighbours[0], door_purpose.building, actor=None)
    assert _snapshot(door_purpose) is None
    _cold_start()
    assert neighbours[0].pk not in identify.held_people()


def test_re_enrolment_leaves_no_copy_of_the_replaced_embedding(door_purpose, resident):
    old = _enrol(resident, door_purpose)
    _cold_start()
    new = _face()
    services.store_template(resident, door_purpose, new, MODEL)
    assert _snapshot(door_purpose) is None
    _cold_start()
    assert _identify(door_purpose, _near(old)).person_id is None
    assert _identify(door_purpose, _near(new)).person_id == resident.pk


def test_a_snapshot_is_not_written_over_a_deletion_that_committed_meanwhile(
    door_purpose, resident, neighbours
):
    _enrol(resident, door_purpose)
    _enrol(neighbours[0], door_purpose)
    gallery = identify.gallery_for(door_purpose.building_id, door_purpose.pk, MODEL)
    withdraw(resident, door_purpose)  # after the gallery was read, before it is written
    assert snapshots.save(door_purpose.building_id, door_purpose.pk, gallery) is False
    assert _snapshot(door_purpose) is None
    assert not GalleryKey.objects.exists()


# Compaction, keys, the block ----------------------------------------------------------------


def test_compaction_brings_every_stale_snapshot_up_to_date(
    door_purpose, resident, neighbours, decryptions
):
    _enrol(resident, door_purpose)
    assert snapshots.compact(MODEL) == {"written": 1, "current": 0, "skipped": 0}
    first = _snapshot(door_purpose)
    newcomer = _enrol(neighbours[0], door_purpose)
    decryptions.clear()
    assert snapshots.compact(MODEL) == {"written": 1, "current": 0, "skipped": 0}
    assert len(decryptions) == 1  # only the newcomer: the rest came from the old snapshot
    assert snapshots.compact(MODEL) == {"written": 0, "current": 1, "skipped": 0}
    assert not GalleryKey.objects.filter(pk=first.key_name).exists()  # the old key went
    assert GalleryKey.objects.count() == 1
    decryptions.clear()
    _cold_start()
    assert decryptions == []
    assert _identify(door_purpose, _near(newcomer)).person_id == neighbours[0].pk


def test_a_block_opens_only_for_its_own_gallery_and_generation(door_purpose, resident):
    _enrol(resident, door_purpose)
    _cold_start()
    snapshot = _snapshot(door_purpose)
    key = datakeys.gallery_key(snapshot.key_name)
    b, p, g = door_purpose.building_id, door_purpose.pk, snapshot.generation
    assert snapshots.unseal(snapshot.block, key, b, p, MODEL, g) is not None
    assert snapshots.unseal(snapshot.block, key, b, p + 1, MODEL, g) is None
    assert snapshots.unseal(snapshot.block, key, b, p, MODEL, g + 1) is None
    assert snapshots.unseal(snapshot.block, key, b, p, "other-model", g) is None
    GallerySnapshot.objects.filter(pk=snapshot.pk).update(generation=g + 1)  # relabelled
    assert snapshots.load(b, p, MODEL) is None


def test_key_rotation_rewraps_snapshot_keys(door_purpose, resident, settings):
    from cryptography.fernet import Fernet

    mine = _enrol(resident, door_purpose)
    _cold_start()
    old_ring = list(settings.FACE_ENCRYPTION_KEYS)
    settings.FACE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_ring]
    services.rotate_face_keys()
    settings.FACE_ENCRYPTION_KEYS = settings.FACE_ENCRYPTION_KEYS[:1]  # the old key dropped
    assert snapshots.load(door_purpose.building_id, door_purpose.pk, MODEL) is not None
    _cold_start()
    assert _identify(door_purpose, _near(mine)).person_id == resident.pk


def test_the_purge_sweeps_snapshot_keys_left_without_a_snapshot(
    door_purpose, resident, moved_clock
):
    from recognition.lifecycle.purge import purge_lapsed_templates

    _enrol(resident, door_purpose)
    _cold_start()
    orphan, _key = datakeys.new_gallery_key()  # a snapshot write that never committed
    purge_lapsed_templates()
    assert GalleryKey.objects.filter(pk=orphan).exists()  # young: may be being written
    moved_clock.advance(minutes=11)
    purge_lapsed_templates()
    assert not GalleryKey.objects.filter(pk=orphan).exists()
    assert GalleryKey.objects.filter(pk=_snapshot(door_purpose).key_name).exists()
