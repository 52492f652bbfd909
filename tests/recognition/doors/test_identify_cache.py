"""The 1:N gallery held in worker memory: the search itself, and that every enrolment,
withdrawal and purge invalidates it before the next identification is answered."""

import numpy as np
import pytest
from django.db import transaction

from portal import clock
from portal.models import Membership
from recognition.doors import identify
from recognition.doors.identify import Gallery
from recognition.lifecycle import crypto, services
from recognition.models import FaceTemplate, GalleryGeneration
from tests.factories import grant, withdraw
from tests.recognition.doors.galleries import MODEL, THRESHOLD, Faces, identify_at

pytestmark = pytest.mark.django_db

FACES = Faces(seed=7)
_face, _near, _enrol, _identify = FACES.face, FACES.near, FACES.enrol, identify_at


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    identify.forget_all()
    yield
    identify.forget_all()


# The search ---------------------------------------------------------------------------------


def test_search_finds_the_closest_row_within_the_threshold():
    faces = np.stack([_face() for _ in range(50)])
    gallery = Gallery(model_id=MODEL)
    gallery.replace(list(range(50)), list(range(50)), [0.0] * 50, faces)
    candidates, closest = gallery.search(_near(faces[17]), THRESHOLD)
    assert candidates[0][0] == 17 and len(candidates) == 1
    assert closest == pytest.approx(candidates[0][1]) and closest < THRESHOLD
    assert np.allclose(np.linalg.norm(gallery.matrix, axis=1), 1.0)


def test_search_matches_the_engines_cosine_distance():
    from recognition.engine import cosine_distance

    faces = np.stack([_face() for _ in range(5)])
    gallery = Gallery(model_id=MODEL)
    gallery.replace(range(5), range(5), [0.0] * 5, faces)
    probe = _face()
    _candidates, closest = gallery.search(probe, 2.0)
    expected = min(cosine_distance(probe, face) for face in faces)
    assert closest == pytest.approx(expected, abs=1e-5)


def test_search_of_a_stranger_or_an_empty_gallery_finds_nobody():
    gallery = Gallery(model_id=MODEL)
    assert gallery.search(_face(), THRESHOLD) == ([], None)
    gallery.replace([1, 2], [1, 2], [0.0, 0.0], np.stack([_face(), _face()]))
    candidates, closest = gallery.search(_face(), THRESHOLD)
    assert candidates == [] and closest > THRESHOLD


def test_search_returns_at_most_the_candidate_limit_closest_first():
    base = _face()
    gallery = Gallery(model_id=MODEL)
    twins = np.stack([_near(base) for _ in range(20)])
    gallery.replace(range(20), range(20), [0.0] * 20, twins)
    candidates, _closest = gallery.search(base, THRESHOLD, limit=3)
    distances = [distance for _row, distance in candidates]
    assert len(candidates) == 3 and distances == sorted(distances)


# Invalidation -------------------------------------------------------------------------------


def test_the_right_person_is_identified_among_several(door_purpose, resident, other_resident):
    mine = _enrol(resident, door_purpose)
    _enrol(other_resident, door_purpose)
    found = _identify(door_purpose, _near(mine))
    assert found.person_id == resident.pk and found.distance < THRESHOLD
    assert _identify(door_purpose, _face()).person_id is None


def test_enrolment_and_withdrawal_raise_the_generation_in_their_transaction(door_purpose, resident):
    def generation():
        return identify.current_generation(door_purpose.building_id, door_purpose.pk)

    assert generation() == 0
    _enrol(resident, door_purpose)
    assert generation() == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        services.store_template(resident, door_purpose, _face(), MODEL)
        raise RuntimeError("rolled back")
    assert generation() == 1  # nothing committed, nothing to reload
    withdraw(resident, door_purpose)
    assert generation() == 2
    assert GalleryGeneration.objects.count() == 1


def test_withdrawal_makes_the_very_next_identification_miss(door_purpose, resident, other_resident):
    mine = _enrol(resident, door_purpose)
    _enrol(other_resident, door_purpose)
    assert _identify(door_purpose, _near(mine)).person_id == resident.pk
    template_id = FaceTemplate.objects.get(person=resident).pk
    withdraw(resident, door_purpose)
    assert _identify(door_purpose, _near(mine)).person_id is None
    held = identify.gallery_for(door_purpose.building_id, door_purpose.pk, MODEL)
    assert template_id not in held.ids and len(held) == 1


