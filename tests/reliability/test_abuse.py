"""Brute force and abuse: failures are counted per account, per address and per device key;
a locked face route refuses before any photo reaches a worker, and never blocks the codes.
Face sign-in from a browser not trusted for the account is refused before any counter or
worker; the face counters below are those of a shared kiosk (FACE_SIGNIN_ANY_BROWSER)."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from consent import rules as consent_rules
from portal import throttle
from portal.models import Throttle
from recognition.doors import door, doorcodes
from recognition.models import Attempt
from tests.factories import (
    PASSWORD,
    add_totp,
    current_code,
    device_headers,
    make_active_purpose,
    make_door,
    make_person,
)

pytestmark = pytest.mark.django_db(transaction=True)

LOCKED = "Too many failed attempts"


def _password(client, username, password, ip):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _face(client, username, ip="10.0.0.9"):
    """A face sign-in with a burst (never sent to a worker when the route is locked)."""
    from tests.liveness_frames import data_urls

    burst = {"nonce": "n" * 22, "frame": data_urls([b"\xff\xd8\xff not sent"] * 8)}
    return client.post("/accounts/login/face/", {"username": username, **burst}, REMOTE_ADDR=ip)


def test_guessing_passwords_of_many_accounts_from_one_address_locks_that_address(
    client, building_a
):
    victims = [make_person(f"victim{i}", building_a, "resident") for i in range(3)]
    for attempt in range(settings.SIGNIN_FREE_FAILURES * 4):
        _password(client, f"someone{attempt}", "guess", "10.0.0.1")
    locked = _password(client, victims[0].username, PASSWORD, "10.0.0.1")
    assert LOCKED in locked.content.decode() and "_auth_user_id" not in client.session
    # the right password from another address still works: only the address is locked
    assert _password(client, victims[0].username, PASSWORD, "10.0.0.2").status_code == 302


@pytest.fixture
def kiosk(settings):
    settings.FACE_SIGNIN_ANY_BROWSER = True


def test_face_sign_in_in_an_untrusted_browser_is_refused_before_any_worker(client, staff):
    """No worker runs in this test: a photo sent to one would fail as "unavailable"."""
    for username in ("staff", "nobody"):
        page = _face(client, username).content.decode()
        assert "signed in with your password and code before" in page, username
    assert not Attempt.objects.exists()
    assert not Throttle.objects.exists()


def test_a_locked_face_account_is_refused_before_any_photo_reaches_a_worker(
    client, staff, building_a, kiosk
):
    """No worker runs in this test: a photo sent to one would fail as "unavailable"."""
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        throttle.record_failure("face-user", "staff")
    for username in ("staff", "STAFF", "nobody"):
        if username == "nobody":
            for _ in range(settings.SIGNIN_FREE_FAILURES):
                throttle.record_failure("face-user", "nobody")
        page = _face(client, username).content.decode()
        assert LOCKED in page, username  # an unknown name locks the same way
    assert not Attempt.objects.exists()


def test_rotating_usernames_from_one_address_locks_the_face_route_of_that_address(
    client, staff, kiosk
):
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        throttle.record_failure("face-ip", "10.0.0.7")
    assert LOCKED in _face(client, "staff", ip="10.0.0.7").content.decode()
    assert LOCKED not in _face(client, "staff", ip="10.0.0.8").content.decode()


def test_a_locked_face_route_leaves_password_and_code_open(client, staff, kiosk):
    for scope, key in [("face-user", "staff"), ("face-ip", "127.0.0.1")]:
        for _ in range(settings.SIGNIN_FREE_FAILURES * 4):
            throttle.record_failure(scope, key)
    assert LOCKED in _face(client, "staff", ip="127.0.0.1").content.decode()
    device = add_totp(staff)
    assert _password(client, "staff", PASSWORD, "127.0.0.1").status_code == 302
    assert client.post("/accounts/login/code/", {"code": current_code(device)}).status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "staff"


@pytest.mark.worker
def test_a_device_key_locked_for_faces_still_opens_with_codes_and_locks_no_other_device(
    private_face_stack, client, resident, building_a, photos
):
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    front, front_key = make_door(building_a, purpose)
    _back, back_key = make_door(building_a, purpose, name="Back door")
    for _ in range(door.device_free_failures()):
        throttle.record_failure(
            door.FACE_DEVICE, str(front.pk), free_failures=door.device_free_failures()
        )
    upload = SimpleUploadedFile("face.jpg", photos["a1"], content_type="image/jpeg")
    locked = client.post(
        "/api/v1/devices/identify/", {"photo": upload}, **device_headers(front_key)
    )
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert locked.json()["error"]["code"] == "throttled"
    _stored, code = doorcodes.issue_door_code(resident)
    opened = client.post(
        "/api/v1/devices/code/",
        {"code": code},
        content_type="application/json",
        **device_headers(front_key),
    )
    assert opened.status_code == 200 and opened.json()["open"] is True
    upload = SimpleUploadedFile("face.jpg", photos["a1"], content_type="image/jpeg")
    other = client.post("/api/v1/devices/identify/", {"photo": upload}, **device_headers(back_key))
    assert other.status_code == 200 and other.json()["result"] != Attempt.THROTTLED


@pytest.mark.worker
def test_a_person_locked_for_faces_at_one_door_is_not_locked_at_the_next(
    private_face_stack, client, resident, building_a, photos
):
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    front, front_key = make_door(building_a, purpose)
    _back, back_key = make_door(building_a, purpose, name="Back door")
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        throttle.record_failure(door.FACE_PERSON, f"{front.pk}:{resident.pk}")

    def verify(key):
        upload = SimpleUploadedFile("face.jpg", photos["a1"], content_type="image/jpeg")
        return client.post(
            "/api/v1/devices/verify/",
            {"person": resident.pk, "photo": upload},
            **device_headers(key),
        )

    assert verify(front_key).status_code == 429
    assert verify(back_key).status_code == 200
    totp = add_totp(resident)
    opened = client.post(
        "/api/v1/devices/code/",
        {"code": current_code(totp), "person": resident.pk},
        content_type="application/json",
        **device_headers(front_key),
    )
    assert opened.json()["open"] is True
