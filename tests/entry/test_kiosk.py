"""Pairing a door tablet: a short code from an admin of the door's building, used once,
within minutes, guessed by nobody; the tablet then holds that device's new key."""

import re

import pytest

from recognition.doors import devices
from recognition.entry import kiosk
from recognition.entry.models import KioskPairing
from tests.factories import device_headers, make_door

pytestmark = pytest.mark.django_db


def _code(page: str) -> str:
    return re.search(r'id="pairing-code">([A-Z0-9-]+)<', page).group(1)


def _key(page: str) -> str:
    return re.search(r'data-new-key="([^"]+)"', page).group(1)


def test_an_admin_pairs_a_tablet_once(client, sign_in, admin_a, building_a):
    device, old_key = make_door(building_a)
    admin = sign_in(admin_a)
    page = admin.post(f"/manage/devices/{device.pk}/pair/")
    assert page["Cache-Control"] == "no-store"
    code = _code(page.content.decode())
    assert code.replace("-", "") not in KioskPairing.objects.get().code_hash
    tablet = client.__class__()
    paired = tablet.post("/kiosk/pair/", {"code": code.lower()})
    key = _key(paired.content.decode())
    assert devices.device_for_key(key) == device
    me = tablet.get("/api/v1/devices/me/", **device_headers(key))
    assert me.json()["name"] == device.name
    # The device's earlier key stops; the code is used up.
    assert tablet.get("/api/v1/devices/me/", **device_headers(old_key)).status_code == 401
    again = tablet.post("/kiosk/pair/", {"code": code}).content.decode()
    assert "This code is not valid" in again and "data-new-key" not in again


def test_an_expired_code_pairs_nothing(client, admin_a, building_a, moved_clock):
    device, _key = make_door(building_a)
    code = kiosk.issue_pairing_code(device, actor=admin_a)
    moved_clock.advance(minutes=kiosk.PAIRING_MINUTES + 1)
    assert kiosk.pair_kiosk(code) is None
    assert "This code is not valid" in client.post("/kiosk/pair/", {"code": code}).content.decode()


def test_a_revoked_device_cannot_be_paired(admin_a, building_a):
    device, _key = make_door(building_a)
    code = kiosk.issue_pairing_code(device, actor=admin_a)
    devices.revoke_device(device, actor=admin_a)
    assert kiosk.pair_kiosk(code) is None


def test_another_buildings_admin_gets_no_code(sign_in, admin_b, building_a):
    device, _key = make_door(building_a)
    assert sign_in(admin_b).post(f"/manage/devices/{device.pk}/pair/").status_code == 404
    assert not KioskPairing.objects.exists()


def test_guessing_pairing_codes_is_locked_out(client, admin_a, building_a, settings):
    device, _key = make_door(building_a)
    code = kiosk.issue_pairing_code(device, actor=admin_a)
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        client.post("/kiosk/pair/", {"code": "AAAA-BBBB"})
    locked = client.post("/kiosk/pair/", {"code": code}).content.decode()
    assert "Too many failed attempts" in locked and "data-new-key" not in locked


def test_the_kiosk_page_holds_no_key_until_paired(client):
    page = client.get("/kiosk/").content.decode()
    assert 'data-new-key=""' in page
    assert "Pair this tablet" in page
