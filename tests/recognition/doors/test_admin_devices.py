"""Locations and devices through the admin pages: private spaces refuse a device with the
reason and the rule, public areas need a justification and a sign, keys are shown once and
rotate and revoke, and an admin of another building reaches none of it."""

import pytest

from portal.models import AuditEntry
from recognition import policy
from recognition.lifecycle.services import log_attempt
from recognition.models import Attempt, Device, Location
from tests.factories import device_headers, make_door

pytestmark = pytest.mark.django_db

ME = "/api/v1/devices/me/"


def page(response) -> str:
    return response.content.decode()


def _location(building, kind=policy.ENTRANCE, name="Lobby", **extra):
    return Location.objects.create(building=building, name=name, kind=kind, **extra)


def _key_from(response) -> str:
    return page(response).split('id="device-key">')[1].split("<")[0]


# Locations ----------------------------------------------------------------------------------


def test_a_public_area_needs_a_justification_and_a_sign(client, sign_in, admin_a, building_a):
    sign_in(admin_a)
    data = {"building": building_a.pk, "name": "Square", "kind": policy.PUBLIC_AREA}
    refused = page(client.post("/manage/locations/new/", data))
    assert "public-security justification" in refused
    assert not Location.objects.exists()
    data["security_justification"] = "Crowd safety at the gate, agreed with the police station."
    assert "prominent sign" in page(client.post("/manage/locations/new/", data))
    assert not Location.objects.exists()
    data["sign_confirmed"] = "on"
    assert client.post("/manage/locations/new/", data).status_code == 302
    location = Location.objects.get()
    assert location.placement().allowed
    entry = AuditEntry.objects.get(event="location.created")
    assert entry.data["sign_confirmed"] is True and entry.data["justification_recorded"] is True


def test_a_private_space_is_recorded_but_shown_as_unable_to_host_a_device(
    client, sign_in, admin_a, building_a
):
    sign_in(admin_a)
    data = {"building": building_a.pk, "name": "Gym changing room", "kind": policy.CHANGING_ROOM}
    assert client.post("/manage/locations/new/", data).status_code == 302
    listing = page(client.get("/manage/locations/"))
    assert "Gym changing room" in listing and "a private space" in listing


def test_a_location_with_devices_cannot_become_a_private_space(
    client, sign_in, admin_a, building_a
):
    device, _key = make_door(building_a)
    sign_in(admin_a)
    data = {"name": "Front door hall", "kind": policy.TOILET}
    refused = page(client.post(f"/manage/locations/{device.location_id}/", data))
    assert "revoke them first" in refused
    assert Location.objects.get(pk=device.location_id).kind == policy.ENTRANCE


# Devices ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(policy.PROHIBITED_LOCATION_TYPES))
def test_a_prohibited_location_refuses_a_device_with_the_reason_and_the_rule(
    client, sign_in, admin_a, building_a, kind
):
    location = _location(building_a, kind=kind, name="Private place")
    sign_in(admin_a)
    response = client.post("/manage/devices/new/", {"location": location.pk, "name": "Camera"})
    assert response.status_code == 200
    shown = page(response)
    assert "a private space: no device may be placed there" in shown
    assert "Article 8" in shown  # the rule it comes from
    assert not Device.objects.exists()
    assert not AuditEntry.objects.filter(event="device.registered").exists()


def test_a_public_area_without_a_sign_refuses_a_device(client, sign_in, admin_a, building_a):
    location = _location(
        building_a, kind=policy.PUBLIC_AREA, security_justification="Safety.", sign_confirmed=False
    )
    sign_in(admin_a)
    shown = page(client.post("/manage/devices/new/", {"location": location.pk, "name": "Gate"}))
    assert "prominent sign" in shown
    assert not Device.objects.exists()