def test_a_new_enrolment_is_found_by_the_next_identification(door_purpose, resident):
    _enrol(resident, door_purpose)
    assert len(identify.gallery_for(door_purpose.building_id, door_purpose.pk, MODEL)) == 1
    from tests.factories import make_person

    newcomer = make_person("newcomer", door_purpose.building, "resident")
    face = _enrol(newcomer, door_purpose)
    assert _identify(door_purpose, _near(face)).person_id == newcomer.pk


def test_re_enrolment_replaces_the_held_embedding(door_purpose, resident):
    old = _enrol(resident, door_purpose)
    assert _identify(door_purpose, _near(old)).person_id == resident.pk
    new = _face()
    services.store_template(resident, door_purpose, new, MODEL)
    assert _identify(door_purpose, _near(old)).person_id is None
    assert _identify(door_purpose, _near(new)).person_id == resident.pk


def test_a_reload_decrypts_only_what_changed(door_purpose, resident, other_resident, monkeypatch):
    _enrol(resident, door_purpose)
    identify.gallery_for(door_purpose.building_id, door_purpose.pk, MODEL)
    calls = []
    real = crypto.open_embedding
    monkeypatch.setattr(crypto, "open_embedding", lambda *args: calls.append(1) or real(*args))
    face = _enrol(other_resident, door_purpose)
    assert _identify(door_purpose, _near(face)).person_id == other_resident.pk
    assert len(calls) == 1
    _identify(door_purpose, _near(face))
    assert len(calls) == 1  # generation unchanged: nothing reloaded


def test_the_purge_invalidates_the_gallery(door_purpose, resident, other_resident):
    from recognition.lifecycle.purge import purge_lapsed_templates

    mine = _enrol(resident, door_purpose)
    _enrol(other_resident, door_purpose)
    assert _identify(door_purpose, _near(mine)).person_id == resident.pk
    before = identify.current_generation(door_purpose.building_id, door_purpose.pk)
    # Left without the signal (as if marked by hand): only the scheduled purge deletes.
    Membership.objects.filter(user=resident).update(left_at=clock.now())
    purge_lapsed_templates(trigger="manual")
    assert not FaceTemplate.objects.filter(person=resident).exists()
    assert identify.current_generation(door_purpose.building_id, door_purpose.pk) > before
    held = identify.gallery_for(door_purpose.building_id, door_purpose.pk, MODEL)
    assert list(held.people) == [other_resident.pk]


def test_a_lapsed_but_not_yet_purged_template_opens_nothing(door_purpose, resident):
    mine = _enrol(resident, door_purpose)
    assert _identify(door_purpose, _near(mine)).person_id == resident.pk
    resident.consents.update(expires_at=clock.now())
    assert _identify(door_purpose, _near(mine)).person_id is None
    resident.consents.update(expires_at=None)
    FaceTemplate.objects.filter(person=resident).update(lapses_at=clock.now())
    assert _identify(door_purpose, _near(mine)).person_id is None


def test_a_person_who_left_opens_nothing_before_the_purge(door_purpose, resident):
    mine = _enrol(resident, door_purpose)
    Membership.objects.filter(user=resident).update(left_at=clock.now())
    assert _identify(door_purpose, _near(mine)).person_id is None


def test_templates_of_another_model_are_not_held(door_purpose, resident):
    mine = _enrol(resident, door_purpose)
    found = identify.identify(
        door_purpose.building_id, door_purpose.pk, mine, model_id="other@v1", threshold=THRESHOLD
    )
    assert found.person_id is None and found.distance is None


def test_with_the_gallery_held_each_identification_is_one_query(
    door_purpose, resident, other_resident, django_assert_num_queries
):
    mine = _enrol(resident, door_purpose)
    _enrol(other_resident, door_purpose)
    _identify(door_purpose, _near(mine))
    with django_assert_num_queries(1):
        assert _identify(door_purpose, _near(mine)).person_id == resident.pk
    with django_assert_num_queries(1):
        assert _identify(door_purpose, _face()).person_id is None


def test_the_door_rule_opens_for_exactly_one_person():
    import doctest

    from recognition import policy

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(
        policy.door_match, "door_match", globs={"door_match": policy.door_match}
    ):
        runner.run(test)
    assert runner.failures == 0 and runner.tries == 5
    assert policy.door_match([], THRESHOLD) is None


