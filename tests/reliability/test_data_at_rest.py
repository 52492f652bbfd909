"""After a full enrol + verify + withdraw through the real worker, no photo and no plaintext
embedding is left anywhere: every bytea/text/json column of every table, every key of the
(private) Redis, the portal's var folder and the temp folders are scanned."""

import base64
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import redis
from django.conf import settings
from django.db import connection

from recognition.lifecycle import crypto
from recognition.models import FaceTemplate
from tests.factories import grant, trust_browser, withdraw
from tests.liveness_frames import ENROL, SIGN_IN, burst, live_post

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JPEG, PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
TEXT_MARKERS = ("/9j/4", "iVBORw0KGgo")  # base64 of a JPEG and of a PNG start


def _markers(photos: list[bytes], vector) -> tuple[list[bytes], list[str]]:
    """Byte and text fragments that only a photo or the embedding would contain."""
    raw = [JPEG, PNG]
    for photo in photos:
        middle = len(photo) // 2
        raw.append(photo[middle : middle + 48])
    as_f4 = vector.astype("<f4").tobytes()
    raw += [as_f4[:16], vector.astype("<f8").tobytes()[:16]]
    text = list(TEXT_MARKERS)
    for photo in photos:
        text.append(base64.b64encode(photo[300:360]).decode()[4:60])
    text += [f"{value:.6f}" for value in vector[:3].tolist()]
    text.append(base64.b64encode(as_f4[:24]).decode())
    return raw, text


def _scan_database(raw: list[bytes], text: list[str]) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('bytea', 'text', 'character varying', 'json', 'jsonb')"
        )
        for table, column, kind in cursor.fetchall():
            if kind == "bytea":
                for marker in raw:
                    cursor.execute(
                        f'SELECT count(*) FROM "{table}" WHERE position(%s in "{column}") > 0',  # noqa: S608
                        [marker],
                    )
                    if cursor.fetchone()[0]:
                        found.append(f"{table}.{column}: {marker[:8]!r}")
            else:
                for marker in text:
                    cursor.execute(
                        f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',  # noqa: S608
                        [f"%{marker}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.append(f"{table}.{column}: {marker[:12]}")
    return found


def _strings(value) -> list[bytes]:
    """The value and everything nested in it: JSON, and base64 bodies of Celery messages."""
    out = [value]
    try:
        parsed = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    stack = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) > 32:
            out.append(item.encode())
            try:
                decoded = base64.b64decode(item, validate=True)
            except ValueError:
                continue
            out.extend(_strings(decoded))
    return out


def _redis_values(conn, key) -> list[bytes]:
    kind = conn.type(key).decode()
    if kind == "string":
        return [conn.get(key)]
    if kind == "list":
        return conn.lrange(key, 0, -1)
    if kind == "hash":
        return list(conn.hgetall(key).values())
    if kind == "set":
        return list(conn.smembers(key))
    if kind == "zset":
        return conn.zrange(key, 0, -1)
    return []


def _scan_redis(port: int, raw: list[bytes], text: list[str]) -> list[str]:
    found = []
    for db in range(16):
        conn = redis.Redis(host="127.0.0.1", port=port, db=db)
        for key in conn.scan_iter():
            for value in _redis_values(conn, key):
                for candidate in _strings(value or b""):
                    if any(marker in candidate for marker in raw) or any(
                        marker.encode() in candidate for marker in text
                    ):
                        found.append(f"redis db {db} key {key!r}")
    return found


def _scan_files(folders: list[Path], since: float, raw: list[bytes], generic: bool):
    found = []
    for folder in folders:
        # os.walk skips a folder that vanishes mid-scan (another program's temporary files),
        # where Path.rglob would raise.
        paths = (Path(root) / name for root, _dirs, names in os.walk(folder) for name in names)
        for path in paths:
            try:
                if not path.is_file() or path.stat().st_mtime < since:
                    continue
                content = path.read_bytes()
            except OSError:
                continue
            markers = raw if generic else raw[2:]  # other tools' files may hold any image
            if any(marker in content for marker in markers):
                found.append(str(path))
    return found


def test_no_photo_or_plaintext_embedding_is_left_anywhere(
    private_face_stack, client, staff, sign_in_purpose, photos
):
    started = time.time() - 1
    grant(staff, sign_in_purpose)
    client.force_login(staff)
    sent: list[bytes] = []

    def recorded(photo):
        def make(steps):
            frames = burst([photo], steps)
            sent.extend(frames)
            return frames

        return make

    response = live_post(
        client, ENROL, {"purpose": sign_in_purpose.pk}, [], make=recorded(photos["a1"])
    )
    assert response.status_code == 302
    template = FaceTemplate.objects.get(person=staff)
    vector = crypto.decrypt_embedding(bytes(template.ciphertext), staff.pk)
    client.post("/accounts/logout/")
    trust_browser(client, staff)  # face sign-in is offered only in a trusted browser
    response = live_post(client, SIGN_IN, {"username": "staff"}, [], make=recorded(photos["a2"]))
    assert response.status_code == 302
    withdraw(staff, sign_in_purpose)
    assert not FaceTemplate.objects.exists()
    time.sleep(1)  # let the worker acknowledge and expire what it holds

    raw, text = _markers(sent, vector)
    assert _scan_database(raw, text) == []
    assert _scan_redis(private_face_stack.redis.port, raw, text) == []
    ours = [private_face_stack.tmp_dir, Path(settings.VAR_DIR)]
    if settings.MEDIA_ROOT:
        ours.append(Path(settings.MEDIA_ROOT))
    assert _scan_files(ours, started, raw, generic=True) == []
    shared_tmp = [Path(tempfile.gettempdir()), Path("/var/tmp"), Path("/dev/shm")]  # noqa: S108
    assert _scan_files(shared_tmp, started, raw, generic=False) == []


def test_the_redis_scan_finds_a_photo_inside_a_queued_task_message(private_face_stack, photos):
    """The scan is not vacuous: a task message as kombu queues it (the photo base64 in the
    task arguments, the whole body base64 again inside the JSON envelope) is found."""
    body = json.dumps([[1, base64.b64encode(photos["a1"]).decode()], {}, {}]).encode()
    envelope = json.dumps({"body": base64.b64encode(body).decode(), "properties": {}})
    conn = private_face_stack.redis.client(db=3)
    conn.lpush("latency", envelope)
    try:
        raw, text = _markers([photos["a1"]], np.zeros(4, dtype=np.float32))
        assert _scan_redis(private_face_stack.redis.port, raw, text) != []
    finally:
        conn.delete("latency")