def test_the_key_is_shown_once_and_works(client, sign_in, admin_a, building_a, door_purpose):
    location = _location(building_a)
    sign_in(admin_a)
    response = client.post(
        "/manage/devices/new/",
        {"location": location.pk, "name": "Lobby door", "purpose": door_purpose.pk},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = _key_from(response)
    device = Device.objects.get()
    assert device.purpose == door_purpose and device.location == location
    assert key not in device.key_hash
    listing = page(client.get("/manage/devices/"))
    assert "Lobby door" in listing and key not in listing and device.key_hash not in listing
    client.post("/accounts/logout/")
    assert client.get(ME, **device_headers(key)).status_code == 200


def test_rotating_shows_a_new_key_and_the_old_one_stops(client, sign_in, admin_a, building_a):
    device, old = make_door(building_a)
    sign_in(admin_a)
    new = _key_from(client.post(f"/manage/devices/{device.pk}/rotate/"))
    assert new != old
    assert client.get(ME, **device_headers(old)).status_code == 401
    assert client.get(ME, **device_headers(new)).status_code == 200


def test_revoking_stops_the_key(client, sign_in, admin_a, building_a):
    device, key = make_door(building_a)
    sign_in(admin_a)
    response = client.post(f"/manage/devices/{device.pk}/revoke/", follow=True)
    assert "is revoked" in page(response)
    assert client.get(ME, **device_headers(key)).status_code == 401
    assert "New key" not in page(client.get("/manage/devices/"))


def test_the_device_list_shows_last_contact_and_attempt_counts(
    client, sign_in, admin_a, building_a
):
    device, key = make_door(building_a)
    client.get(ME, **device_headers(key))  # a contact
    for result in (Attempt.MATCH, Attempt.NO_MATCH):
        log_attempt(channel=Attempt.DOOR, method=Attempt.FACE, result=result, device=device)
    log_attempt(channel=Attempt.DOOR, method=Attempt.CODE, result=Attempt.MATCH, device=device)
    sign_in(admin_a)
    listing = page(client.get("/manage/devices/"))
    row = listing.split(f'id="device-{device.pk}"')[1].split("</tr>")[0]
    assert 'class="n-face">2<' in row and 'class="n-code">1<' in row
    assert 'class="n-refused">1<' in row
    assert 'class="last-contact">never<' not in row


def test_a_device_purpose_must_be_of_the_location_building(
    client, sign_in, admin_a, building_a, building_b
):
    from tests.factories import make_active_purpose

    location = _location(building_a)
    # An admin of both buildings, with a purpose of B chosen for a location of A.
    from portal.models import Membership

    Membership.objects.create(user=admin_a, building=building_b, role="admin")
    purpose_b = make_active_purpose(building_b, demo="identification")
    sign_in(admin_a)
    shown = page(
        client.post(
            "/manage/devices/new/",
            {"location": location.pk, "name": "Door", "purpose": purpose_b.pk},
        )
    )
    assert "another building" in shown
    assert not Device.objects.exists()


# Another building ---------------------------------------------------------------------------


def test_an_admin_of_building_b_reaches_no_location_or_device_of_building_a(
    client, sign_in, admin_a, admin_b, building_a
):
    device, key = make_door(building_a)
    location = device.location
    private = _location(building_a, kind=policy.TOILET, name="A toilet")
    sign_in(admin_b)
    assert "Front door" not in page(client.get("/manage/devices/"))
    assert "Front door hall" not in page(client.get("/manage/locations/"))
    assert client.get(f"/manage/locations/{location.pk}/").status_code == 404
    data = {"name": "Renamed", "kind": policy.ENTRANCE}
    assert client.post(f"/manage/locations/{location.pk}/", data).status_code == 404
    assert client.post(f"/manage/devices/{device.pk}/rotate/").status_code == 404
    assert client.post(f"/manage/devices/{device.pk}/revoke/").status_code == 404
    # Registering at A's location is not a choice for B's admin.
    response = client.post("/manage/devices/new/", {"location": location.pk, "name": "Spy"})
    assert response.status_code == 200 and Device.objects.count() == 1
    response = client.post(
        "/manage/locations/new/",
        {"building": building_a.pk, "name": "Spy hall", "kind": policy.ENTRANCE},
    )
    assert response.status_code == 200
    device.refresh_from_db()
    location.refresh_from_db()
    assert device.revoked_at is None and location.name == "Front door hall"
    assert set(Location.objects.values_list("pk", flat=True)) == {location.pk, private.pk}
    client.post("/accounts/logout/")
    assert client.get(ME, **device_headers(key)).status_code == 200  # untouched
