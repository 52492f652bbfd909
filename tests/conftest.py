"""Shared fixtures: people of every role, a real Celery worker, a movable clock."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django_otp.oath import totp

from portal import clock, rules
from portal.models import Building, Membership, SealedTOTPDevice, User
from tests.launcher import start_worker, stop_worker, wait_until_ready

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct horse battery staple"


def make_person(username: str, building: Building | None, role: str | None, **extra) -> User:
    """A person; without a birth date, one an admin attested to be an adult."""
    if extra.get("birth_date") is None:
        extra.setdefault("adult_attested_at", clock.now())
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if building is not None and role is not None:
        Membership.objects.create(user=user, building=building, role=role)
    return user


def add_totp(user: User) -> SealedTOTPDevice:
    return SealedTOTPDevice.create_for(user, "phone", confirmed=True)


def current_code(device: SealedTOTPDevice, offset_steps: int = 0) -> str:
    device.refresh_from_db()
    code = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + offset_steps,
    )
    return str(code).zfill(device.digits)


def trust_browser(the_client, user: User) -> str:
    """Gives a test client the trusted-device cookie a real password + code sign-in leaves
    (see portal.trusted), beside the accounts it already trusts; returns the nonce."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from portal import trusted

    request = RequestFactory().get("/")
    if trusted.COOKIE in the_client.cookies:
        request.COOKIES[trusted.COOKIE] = the_client.cookies[trusted.COOKIE].value
    response = HttpResponse()
    trusted.remember(request, response, user)
    request.COOKIES[trusted.COOKIE] = response.cookies[trusted.COOKIE].value
    the_client.cookies[trusted.COOKIE] = request.COOKIES[trusted.COOKIE]
    nonce = trusted.nonce_for(request, user.pk)
    assert nonce is not None
    return nonce


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
