"""No readable photo in the broker, and no face wait that holds up anybody else.

A photo is sealed (AES-GCM under the key ring) in a Redis key of its own that expires at the
face deadline; the task message names it and carries nothing of the photo. With no worker
beating, the web says "unavailable" at once and sends nothing at all.

Runs against a private redis-server with no worker on it (see conftest); the worker that "just
died" is played by its last heartbeat, set by hand.
"""

import os
import threading
import time

import numpy as np
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from recognition.doors import doorcodes
from recognition.engine import broker
from tests.factories import grant, make_active_purpose, make_door
from tests.launcher import gunicorn
from tests.liveness_frames import SIGN_IN, burst, data_urls, live_post, warm_turns
from tests.paths import ARTIFACTS
from tests.reliability.stack import PrivateRedis, celery_pointed_at, test_database_url
from tests.reliability.test_data_at_rest import _markers, _redis_values, _scan_redis, _strings

pytestmark = pytest.mark.django_db(transaction=True)

UNAVAILABLE = "Face recognition is unavailable right now"


@pytest.fixture
def bare_redis():
    """A private Redis with no worker on it, this process's face tasks sent there."""
    server = PrivateRedis(ARTIFACTS / "bare-redis.log")
    ARTIFACTS.mkdir(exist_ok=True)
    server.start()
    try:
        with celery_pointed_at(server.url):
            yield server
    finally:
        server.stop()


def _photo(data: bytes):
    return SimpleUploadedFile("face.jpg", data, content_type="image/jpeg")


def _all_values(server) -> list[bytes]:
    found = []
    for db in range(16):
        conn = server.client(db)
        for key in conn.scan_iter():
            for value in _redis_values(conn, key):
                found.extend(_strings(value or b""))
    return found


def _keys(server) -> dict[int, list[bytes]]:
    return {db: keys for db in range(16) if (keys := list(server.client(db).scan_iter()))}


def test_a_photo_sent_to_a_dead_worker_is_sealed_and_gone_after_the_deadline(
    bare_redis, client, settings, building_a, photos
):
    from consent import rules as consent_rules

    settings.FACE_VERIFY_DEADLINE = 12
    settings.FACE_SIGNIN_ANY_BROWSER = True  # a shared kiosk: anyone may try a face
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    _device, key = make_door(building_a, purpose)
    frames: list[bytes] = []

    def camera(steps):
        frames.extend(burst([photos["a1"]], steps))
        return frames

    warm_turns(photos["a1"])
    # A worker beats until the face task is queued, then dies: the web gives up once the beat
    # has lapsed (well before the deadline) and drops the sealed frames.
    died: list[float] = []

    def worker_that_dies() -> None:
        conn = bare_redis.client(0)
        while not conn.llen("latency"):
            conn.set(broker.heartbeat_key(), 1, px=int(broker.HEARTBEAT_TTL * 1000))
            time.sleep(broker.HEARTBEAT_EVERY)
        died.append(time.monotonic())

    beating = threading.Thread(target=worker_that_dies)
    beating.start()
    response = live_post(client, SIGN_IN, {"username": "x"}, [photos["a1"]], make=camera)
    beating.join(timeout=5)
    assert UNAVAILABLE in response.content.decode()
    assert time.monotonic() - died[0] < 4.0  # the beat's 1 s and a one-second wait, not 12 s
    raw, text = _markers([*frames, photos["a2"]], np.zeros(4, dtype=np.float32))
    assert list(bare_redis.client(0).scan_iter(broker.PARCEL_PREFIX + "*")) == []
    queued = bare_redis.client(0).lrange("latency", 0, -1)
    assert len(queued) == 1 and broker.PARCEL_PREFIX.encode() in b"".join(_strings(queued[0]))
    assert _scan_redis(bare_redis.port, raw, text) == []

    # A door's job is only sent, nobody waits to drop it: it stays sealed until the deadline.
    bare_redis.client(0).set(broker.heartbeat_key(), 1, px=2500)
    response = client.post(
        "/api/v1/devices/identify/jobs/",
        {"photo": _photo(photos["a2"])},
        HTTP_AUTHORIZATION=f"Device {key}",
    )
    assert response.status_code == 202
    assert _scan_redis(bare_redis.port, raw, text) == []  # nothing readable anywhere
    sealed_keys = list(bare_redis.client(0).scan_iter(broker.PARCEL_PREFIX + "*"))
    assert len(sealed_keys) == 1
    reference = sealed_keys[0].decode()
    queued = bare_redis.client(0).lrange("latency", 0, -1)
    assert any(reference.encode() in b"".join(_strings(m)) for m in queued)  # a name only
    sealed = bare_redis.client(0).get(reference)
    assert broker.unseal(sealed, reference) == photos["a2"]  # the key ring opens it ...
    with pytest.raises(broker.PhotoGone):
        broker.unseal(sealed, broker.PARCEL_PREFIX + "another")  # ... only where it was put

    expires_in = bare_redis.client(0).pttl(reference) / 1000
    assert 0 < expires_in <= settings.FACE_VERIFY_DEADLINE  # Redis itself will drop it
    time.sleep(expires_in + 0.1)
    # After the deadline: no sealed photo, no byte of its ciphertext anywhere.
    assert list(bare_redis.client(0).scan_iter(broker.PARCEL_PREFIX + "*")) == []
    assert not any(sealed[20:60] in value for value in _all_values(bare_redis))
    assert _scan_redis(bare_redis.port, raw, text) == []


