"""Device keys: issued once, stored hashed, found by prefix, rotated and revoked, audited; the
device API refuses anything but a live key of a device at an allowed location."""

import pytest

from portal.models import AuditEntry
from recognition.doors import devices
from recognition.models import Device, Location
from tests.factories import device_headers, make_door, make_person

pytestmark = pytest.mark.django_db

ME = "/api/v1/devices/me/"


def test_the_key_is_stored_only_as_a_hash(front_door):
    device, key = front_door
    device.refresh_from_db()
    prefix, secret = key.split(".")
    assert device.key_prefix == prefix and len(prefix) == 12
    assert secret not in device.key_hash and key not in device.key_hash
    assert device.key_hash.startswith("sha256$")
    assert devices.key_matches(key, device.key_hash)
    assert not devices.key_matches(key + "x", device.key_hash)
    assert not devices.key_matches(f"{prefix}.{'A' * len(secret)}", device.key_hash)


def test_two_devices_never_share_a_key(building_a):
    keys = {make_door(building_a, name=f"Door {n}")[1] for n in range(5)}
    assert len(keys) == 5
    assert Device.objects.values("key_prefix").distinct().count() == 5


@pytest.mark.parametrize(
    "key", ["", "nodot", "short.secret", "0123456789ab.", ".secret", "0123456789ab.wrong"]
)
def test_malformed_or_unknown_keys_find_no_device(front_door, key):
    assert devices.device_for_key(key) is None


def test_the_api_answers_a_live_key_and_notes_the_contact(client, front_door):
    device, key = front_door
    response = client.get(ME, **device_headers(key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == device.pk and body["building"]["id"] == device.building_id
    assert body["identify"] is True and body["code"] is True
    device.refresh_from_db()
    assert device.last_contact_at is not None


def test_the_api_refuses_no_key_a_wrong_key_and_a_session(client, front_door, resident, sign_in):
    device, key = front_door
    assert client.get(ME).status_code == 401
    wrong = client.get(ME, **device_headers(key[:-2] + "zz"))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "authentication_failed"
    assert wrong["WWW-Authenticate"].startswith("Device")
    sign_in(resident)
    assert client.get(ME).status_code == 401  # a person's session is not a device


def test_a_rotated_key_replaces_the_old_one_at_once(client, front_door):
    device, old = front_door
    new = devices.rotate_device_key(device, actor=None)
    assert client.get(ME, **device_headers(old)).status_code == 401
    assert client.get(ME, **device_headers(new)).status_code == 200
    assert AuditEntry.objects.filter(event="device.key_rotated").count() == 1


def test_a_revoked_key_is_refused_and_cannot_be_rotated(client, front_door, admin_a):
    device, key = front_door
    devices.revoke_device(device, actor=admin_a)
    devices.revoke_device(device, actor=admin_a)  # twice: one event
    response = client.get(ME, **device_headers(key))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_revoked"
    with pytest.raises(devices.DeviceRefused):
        devices.rotate_device_key(device, actor=admin_a)
    assert AuditEntry.objects.filter(event="device.revoked").count() == 1


def test_registration_is_audited_without_the_key(front_door):
    device, key = front_door
    entry = AuditEntry.objects.get(event="device.registered")
    assert entry.data["device"] == device.pk and entry.building_id == device.building_id
    assert key not in str(entry.data) and key.split(".")[1] not in str(entry.data)


@pytest.mark.parametrize("kind", ["toilet", "changing_room", "hotel_guest_room", "public_area"])
def test_no_device_can_be_registered_at_a_prohibited_location(building_a, kind):
    with pytest.raises(devices.DeviceRefused) as refused:
        make_door(building_a, kind=kind)
    assert refused.value.code == "location_not_allowed"
    assert not Device.objects.exists()


def test_a_public_area_with_justification_and_sign_is_allowed(building_a):
    device, _key = make_door(
        building_a,
        kind="public_area",
        security_justification="Public-security checkpoint required by the district.",
        sign_confirmed=True,
    )
    assert device.pk


def test_a_purpose_of_another_building_is_refused(building_a, building_b, door_purpose):
    with pytest.raises(devices.DeviceRefused):
        make_door(building_b, door_purpose)


def test_the_api_refuses_a_device_whose_location_became_prohibited(client, front_door):
    device, key = front_door
    Location.objects.filter(pk=device.location_id).update(kind="changing_room")
    response = client.get(ME, **device_headers(key))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "location_not_allowed"
    code = client.post("/api/v1/devices/code/", {"code": "1234567890"}, **device_headers(key))
    assert code.status_code == 403


def test_device_endpoints_are_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ["me", "identify", "identify/jobs", "identify/jobs/{job}", "verify", "code"]:
        assert f"/api/v1/devices/{path}/" in schema
    assert "deviceKey" in schema


def test_the_django_admin_lists_devices_without_keys_and_revokes_them(client, front_door, sign_in):
    device, key = front_door
    root = make_person("root", None, None, is_staff=True, is_superuser=True)
    sign_in(root)
    listing = client.get("/django-admin/recognition/device/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Front door" in page and key not in page and device.key_hash not in page
    client.post(
        "/django-admin/recognition/device/",
        {"action": "revoke", "_selected_action": [device.pk]},
    )
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert AuditEntry.objects.get(event="device.revoked").actor_id == root.pk