def test_a_face_close_to_two_people_opens_for_neither(door_purpose, resident, other_resident):
    base = _face()
    _enrol(resident, door_purpose, _near(base))
    _enrol(other_resident, door_purpose, _near(base))
    found = _identify(door_purpose, base)
    assert found.person_id is None and found.ambiguous
    withdraw(other_resident, door_purpose)
    assert _identify(door_purpose, base).person_id == resident.pk


def test_warming_loads_every_active_door_gallery(
    door_purpose, sign_in_purpose, resident, other_resident, django_assert_num_queries
):
    mine = _enrol(resident, door_purpose)
    grant(other_resident, sign_in_purpose)
    services.store_template(other_resident, sign_in_purpose, _face(), MODEL)  # a 1:1 purpose
    identify.forget_all()
    assert identify.warm(MODEL) == 1
    with django_assert_num_queries(1):
        assert _identify(door_purpose, _near(mine)).person_id == resident.pk


def test_the_one_statement_check_agrees_with_the_consent_rules(door_purpose, building_a):
    from datetime import date, timedelta

    from consent.models import Purpose
    from tests.factories import make_person

    now = clock.now()
    people = {}
    for state in [
        "active",
        "expired",
        "renewal",
        "withdrawn",
        "minor",
        "minor_guardian",
        "left",
        "lapsed",
        "inactive_user",
    ]:
        person = make_person(state, building_a, "resident")
        _enrol(person, door_purpose)
        people[state] = person
    consents = door_purpose.consents
    consents.filter(person=people["expired"]).update(expires_at=now - timedelta(minutes=1))
    consents.filter(person=people["renewal"]).update(renewal_needed_at=now)
    consents.filter(person=people["withdrawn"]).update(status="withdrawn")
    for state in ["minor", "minor_guardian"]:
        people[state].birth_date = date(now.year - 10, 1, 1)
        people[state].save(update_fields=["birth_date"])
    consents.filter(person=people["minor_guardian"]).update(granted_by=people["active"])
    Membership.objects.filter(user=people["left"]).update(left_at=now)
    FaceTemplate.objects.filter(person=people["lapsed"]).update(lapses_at=now)
    people["inactive_user"].is_active = False
    people["inactive_user"].save(update_fields=["is_active"])
    ids = list(FaceTemplate.objects.values_list("pk", flat=True))
    building, purpose = building_a.pk, door_purpose.pk

    generation, usable = identify.check(building, purpose, ids)
    assert usable == identify.usable_templates(ids, building, purpose)
    assert generation == identify.current_generation(building, purpose)
    assert sorted(usable.values()) == sorted(
        people[state].pk for state in ["active", "minor_guardian"]
    )
    Purpose.objects.filter(pk=purpose).update(status="retired")
    assert identify.check(building, purpose, ids)[1] == {}
    assert identify.usable_templates(ids, building, purpose) == {}


@pytest.mark.django_db(transaction=True)
def test_enrolment_takes_the_audit_lock_before_the_template_and_gallery_rows(
    door_purpose, resident
):
    """The lock order of every writer of face data: a re-enrolment waiting for the audit
    chain holds no template or gallery row that a purge batch (which holds the chain) needs."""
    import threading
    import time

    import psycopg
    from django.db import connection

    from portal import audit

    _enrol(resident, door_purpose)
    db = connection.settings_dict
    dsn = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    dsn += f"/{db['NAME']}"
    before = identify.current_generation(door_purpose.building_id, door_purpose.pk)
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as probe:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [audit._ADVISORY_LOCK_KEY])

        def re_enrol():
            try:
                services.store_template(resident, door_purpose, _face(), MODEL)
            finally:
                connection.close()

        writer = threading.Thread(target=re_enrol)
        writer.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            waiting = probe.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the re-enrolment never waited for the audit chain"
        probe.execute(
            "SELECT 1 FROM recognition_gallerygeneration WHERE purpose_id = %s FOR UPDATE NOWAIT",
            [door_purpose.pk],
        )
        probe.execute(
            "SELECT 1 FROM recognition_facetemplate WHERE person_id = %s FOR UPDATE NOWAIT",
            [resident.pk],
        )
        holder.rollback()
        writer.join(10)
    assert identify.current_generation(door_purpose.building_id, door_purpose.pk) == before + 1