def test_with_no_worker_beating_face_routes_answer_at_once_and_send_nothing(
    bare_redis, client, settings, resident, building_a, photos
):
    from consent import rules as consent_rules

    settings.FACE_VERIFY_DEADLINE = 10
    settings.FACE_SIGNIN_ANY_BROWSER = True  # a shared kiosk: anyone may try a face
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    _device, key = make_door(building_a, purpose)
    headers = {"HTTP_AUTHORIZATION": f"Device {key}"}
    warm_turns(photos["a1"])
    started = time.monotonic()
    response = live_post(client, SIGN_IN, {"username": "resident"}, [photos["a1"]])
    assert UNAVAILABLE in response.content.decode()
    assert time.monotonic() - started < 3.0  # a challenge and a burst of frames, not 10 s
    calls = [
        ("/api/v1/devices/identify/", {}, headers),
        ("/api/v1/devices/identify/jobs/", {}, headers),
        ("/api/v1/devices/verify/", {"person": resident.pk}, headers),
    ]
    for path, data, extra in calls:
        started = time.monotonic()
        response = client.post(path, {**data, "photo": _photo(photos["a1"])}, **extra)
        took = time.monotonic() - started
        assert took < 1.0, (path, took)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "face_unavailable"
    assert _keys(bare_redis) == {}  # no photo, no message, nothing


def test_a_sealed_photo_opens_with_an_older_key_of_the_ring_and_not_once_tampered(settings):
    from cryptography.fernet import Fernet

    old_ring = list(settings.FACE_ENCRYPTION_KEYS)
    reference = broker.PARCEL_PREFIX + "x"
    sealed = broker.seal(b"photo bytes", reference)
    settings.FACE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_ring]
    assert broker.unseal(sealed, reference) == b"photo bytes"
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(broker.PhotoGone):
        broker.unseal(tampered, reference)
    settings.FACE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(broker.PhotoGone):
        broker.unseal(sealed, reference)  # a key no longer in the ring opens nothing


@pytest.fixture
def portal_without_workers(bare_redis, django_db_blocker):
    """The portal under gunicorn, sync workers, on the private Redis where no worker runs."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.reliability.http_settings",
        TEST_DATABASE_URL=test_database_url(django_db_blocker),
        TEST_REDIS_URL=bare_redis.url,
        FACE_SIGNIN_ANY_BROWSER="true",  # a shared kiosk: anonymous face sign-ins reach Redis
    )
    log_path = ARTIFACTS / "no-worker-web.log"
    with gunicorn(env, log_path, "--workers", "2", "--timeout", "30") as base:
        yield base


def test_face_requests_to_a_dead_worker_do_not_slow_the_sign_in_page_or_the_door_code(
    portal_without_workers, resident, building_a, photos
):
    """Two sync web workers, two anonymous face sign-ins at once, again and again (each would
    hold a web worker for the whole 10 s deadline if it waited): the sign-in page and the
    door's code route still answer within a few seconds each, on a busy machine."""
    from consent import rules as consent_rules

    base = portal_without_workers
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    grant(resident, purpose)
    _device, key = make_door(building_a, purpose)
    stop = threading.Event()
    answers: list[tuple[int, bool]] = []

    warm_turns(photos["a1"])

    def attacker() -> None:
        session = requests.Session()
        session.get(base + "/accounts/login/face/", timeout=15)
        challenge_url, form_url = SIGN_IN
        while not stop.is_set():
            token = session.cookies["csrftoken"]
            issued = session.post(
                base + challenge_url, headers={"X-CSRFToken": token}, timeout=15
            ).json()
            frames = burst([photos["a1"]], [step["pose"] for step in issued["steps"]])
            response = session.post(
                base + form_url,
                data={
                    "username": "nobody",
                    "csrfmiddlewaretoken": token,
                    "nonce": issued["nonce"],
                    "frame": data_urls(frames),
                },
                timeout=15,
            )
            answers.append((response.status_code, UNAVAILABLE in response.text))

    attackers = [threading.Thread(target=attacker) for _ in range(2)]
    for thread in attackers:
        thread.start()
    timings = []
    try:
        time.sleep(0.5)
        for _ in range(5):
            _code, code = doorcodes.issue_door_code(resident)
            started = time.monotonic()
            page = requests.get(base + "/accounts/login/", timeout=15)
            door = requests.post(
                base + "/api/v1/devices/code/",
                json={"code": code},
                headers={"Authorization": f"Device {key}"},
                timeout=15,
            )
            timings.append(time.monotonic() - started)
            assert page.status_code == 200
            assert door.status_code == 200 and door.json()["open"] is True
    finally:
        stop.set()
        for thread in attackers:
            thread.join(timeout=20)
    assert answers and all(status == 200 and said for status, said in answers), answers[:3]
    assert max(timings) < 3.0, timings  # the page and the code route, both, each time
