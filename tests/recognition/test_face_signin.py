"""Face sign-in for staff: 1:1 against their own template, the code route one click away."""

from pathlib import Path

import pytest
from django.test import Client

from recognition.models import Attempt, FaceTemplate
from tests.factories import add_totp, current_code, withdraw
from tests.liveness_frames import SIGN_IN, live_post

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NOT_RECOGNISED = "Your face was not recognised"


def _face_sign_in(client, username, photo, make=None):
    return live_post(client, SIGN_IN, {"username": username}, [photo], make=make)


def test_same_person_signs_in_with_face(client, enrolled_staff, photos):
    response = _face_sign_in(client, "staff", photos["a2"])
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "staff"
    attempt = Attempt.objects.filter(person=enrolled_staff, channel=Attempt.SIGN_IN).latest("id")
    assert attempt.result == Attempt.MATCH and attempt.distance is not None


def test_another_persons_face_is_refused_and_the_code_route_offered(client, enrolled_staff, photos):
    response = _face_sign_in(client, "staff", photos["b2"])
    page = response.content.decode()
    assert response.status_code == 200
    assert NOT_RECOGNISED in page
    assert 'href="/accounts/login/"' in page
    assert client.get("/api/v1/me/").status_code == 403


def test_unknown_account_and_unenrolled_account_look_the_same(
    client, enrolled_staff, resident, photos, settings
):
    # In a browser trusted only for staff: both refused before any face work, alike.
    unknown = _face_sign_in(client, "nobody", photos["a2"]).content.decode()
    not_enrolled = _face_sign_in(client, "resident", photos["a2"]).content.decode()
    trusted_only = "signed in with your password and code before"
    assert trusted_only in unknown and trusted_only in not_enrolled
    settings.FACE_SIGNIN_ANY_BROWSER = True  # a shared kiosk: both reach the worker, alike
    unknown = _face_sign_in(client, "nobody", photos["a2"]).content.decode()
    not_enrolled = _face_sign_in(client, "resident", photos["a2"]).content.decode()
    assert NOT_RECOGNISED in unknown and NOT_RECOGNISED in not_enrolled


def test_withdrawal_makes_the_next_face_sign_in_fail(
    client, enrolled_staff, sign_in_purpose, photos
):
    withdraw(enrolled_staff, sign_in_purpose)
    assert not FaceTemplate.objects.filter(person=enrolled_staff).exists()
    response = _face_sign_in(client, "staff", photos["a2"])
    assert NOT_RECOGNISED in response.content.decode()


def test_throttled_face_route_never_blocks_the_code_route(client, enrolled_staff, photos, settings):
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        _face_sign_in(client, "staff", photos["b1"])
    locked = _face_sign_in(client, "staff", photos["a2"])
    assert "Too many failed attempts" in locked.content.decode()
    device = add_totp(enrolled_staff)
    from tests.factories import PASSWORD

    client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    assert client.post("/accounts/login/code/", {"code": current_code(device)}).status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "staff"


def test_a_stranger_at_the_same_address_cannot_use_up_the_face_checks_of_a_trusted_browser(
    client, enrolled_staff, photos, settings
):
    """Behind one router (an office, a building's network) everyone shares an address: a
    stranger there asking for challenges until told to wait leaves the staff member's trusted
    browser its own budget."""
    settings.FACE_CHALLENGES_PER_MINUTE = 2
    settings.FACE_ANONYMOUS_PER_MINUTE = 2
    stranger = Client()  # the same address as the staff member's browser
    challenge_url = SIGN_IN[0]
    answers = [stranger.post(challenge_url).status_code for _ in range(4)]
    assert answers == [200, 200, 429, 429]
    response = _face_sign_in(client, "staff", photos["a2"])
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "staff"
    # The browser's own budget still holds: it too is told to wait after its share.
    client.post("/accounts/logout/")
    assert client.post(challenge_url).status_code == 200
    assert client.post(challenge_url).status_code == 429


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def test_the_pool_child_has_the_burst_read_by_its_reader_process(
    client, enrolled_staff, celery_worker_process, photos
):
    # FACE_LIVE_READER (on by default): each pool child started its own reader process, which
    # does the reading of a live sign-in's burst (its CPU time grows by it).
    pool = _children(celery_worker_process.pid)
    assert pool
    readers = [
        reader
        for child in pool
        for reader in _children(child)
        if b"recognition.engine.livereader" in Path(f"/proc/{reader}/cmdline").read_bytes()
    ]
    assert len(readers) == len(pool)
    before = sum(_cpu_ticks(reader) for reader in readers)
    response = _face_sign_in(client, "staff", photos["a2"])
    assert response.status_code == 302
    assert sum(_cpu_ticks(reader) for reader in readers) > before
