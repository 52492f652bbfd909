"""Door galleries sharded across workers: two workers on two shards of DOOR_SHARDS=2, each
started with its shard's queue. Each warms and holds only its own building's gallery, and both
buildings' doors answer, each from its own shard's worker."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from consent import rules as consent_rules
from portal import rules
from portal.models import Building
from recognition import tasks
from recognition.doors import shards
from recognition.engine import jobs
from recognition.models import Attempt
from tests.factories import device_headers, grant, make_active_purpose, make_door, make_person
from tests.launcher import start_worker, stop_worker
from tests.paths import ARTIFACTS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SHARDS = 2


def two_buildings_on_two_shards() -> tuple[Building, Building]:
    """Buildings until the first of each shard is found (ids are the database's)."""
    first: dict[int, Building] = {}
    while len(first) < SHARDS:
        building = Building.objects.create(
            name=f"Tower {len(first)}", handler_name="Co.", handler_contact="c@example.com"
        )
        first.setdefault(shards.shard_of(building.pk, SHARDS), building)
    return first[0], first[1]


def held_by(shard: int) -> dict:
    """What the worker of this shard holds, asked through the shard's own queue (the first
    answer also means its pool child is up, the face model loaded)."""
    return tasks.door_galleries_held.apply_async(queue=f"door-{shard}").get(timeout=120)


@pytest.fixture
def shard_workers(celery_worker_process, photos, settings):
    """Two buildings on two shards, a resident enrolled at each door, then one worker per
    shard (started after the enrolments, so that what they hold comes from their warm-up)."""
    from django.db import connection

    towers = two_buildings_on_two_shards()
    doors, people = [], []
    for tower, photo in zip(towers, ("a1", "b1"), strict=True):
        purpose = make_active_purpose(tower, demo=consent_rules.IDENTIFICATION)
        person = make_person(f"resident-{tower.pk}", tower, rules.RESIDENT)
        grant(person, purpose)
        answer = jobs.run(tasks.enrol_face, person.pk, purpose.pk, image=photos[photo])
        assert answer["ok"], answer
        doors.append(make_door(tower, purpose))
        people.append(person)
    db = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_DATABASE_URL=(
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        TEST_REDIS_URL=settings.REDIS_URL,
        DOOR_SHARDS=str(SHARDS),
    )
    started = [
        start_worker(env, ARTIFACTS / f"door-shard-{n}.log", queues=f"door-{n}")
        for n in range(SHARDS)
    ]
    try:
        settings.DOOR_SHARDS = SHARDS
        yield towers, doors, people
    finally:
        for process in started:
            stop_worker(process)


def test_each_shard_worker_holds_only_its_buildings_and_both_doors_answer(
    client, shard_workers, photos
):
    towers, doors, people = shard_workers
    # Warmed before the fork: each worker holds its own building's gallery, one template.
    assert held_by(0) == {str(towers[0].pk): 1}
    assert held_by(1) == {str(towers[1].pk): 1}
    for (_device, key), person, photo in zip(doors, people, ("a2", "b1"), strict=True):
        response = client.post(
            "/api/v1/devices/identify/",
            {"photo": SimpleUploadedFile("p.jpg", photos[photo], content_type="image/jpeg")},
            **device_headers(key),
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["open"] is True and body["person_id"] == person.pk, body
    # Someone of the other building is nobody here: a gallery is never another's.
    _device, key = doors[0]
    body = client.post(
        "/api/v1/devices/identify/",
        {"photo": SimpleUploadedFile("p.jpg", photos["b1"], content_type="image/jpeg")},
        **device_headers(key),
    ).json()
    assert body["open"] is False
    # After answering, still nothing of the other shard in either worker.
    assert held_by(0) == {str(towers[0].pk): 1}
    assert held_by(1) == {str(towers[1].pk): 1}
    assert Attempt.objects.filter(result=Attempt.MATCH, channel=Attempt.DOOR).count() == 2


def test_door_work_goes_to_the_queue_of_its_buildings_shard(
    client, settings, celery_worker_process, front_door, photos
):
    """With a worker on latency only, a sharded door finds no worker on its shard's queue and
    answers "face unavailable" at once (the code route still works); unsharded, the same
    worker takes it."""
    _device, key = front_door

    def identify_job():
        return client.post(
            "/api/v1/devices/identify/jobs/",
            {"photo": SimpleUploadedFile("p.jpg", photos["a1"], content_type="image/jpeg")},
            **device_headers(key),
        )

    settings.DOOR_SHARDS = 64
    refused = identify_job()
    assert refused.status_code == 503, refused.content
    assert refused.json()["error"]["code"] == "face_unavailable"
    settings.DOOR_SHARDS = 1
    assert identify_job().status_code == 202
