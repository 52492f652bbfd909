"""Shared fixtures: people of every role, real photos, a real Celery worker, a movable clock.

The data itself is built by `tests.factories`; tests import from there, never from here."""

import os
from datetime import timedelta

import pytest

from consent import rules as consent_rules
from portal import clock, rules
from portal.models import Building, SealedTOTPDevice, User
from recognition.models import FaceTemplate
from tests.factories import (
    PASSWORD,
    add_totp,
    current_code,
    grant,
    make_active_purpose,
    make_door,
    make_person,
)
from tests.launcher import start_worker, stop_worker, wait_until_ready
from tests.liveness_frames import ENROL, live_post
from tests.paths import ARTIFACTS
from tests.photos import load_photos


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database; before it is dropped, the connections to it that this
    run's threads left open (a thread's connection closes only when it is collected) are
    ended, so that the database is dropped rather than left behind with a warning."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def building_a(db) -> Building:
    return Building.objects.create(
        name="Building A", handler_name="A Property Co.", handler_contact="a@example.com"
    )


@pytest.fixture
def building_b(db) -> Building:
    return Building.objects.create(
        name="Building B", handler_name="B Property Co.", handler_contact="b@example.com"
    )


@pytest.fixture
def resident(building_a) -> User:
    return make_person("resident", building_a, rules.RESIDENT)


@pytest.fixture
def other_resident(building_a) -> User:
    return make_person("neighbour", building_a, rules.RESIDENT)


@pytest.fixture
def staff(building_a) -> User:
    return make_person("staff", building_a, rules.STAFF)


@pytest.fixture
def admin_a(building_a) -> User:
    return make_person("admin_a", building_a, rules.ADMIN)


@pytest.fixture
def admin_b(building_b) -> User:
    return make_person("admin_b", building_b, rules.ADMIN)


@pytest.fixture
def sign_in(client):
    """Signs a person in through the real password + code pages and returns the client."""

    def _sign_in(user: User, the_client=None):
        the_client = the_client or client
        device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first() or add_totp(
            user
        )
        response = the_client.post(
            "/accounts/login/", {"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302, response.content
        response = the_client.post("/accounts/login/code/", {"code": current_code(device)})
        assert response.status_code == 302, response.content
        return the_client

    return _sign_in


class MovableClock:
    def __init__(self, monkeypatch):
        self.offset = timedelta(0)
        real = clock._now
        monkeypatch.setattr(clock, "_now", lambda: real() + self.offset)

    def advance(self, **kwargs) -> None:
        self.offset += timedelta(**kwargs)


@pytest.fixture
def moved_clock(monkeypatch) -> MovableClock:
    return MovableClock(monkeypatch)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker process (prefork) on the real Redis broker and the test database.

    Tests that use it must also use `transactional_db` so the worker sees their rows.
    """
    from django.conf import settings
    from django.db import connection

    from portal.celery import app

    ARTIFACTS.mkdir(exist_ok=True)
    with django_db_blocker.unblock():
        db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_DATABASE_URL=url,
        TEST_REDIS_URL=settings.REDIS_URL,
    )
    app.control.purge()
    log_path = ARTIFACTS / "celery-worker.log"
    process = start_worker(env, log_path)
    wait_until_ready(app, process, log_path)
    yield process
    stop_worker(process)


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """a1, a2: the same person; b1, b2: someone else; two: two people; none: no face."""
    return load_photos()


@pytest.fixture
def sign_in_purpose(building_a):
    """Building A's face sign-in purpose (1:1 verification), active."""
    return make_active_purpose(building_a, demo=consent_rules.VERIFICATION)


@pytest.fixture
def door_purpose(building_a):
    """Building A's door purpose (1:N identification), active."""
    return make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)


@pytest.fixture
def front_door(door_purpose):
    """(device, key) of building A's front door, identifying faces for `door_purpose`."""
    return make_door(door_purpose.building, door_purpose)


def _enrol_staff(client, sign_in, staff, sign_in_purpose, photo: bytes):
    grant(staff, sign_in_purpose)
    sign_in(staff)
    live_post(client, ENROL, {"purpose": sign_in_purpose.pk}, [photo])
    assert FaceTemplate.objects.filter(person=staff).exists()
    client.post("/accounts/logout/")
    return staff


@pytest.fixture
def enrolled_staff(celery_worker_process, client, sign_in, staff, sign_in_purpose, photos):
    """A staff member enrolled for face sign-in from a live burst (photo a1, through the page
    and the worker), signed out again."""
    return _enrol_staff(client, sign_in, staff, sign_in_purpose, photos["a1"])


@pytest.fixture
def staff_enrolled_as_b(celery_worker_process, client, sign_in, staff, sign_in_purpose, photos):
    """The same, enrolled with photo b1: for a camera showing person a as someone else (person
    a's turns read clearly on the fake camera with the packaged photos too, b's not always)."""
    return _enrol_staff(client, sign_in, staff, sign_in_purpose, photos["b1"])


@pytest.fixture
def purpose(building_a, admin_a):
    """An active purpose of building A, made through the services as an admin would."""
    return make_active_purpose(building_a, admin_a)
