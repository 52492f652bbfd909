"""The kiosk's challenge route and the face challenge routes of sign-in and enrolment: only a
device key of a door that uses faces gets a kiosk challenge, a bad burst is a 400 that still
uses the challenge up, and every challenge route is limited per client (address, account,
device), with nothing stored when it says to wait. No worker needed: nothing reaches one."""

import pytest

from recognition.engine import live, liveness
from recognition.entry.models import KioskChallenge
from recognition.views import CHALLENGE_SESSION_KEY
from tests.factories import device_headers, make_door

pytestmark = pytest.mark.django_db

CHALLENGE = "/api/v1/devices/face/challenge/"
IDENTIFY = "/api/v1/devices/identify/live/"


@pytest.fixture
def limit(settings):
    settings.FACE_CHALLENGES_PER_MINUTE = 3
    return 3


def test_a_kiosk_challenge_needs_the_device_key(client):
    assert client.post(CHALLENGE).status_code in (401, 403)
    assert client.post(CHALLENGE, **device_headers("nope.nope")).status_code == 401
    assert not KioskChallenge.objects.exists()


def test_a_door_without_faces_gets_no_challenge(client, building_a):
    _device, key = make_door(building_a)  # no purpose: the code route only
    response = client.post(CHALLENGE, **device_headers(key))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "face_not_offered"
    assert not KioskChallenge.objects.exists()


def test_a_kiosk_challenge_is_kept_against_its_device_and_replaced_by_the_next(client, front_door):
    device, key = front_door
    first = client.post(CHALLENGE, **device_headers(key)).json()
    second = client.post(CHALLENGE, **device_headers(key)).json()
    kept = KioskChallenge.objects.get()
    assert kept.device == device
    assert kept.challenge["nonce"] == second["nonce"] != first["nonce"]
    assert kept.challenge["scope"] == live.SCOPE_DOOR
    assert [step["pose"] for step in second["steps"]] == kept.challenge["steps"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"nonce": "x", "frames": []},
        {"nonce": "x", "frames": ["not base64!"]},
        {"nonce": "x", "frames": ["data:image/jpeg;base64,"]},
        {"nonce": "x", "frames": ["QUJD"] * (liveness.MAX_FRAMES + 1)},
        {"nonce": "x", "frames": "QUJD"},
    ],
    ids=["empty", "no-frames", "not-base64", "empty-frame", "too-many", "not-a-list"],
)
def test_a_malformed_burst_is_a_clear_400_and_uses_the_challenge_up(client, front_door, body):
    _device, key = front_door
    client.post(CHALLENGE, **device_headers(key))
    response = client.post(IDENTIFY, body, content_type="application/json", **device_headers(key))
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert not KioskChallenge.objects.exists()


def test_kiosk_challenges_are_limited_per_device(client, front_door, door_purpose, limit):
    device, key = front_door
    _other, other_key = make_door(door_purpose.building, door_purpose, name="Back door")
    nonces = [client.post(CHALLENGE, **device_headers(key)).json()["nonce"] for _ in range(limit)]
    refused = client.post(CHALLENGE, **device_headers(key))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "door code" in refused.json()["error"]["message"]
    # Nothing changed: the last challenge given still stands.
    assert KioskChallenge.objects.get(device=device).challenge["nonce"] == nonces[-1]
    # Another door is counted apart.
    assert client.post(CHALLENGE, **device_headers(other_key)).status_code == 200


def test_sign_in_challenges_are_limited_per_address(client, limit):
    route = "/accounts/login/face/challenge/"
    for _ in range(limit):
        assert client.post(route).status_code == 200
    given = client.session[CHALLENGE_SESSION_KEY]
    refused = client.post(route)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "password and code" in refused.json()["error"]["message"]
    assert client.session[CHALLENGE_SESSION_KEY] == given  # nothing changed
    # Another address is counted apart.
    assert client.post(route, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_enrolment_challenges_are_limited_per_account(client, sign_in, staff, resident, limit):
    from django.test import Client

    route = "/face/enrol/challenge/"
    sign_in(staff)
    for _ in range(limit):
        assert client.post(route).status_code == 200
    assert client.post(route).status_code == 429
    other = sign_in(resident, Client())
    assert other.post(route).status_code == 200
