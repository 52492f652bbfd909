"""Backup codes: shown once, kept only as keyed hashes, each used once, renewed only after the
password is typed again, counted on the person's page, and at doors only where allowed."""

import pytest
from django.db import connection

from portal import backup_codes
from portal.models import BackupCode
from tests.factories import PASSWORD, add_totp, device_headers, make_door

pytestmark = pytest.mark.django_db

CODE = "/api/v1/devices/code/"


def _codes_on(page: str) -> list[str]:
    import re

    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)


def test_no_backup_code_is_stored_in_clear(resident):
    codes = backup_codes.generate_backup_codes(resident)
    assert len(codes) == backup_codes.COUNT == len(set(codes))
    with connection.cursor() as cursor:
        cursor.execute("SELECT code_hash FROM portal_backupcode")
        stored = " ".join(row[0] for row in cursor.fetchall())
    for code in codes:
        assert code not in stored
        assert backup_codes.normalise(code) not in stored


def test_a_new_set_voids_the_old_one(client, resident):
    add_totp(resident)
    old = backup_codes.generate_backup_codes(resident)
    new = backup_codes.generate_backup_codes(resident)
    client.post("/accounts/login/", {"username": "resident", "password": PASSWORD})
    refused = client.post("/accounts/login/code/", {"code": old[0]})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert client.post("/accounts/login/code/", {"code": new[0]}).status_code == 302


def test_renewal_needs_the_password_and_shows_the_codes_once(sign_in, resident):
    client = sign_in(resident)
    first = backup_codes.generate_backup_codes(resident)
    page = client.get("/accounts/backup-codes/").content.decode()
    assert "You have 10 unused backup codes left." in page
    assert not _codes_on(page)
    wrong = client.post("/accounts/backup-codes/", {"password": "not it"}).content.decode()
    assert "That is not your password." in wrong
    assert not _codes_on(wrong)
    assert BackupCode.objects.filter(device__user=resident).count() == 10
    assert backup_codes.use_code(backup_codes.device_of(resident), first[1])  # old set unchanged
    shown = _codes_on(
        client.post("/accounts/backup-codes/", {"password": PASSWORD}).content.decode()
    )
    assert len(shown) == 10 and not set(shown) & set(first)
    assert "codes left" in client.get("/accounts/backup-codes/").content.decode()
    assert not _codes_on(client.get("/accounts/backup-codes/").content.decode())


def test_the_count_goes_down_as_codes_are_used(sign_in, resident):
    client = sign_in(resident)
    codes = backup_codes.generate_backup_codes(resident)
    device = backup_codes.device_of(resident)
    assert backup_codes.use_code(device, codes[0].upper())  # case and dash do not matter
    assert not backup_codes.use_code(device, codes[0])
    assert backup_codes.remaining(resident) == 9
    assert "9 unused backup codes left" in client.get("/accounts/backup-codes/").content.decode()


def test_someone_else_cannot_renew_or_see_my_codes(client, sign_in, resident, other_resident):
    backup_codes.generate_backup_codes(resident)
    client = sign_in(other_resident)
    client.post("/accounts/backup-codes/", {"password": PASSWORD})
    assert backup_codes.remaining(resident) == 10  # only the signed-in person's set changed
    assert backup_codes.remaining(other_resident) == 10
    anonymous = client.__class__()
    assert anonymous.post("/accounts/backup-codes/", {"password": PASSWORD}).status_code == 302


def test_door_refuses_backup_codes_unless_the_building_allows_them(client, resident, building_a):
    _device, key = make_door(building_a)
    codes = backup_codes.generate_backup_codes(resident)

    def door(code):
        data = {"code": code, "person": resident.pk}
        return client.post(CODE, data, content_type="application/json", **device_headers(key))

    refused = door(codes[0]).json()
    assert refused["open"] is False
    assert backup_codes.remaining(resident) == 10  # a refused code is not spent
    building_a.door_backup_codes = True
    building_a.save()
    opened = door(codes[0]).json()
    assert opened["open"] is True and opened["code"] == "backup_code"
    assert door(codes[0]).json()["open"] is False  # once only


def test_another_persons_backup_code_opens_nothing(client, resident, other_resident, building_a):
    building_a.door_backup_codes = True
    building_a.save()
    _device, key = make_door(building_a)
    codes = backup_codes.generate_backup_codes(resident)
    data = {"code": codes[0], "person": other_resident.pk}
    answer = client.post(CODE, data, content_type="application/json", **device_headers(key))
    assert answer.json()["open"] is False
    assert backup_codes.remaining(resident) == 10


def test_codes_kept_in_clear_before_are_hashed_by_the_migration(client, resident):
    """Sets made before hashing (django-otp static tokens) still work, now only hashed."""
    import importlib

    from django.apps import apps
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    from tests.factories import add_totp

    add_totp(resident)
    static = StaticDevice.objects.create(user=resident, name="backup", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd2345")
    migration = importlib.import_module("portal.migrations.0003_backup_codes_from_plaintext_tokens")
    migration.hash_existing_codes(apps, None)
    assert not StaticToken.objects.exists() and not StaticDevice.objects.exists()
    assert backup_codes.remaining(resident) == 1
    client.post("/accounts/login/", {"username": "resident", "password": PASSWORD})
    assert client.post("/accounts/login/code/", {"code": "abcd2345"}).status_code == 302
