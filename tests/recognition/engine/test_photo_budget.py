"""Bounded work per photo: memory bounded before decoding, face work rate-limited per client.

The attack: a 70 KB PNG of 6000 x 6000 16-bit pixels passes the pixel bound, yet decoding and
converting it took a worker 2.75 s and 1 GB; a handful of them from anonymous clients held up
a real door. Each is now refused from its header, before a pixel is decoded, and an anonymous
client that keeps sending photos is told to wait, without any face work being queued.
"""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from recognition import tasks
from recognition.engine import facework, imaging, jobs, liveness
from recognition.models import Attempt
from tests.factories import device_headers, grant
from tests.liveness_frames import SIGN_IN, live_post

JAM_SIDE = 6000


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def jam() -> bytes:
    """A 16-bit greyscale PNG of 6000 x 6000: a few kilobytes, 72 MB of raw pixels."""
    pixels = np.zeros((JAM_SIDE, JAM_SIDE), dtype=np.uint16)
    pixels[::7] = 65535
    data = _png(Image.fromarray(pixels))
    assert len(data) < 200_000 and JAM_SIDE * JAM_SIDE < imaging.DEFAULT_MAX_PIXELS
    return data


def test_the_16_bit_jam_is_refused_from_its_header(jam):
    started = time.perf_counter()
    with pytest.raises(imaging.ImageRejected) as refused:
        imaging.decode_image(jam)
    assert refused.value.code == imaging.TOO_MANY_PIXELS
    assert time.perf_counter() - started < 0.2  # not one row decoded


def test_a_16_bit_photo_within_the_bound_is_converted_within_it():
    gradient = np.linspace(0, 40000, 1500 * 1200, dtype=np.float64).reshape(1200, 1500)
    data = _png(Image.fromarray(gradient.astype(np.uint16)))
    needed = imaging.decode_bytes("I;16", 1500, 1200)
    decoded = imaging.decode_image(data, max_decode_bytes=needed)
    assert decoded.shape == (819, 1024, 3) and decoded.dtype == np.uint8
    assert decoded.max() >= 250 and decoded[0, 0, 0] == 0  # stretched to the full 8 bits
    with pytest.raises(imaging.ImageRejected):
        imaging.decode_image(data, max_decode_bytes=needed - 1)


def test_a_palette_with_transparency_counts_its_flattening():
    palette = Image.new("P", (3000, 3000), 1)
    palette.info["transparency"] = 0
    data = _png(palette)
    reopened = Image.open(io.BytesIO(data))
    assert reopened.mode == "P" and "transparency" in reopened.info
    needed = imaging.decode_bytes("P", 3000, 3000, transparency=True)
    assert needed == 3000 * 3000 * 8
    with pytest.raises(imaging.ImageRejected):
        imaging.decode_image(data, max_decode_bytes=needed - 1)
    assert imaging.decode_image(data, max_decode_bytes=needed).shape == (1024, 1024, 3)


def test_a_large_jpeg_counts_at_the_scale_it_is_decoded_at():
    out = io.BytesIO()
    Image.new("RGB", (6000, 5000), (120, 90, 60)).save(out, format="JPEG")
    # 90 MB at full scale, but decoded at 1/4 (1500 x 1250): well within 64 MB.
    assert imaging.decode_bytes("RGB", 6000, 5000) > imaging.DEFAULT_MAX_DECODE_BYTES
    assert imaging.decode_image(out.getvalue()).shape[:2] == (853, 1024)


def _worker_children(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children]


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_jams_keep_the_worker_small_and_the_door_on_time(
    client, celery_worker_process, front_door, door_purpose, resident, photos, jam
):
    _device, key = front_door
    grant(resident, door_purpose)
    assert jobs.run(tasks.enrol_face, resident.pk, door_purpose.pk, image=photos["a1"])["ok"]
    # Eight anonymous face sign-ins with the jam, queued ahead of a real door.
    jams = [jobs.submit(tasks.verify_face, None, image=jam) for _ in range(8)]
    started = time.monotonic()
    upload = SimpleUploadedFile("probe.jpg", photos["a2"], content_type="image/jpeg")
    response = client.post("/api/v1/devices/identify/", {"photo": upload}, **device_headers(key))
    took = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert response.json()["open"] is True and response.json()["person_id"] == resident.pk
    assert took < settings.FACE_VERIFY_DEADLINE, took
    for result in jams:
        answer = result.get(timeout=settings.FACE_VERIFY_DEADLINE)
        assert answer["ok"] is False and answer["code"] == imaging.TOO_MANY_PIXELS
    children = _worker_children(celery_worker_process.pid)
    assert children, "the worker has no pool child"
    for child in children:
        assert _peak_kb(child) < settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_anonymous_client_is_rate_limited_before_any_face_work(
    client, celery_worker_process, settings, staff, jam
):
    settings.FACE_ANONYMOUS_PER_MINUTE = 2
    settings.FACE_SIGNIN_ANY_BROWSER = True  # a shared kiosk: anyone may try a face here
    busy = "Too many face checks from this device"

    def sign_in(address: str):
        frames = lambda steps: [jam] * liveness.MIN_FRAMES  # noqa: E731
        return live_post(
            client, SIGN_IN, {"username": "staff"}, [], make=frames, REMOTE_ADDR=address
        )

    for _ in range(2):
        page = sign_in("198.51.100.7").content.decode()
        assert busy not in page
    before = Attempt.objects.count()
    page = sign_in("198.51.100.7").content.decode()
    assert busy in page
    assert 'href="/accounts/login/"' in page  # the password and code route is offered
    assert Attempt.objects.count() == before  # nothing was sent to a worker
    # Another client is served as before, and its photos reach the worker.
    assert busy not in sign_in("198.51.100.8").content.decode()
    assert Attempt.objects.count() == before + 1


def test_the_window_ends(db, moved_clock):
    assert facework.take("203.0.113.9", limit=1) == 0
    assert facework.take("203.0.113.9", limit=1) > 0
    moved_clock.advance(seconds=61)
    assert facework.take("203.0.113.9", limit=1) == 0
