"""Hostile uploads: every one gets a clear message and leaves nothing stored.

The corpus is generated here (no photo is committed): not an image, a truncated JPEG, a PNG
decompression bomb, a 50-megapixel photo, no face, several faces, a face too small, a file
of the wrong type declared as a JPEG, an empty file, an empty body and a body over the upload
limit. Each goes to the face enrolment page, the face sign-in page and the door device API,
through the real worker of the private stack.

Pages answer with a form error (200) or 413; the device API answers shape errors with 4xx
and refuses an unusable photo with its door answer (`open: false`, `result: "rejected"`, a
stable `code` and a message), which a door shows as it is.
"""

import io
import struct
import zlib

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from consent import rules as consent_rules
from portal.models import Throttle
from recognition.engine.liveness import MAX_FRAME_BYTES
from recognition.models import FaceTemplate
from tests.factories import device_headers, grant, make_active_purpose, make_door, trust_browser
from tests.paths import SHARED_FACES

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NOT_A_PHOTO = "not a photo in a supported format"
DAMAGED = "incomplete or damaged"
TOO_LARGE = "The photo is too large"
NO_FACE = "No face was found"
SEVERAL = "More than one face"
TOO_SMALL = "The face is too small"
EMPTY = "The submitted file is empty"
REQUIRED = "This field is required"


