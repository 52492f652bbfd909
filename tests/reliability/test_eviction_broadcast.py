"""Deletion reaches every copy in memory: withdrawal, leaving and purge drop the person's
embeddings from every process of a `--concurrency 2` worker, the parent included, within a
second, without waiting for a door request. Each process is asked what it holds."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import numpy as np
import pytest

from consent import services as consent_services
from portal import clock
from recognition.engine import broker, engine_from_settings
from recognition.lifecycle.purge import purge_lapsed_templates
from recognition.lifecycle.services import store_template
from recognition.models import FaceTemplate
from tests.factories import grant, make_person, withdraw
from tests.paths import ARTIFACTS, REPO
from tests.reliability.stack import PrivateRedis, celery_pointed_at, test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WITHIN = 1.0
RNG = np.random.default_rng(15)


@pytest.fixture
def private_redis():
    ARTIFACTS.mkdir(exist_ok=True)
    server = PrivateRedis(ARTIFACTS / "eviction-redis.log")
    server.start()
    try:
        with celery_pointed_at(server.url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def two_child_worker(private_redis, django_db_blocker):
    """Starts (when called) a prefork worker with two children on the private Redis."""
    started = []

    def start() -> subprocess.Popen:
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.settings",
            TEST_DATABASE_URL=test_database_url(django_db_blocker),
            TEST_REDIS_URL=private_redis.url,
        )
        log = open(ARTIFACTS / "eviction-worker.log", "w")  # noqa: SIM115
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "prefork"]
            + ["--concurrency", "2", "--queues", "latency,maintenance", "--without-gossip"]
            + ["--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((worker, log))
        return worker

    yield start
    for worker, log in started:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()


def _held(worker: subprocess.Popen, expect: int = 3) -> dict[str, set[int]]:
    """{"parent"/"child <pid>": people held} of this worker's processes."""
    answers = broker.census(timeout=3.0, expect=expect)
    ours = {
        pid: answer
        for pid, answer in answers.items()
        if int(pid) == worker.pid or answer["parent"] == worker.pid
    }
    return {
        answer["role"] if answer["role"] == "parent" else f"child {pid}": set(answer["people"])
        for pid, answer in ours.items()
    }


def test_withdrawal_leaving_and_purge_empty_every_worker_process_within_a_second(
    two_child_worker, door_purpose, building_a
):
    model_id = engine_from_settings().model_id
    people = [make_person(f"door-{n}", building_a, "resident") for n in range(4)]
    withdrawing, leaving, lapsing, staying = people
    for person in people:
        grant(person, door_purpose)
        store_template(person, door_purpose, RNG.normal(size=128).astype(np.float32), model_id)
    everyone = {person.pk for person in people}

    worker = two_child_worker()
    deadline = time.monotonic() + 120
    while True:  # the parent warms the gallery before the fork; children start listening
        held = _held(worker) if worker.poll() is None else {}
        if len(held) == 3 and all(people == everyone for people in held.values()):
            break
        assert worker.poll() is None, "worker exited; see eviction-worker.log"
        assert time.monotonic() < deadline, held
        time.sleep(0.5)
    assert sum(role.startswith("child") for role in held) == 2

    withdraw(withdrawing, door_purpose)
    time.sleep(WITHIN)
    held = _held(worker)
    assert len(held) == 3 and all(p == everyone - {withdrawing.pk} for p in held.values()), held

    consent_services.mark_person_left(leaving, building_a, actor=None)
    time.sleep(WITHIN)
    held = _held(worker)
    assert all(p == {lapsing.pk, staying.pk} for p in held.values()), held

    FaceTemplate.objects.filter(person=lapsing).update(lapses_at=clock.now() - timedelta(days=1))
    purge_lapsed_templates()
    time.sleep(WITHIN)
    held = _held(worker)
    assert len(held) == 3 and all(p == {staying.pk} for p in held.values()), held


def test_the_heartbeat_lapses_within_a_second_of_the_worker_dying(two_child_worker):
    worker = two_child_worker()
    deadline = time.monotonic() + 120
    while not broker.workers_alive():
        assert worker.poll() is None and time.monotonic() < deadline, "worker never beat"
        time.sleep(0.2)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    killed = time.monotonic()
    while broker.workers_alive():
        time.sleep(0.05)
    assert time.monotonic() - killed <= broker.HEARTBEAT_TTL + 0.2
