"""Face devices in public areas serve public security only (Measures art. 13, PIPL art. 26):
registration and key rotation refuse any other purpose, and a device whose purpose or place
changed afterwards offers no face (its codes still work)."""

import pytest
from django.db import transaction

from consent.models import Purpose
from portal.models import AuditEntry
from recognition import policy
from recognition.doors import devices
from recognition.models import Device, Location
from tests.factories import device_headers, make_active_purpose, make_door

pytestmark = pytest.mark.django_db

ME = "/api/v1/devices/me/"
SQUARE = {
    "kind": "public_area",
    "security_justification": "District public-security checkpoint.",
    "sign_confirmed": True,
}


def test_the_rule():
    assert policy.public_area_purpose_problem(policy.PUBLIC_AREA, False)
    assert not policy.public_area_purpose_problem(policy.PUBLIC_AREA, True)
    assert not policy.public_area_purpose_problem(policy.PUBLIC_AREA, None)  # no face purpose
    assert not policy.public_area_purpose_problem(policy.ENTRANCE, False)


def test_a_public_area_device_for_another_purpose_is_refused(building_a):
    door = make_active_purpose(building_a, demo="identification")
    with pytest.raises(devices.DeviceRefused) as refused, transaction.atomic():
        make_door(building_a, door, **SQUARE)
    assert refused.value.code == "public_security_only"
    assert not Device.objects.exists()
    assert not AuditEntry.objects.filter(event="device.registered").exists()


def test_a_public_security_purpose_may_run_there(building_a, client):
    checkpoint = make_active_purpose(building_a, demo="identification", public_security=True)
    device, key = make_door(building_a, checkpoint, **SQUARE)
    body = client.get(ME, **device_headers(key)).json()
    assert body["identify"] is True


def test_the_same_purpose_at_an_entrance_is_fine(building_a):
    door = make_active_purpose(building_a, demo="identification")
    device, _key = make_door(building_a, door)
    assert device.pk


def test_a_device_that_came_to_stand_in_a_public_area_offers_no_face(building_a, client):
    door = make_active_purpose(building_a, demo="identification")
    device, key = make_door(building_a, door)
    Location.objects.filter(pk=device.location_id).update(**SQUARE)
    body = client.get(ME, **device_headers(key)).json()
    assert body["identify"] is False and body["verify"] is False and body["code"] is True
    with pytest.raises(devices.DeviceRefused):
        devices.rotate_device_key(device, actor=None)


def test_a_purpose_no_longer_for_public_security_offers_no_face(building_a, client):
    checkpoint = make_active_purpose(building_a, demo="identification", public_security=True)
    device, key = make_door(building_a, checkpoint, **SQUARE)
    Purpose.objects.filter(pk=checkpoint.pk).update(public_security=False)
    body = client.get(ME, **device_headers(key)).json()
    assert body["identify"] is False


def test_the_admin_page_says_why(client, sign_in, admin_a, building_a):
    door = make_active_purpose(building_a, demo="identification")
    location = Location.objects.create(building=building_a, name="Square", **SQUARE)
    sign_in(admin_a)
    response = client.post(
        "/manage/devices/new/", {"location": location.pk, "name": "Gate", "purpose": door.pk}
    )
    assert response.status_code == 200
    assert "public security" in response.content.decode()
    assert not Device.objects.exists()


# One rule, every place that applies it ------------------------------------------------------


def test_the_location_service_the_form_and_the_placement_follow_the_one_public_area_rule(
    building_a, admin_a
):
    """Every kind of place with every justification and sign: the service refuses, the form
    flags and a face device is refused exactly where `policy.public_area_missing` says."""
    import itertools

    from recognition.admin_forms import LocationForm
    from recognition.doors import locations

    kinds = [kind for kind, _label in policy.LOCATION_TYPES]
    for n, (kind, justification, sign) in enumerate(
        itertools.product(
            kinds, ["", "   ", "Station exit: public-security checkpoint."], [False, True]
        )
    ):
        missing = policy.public_area_missing(kind, justification, sign)
        assert bool(missing) == (
            kind == policy.PUBLIC_AREA and not (justification.strip() and sign)
        )
        fields = {
            "name": f"place {n}",
            "kind": kind,
            "security_justification": justification,
            "sign_confirmed": sign,
        }
        form = LocationForm(data={k: v for k, v in fields.items() if v is not False})
        assert form.is_valid() is not missing
        assert sorted(form.errors) == sorted(missing)
        if missing:
            with pytest.raises(locations.LocationRefused) as refused, transaction.atomic():
                locations.create_location(building_a, actor=admin_a, **fields)
            assert (refused.value.code, refused.value.field) == ("public_area", missing[0])
            assert refused.value.message == policy.PUBLIC_AREA_NEEDS
        else:
            location = locations.create_location(building_a, actor=admin_a, **fields)
            prohibited = kind in policy.PROHIBITED_LOCATION_TYPES
            assert location.placement().allowed is not prohibited
        placement = policy.face_device_placement(
            kind, security_justification=justification, sign_confirmed=sign
        )
        assert placement.allowed == (not missing and kind not in policy.PROHIBITED_LOCATION_TYPES)
    assert Location.objects.count() == len(kinds) * 6 - 5  # a public area: 1 of 6 recorded