def _jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(side: int = 100_000) -> bytes:
    """A few hundred bytes claiming side x side pixels (10 gigapixels by default)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 65536, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def small_face(photo: bytes) -> bytes:
    """The photo shrunk into a corner of a big grey frame: a face of about 30 px."""
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    image.thumbnail((300, 300))
    canvas = Image.new("RGB", (2000, 2000), (128, 128, 128))
    canvas.paste(image, (900, 900))
    return _jpeg(canvas)


@pytest.fixture(scope="module")
def corpus(photos) -> list[tuple[str, bytes | None, str, tuple[str, ...]]]:
    """(case, file bytes or None for no file at all, declared type, accepted messages)."""
    fifty_megapixels = _jpeg(Image.new("RGB", (8660, 5774), (90, 120, 150)), quality=50)
    oversize = b"\xff\xd8\xff\xe0" + b"\0" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 128 * 1024)
    small = (TOO_SMALL,) if SHARED_FACES.is_dir() else (TOO_SMALL, NO_FACE)
    return [
        ("not an image", b"%PDF-1.7\n" + b"0" * 2000, "image/jpeg", (NOT_A_PHOTO,)),
        ("truncated jpeg", photos["a1"][: len(photos["a1"]) // 3], "image/jpeg", (DAMAGED,)),
        ("png bomb", png_bomb(), "image/png", (TOO_LARGE,)),
        ("50 megapixels", fifty_megapixels, "image/jpeg", (TOO_LARGE,)),
        ("no face", photos["none"], "image/jpeg", (NO_FACE,)),
        ("several faces", photos["two"], "image/jpeg", (SEVERAL,)),
        ("face too small", small_face(photos["a1"]), "image/jpeg", small),
        ("wrong type", b"<html><script>alert(1)</script></html>", "image/jpeg", (NOT_A_PHOTO,)),
        ("empty file", b"", "image/jpeg", (EMPTY,)),
        ("no file", None, "", (REQUIRED,)),
        ("oversize body", oversize, "image/jpeg", (TOO_LARGE,)),
    ]


def _files(data: bytes | None, content_type: str) -> dict:
    if data is None:
        return {}
    return {"photo": SimpleUploadedFile("upload.jpg", data, content_type=content_type)}


def _nothing_stored(stack) -> None:
    assert not FaceTemplate.objects.exists()
    files = [path for path in stack.tmp_dir.rglob("*") if path.is_file()]
    assert not files, files  # the worker's temp folder (the pool's own empty folders aside)


# What the face pages answer when each case arrives as the frames of a challenge burst (the
# pages take no file: an upload gets the "camera only" answer).
CAMERA_ONLY = "never from a photo file"
BURST_ANSWERS = {
    "no face": ("No face was seen during the check",),
    "several faces": ("More than one person was seen during the check",),
    "face too small": ("No face was seen during the check",),
    "no file": (CAMERA_ONLY,),
    "oversize body": (TOO_LARGE,),
}
BAD_FRAMES = ("The camera recording was incomplete",)


def _burst_answer(case: str, data: bytes | None) -> tuple[str, ...]:
    if case != "oversize body" and data is not None and len(data) > MAX_FRAME_BYTES:
        return BAD_FRAMES  # larger than any camera frame: refused before any face work
    return BURST_ANSWERS.get(case, BAD_FRAMES)


def _as_burst(client, routes, fields: dict, case: str, data: bytes | None):
    """The case sent as every frame of a burst answering a fresh challenge, as a page would."""
    from tests.liveness_frames import data_urls

    issued = client.post(routes[0]).json()
    big = data is not None and len(data) > MAX_FRAME_BYTES
    frames = [] if data is None else [data] * (1 if big else 8)
    return client.post(routes[1], {**fields, "nonce": issued["nonce"], "frame": data_urls(frames)})


def _page_answer(response, expected: tuple[str, ...], case: str = "") -> str:
    text = response.content.decode()
    assert response.status_code in (200, 413), (case, response.status_code)
    assert any(message in text for message in expected), (case, text[-2000:])
    return text


def test_enrolment_page_refuses_each_hostile_upload_clearly_and_stores_nothing(
    private_face_stack, client, staff, sign_in_purpose, corpus, settings
):
    from tests.liveness_frames import ENROL

    # One challenge per hostile case, all within the minute: the per-account challenge limit
    # (tested on its own in tests/entry/test_kiosk_challenge.py) would answer the rest first.
    settings.FACE_CHALLENGES_PER_MINUTE = len(corpus) + 1
    grant(staff, sign_in_purpose)
    client.force_login(staff)
    for case, data, content_type, _expected in corpus:
        fields = {"purpose": sign_in_purpose.pk}
        response = client.post("/face/enrol/", {**fields, **_files(data, content_type)})
        if case == "oversize body":
            assert response.status_code == 413, case
        else:
            _page_answer(response, (CAMERA_ONLY,))
        response = _as_burst(client, ENROL, fields, case, data)
        if case == "oversize body":
            assert response.status_code == 413, case
        _page_answer(response, _burst_answer(case, data), case)
        _nothing_stored(private_face_stack)


def test_face_sign_in_page_refuses_each_hostile_upload_clearly_and_signs_nobody_in(
    private_face_stack, client, staff, sign_in_purpose, corpus, photos
):
    from tests.liveness_frames import SIGN_IN

    grant(staff, sign_in_purpose)
    trust_browser(client, staff)  # face sign-in is offered only in a trusted browser
    for case, data, content_type, _expected in corpus:
        Throttle.objects.all().delete()  # each upload judged on its own, not locked out
        fields = {"username": "staff"}
        response = client.post("/accounts/login/face/", {**fields, **_files(data, content_type)})
        if case == "oversize body":
            assert response.status_code == 413, case
        else:
            _page_answer(response, (CAMERA_ONLY,))
        response = _as_burst(client, SIGN_IN, fields, case, data)
        if case == "oversize body":
            assert response.status_code == 413, case
        _page_answer(response, _burst_answer(case, data), case)
        assert "_auth_user_id" not in client.session, case
        _nothing_stored(private_face_stack)


@pytest.mark.parametrize("path", ["/api/v1/devices/identify/", "/api/v1/devices/verify/"])
def test_device_api_refuses_each_hostile_upload_clearly_and_stores_nothing(
    private_face_stack, client, resident, building_a, corpus, path
):
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    _device, key = make_door(building_a, purpose)
    grant(resident, purpose)
    extra = {"person": resident.pk} if path.endswith("verify/") else {}
    for case, data, content_type, expected in corpus:
        response = client.post(path, {**extra, **_files(data, content_type)}, **device_headers(key))
        body = response.json()
        if case == "oversize body":
            assert response.status_code == 413 and body["error"]["code"] == "too_large"
        elif case in ("empty file", "no file"):
            assert response.status_code == 400 and body["error"]["code"] == "invalid", body
        else:
            assert response.status_code == 200, (case, body)
            assert body["open"] is False and body["result"] == "rejected", (case, body)
            assert any(message in body["message"] for message in expected), (case, body)
        _nothing_stored(private_face_stack)
    for content_type, raw in [("text/plain", b"hello"), ("application/json", b"{not json")]:
        response = client.generic("POST", path, raw, content_type, **device_headers(key))
        assert response.status_code in (400, 415), (content_type, response.content)
        assert "error" in response.json()
