"""Second-factor secrets at rest: a full read of every table finds no TOTP seed, in hex, base32
or raw bytes; `rotate_totp_keys` moves every seed to the newest key."""

import base64
import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection

from portal.models import SealedTOTPDevice
from tests.factories import PASSWORD, add_totp, current_code

pytestmark = pytest.mark.django_db


def _every_cell():
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema)
            for row in cursor.fetchall():
                yield from row


def _forms(seed: bytes) -> tuple[list[str], bytes]:
    texts = [
        seed.hex(),
        base64.b32encode(seed).decode().rstrip("="),
        base64.b64encode(seed).decode().rstrip("="),
    ]
    return [text.lower() for text in texts], seed


def test_a_full_read_of_every_table_finds_no_totp_seed(client, admin_a, resident, staff):
    seeds = [add_totp(resident).bin_key, add_totp(staff).bin_key]
    # an admin's seed through the enrolment page (unconfirmed, then confirmed)
    client.post("/accounts/login/", {"username": "admin_a", "password": PASSWORD})
    client.get("/accounts/two-factor/")
    device = SealedTOTPDevice.objects.get(user=admin_a)
    client.post("/accounts/two-factor/", {"code": current_code(device)})
    seeds.append(device.bin_key)
    call_command(
        "create_first_admin",
        "boss",
        building="B",
        handler="H",
        handler_contact="c",
        stdout=io.StringIO(),
    )
    seeds.append(SealedTOTPDevice.objects.get(user__username="boss").bin_key)
    assert len(set(seeds)) == 4
    cells = 0
    for cell in _every_cell():
        cells += 1
        if isinstance(cell, memoryview | bytes):
            raw = bytes(cell)
            text = raw.hex()
        else:
            raw, text = b"", str(cell).lower()
        for seed in seeds:
            texts, seed_bytes = _forms(seed)
            assert seed_bytes not in raw
            for form in texts:
                assert form not in text and form not in text.replace("-", "")
    assert cells > 100  # the read really covered the database


def test_rotate_totp_keys_moves_every_seed_to_the_newest_key(settings, resident, staff):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FACE_ENCRYPTION_KEYS = [old]
    devices = [add_totp(resident), add_totp(staff)]
    seeds = [device.bin_key for device in devices]
    settings.FACE_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_totp_keys", "--batch-size", "1", stdout=out)
    assert "Re-encrypted 2 authenticator seeds" in out.getvalue()
    settings.FACE_ENCRYPTION_KEYS = [new]  # the old key dropped
    for device, seed in zip(devices, seeds, strict=True):
        device.refresh_from_db()
        assert device.bin_key == seed
        with pytest.raises(InvalidToken):
            Fernet(old.encode()).decrypt(bytes(device.sealed_key))
