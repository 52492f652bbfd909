"""What face work leaves in Redis, and what it learns from it.

Photos in transit: a photo is sealed (AES-GCM under a key derived from the newest key of
FACE_ENCRYPTION_KEYS) and stored under a key of its own that Redis expires at the face
deadline; the task message carries only the key's name. Whether or not a worker ran, nothing
of the photo is left in Redis after the deadline, and before it only ciphertext that no one
without the key ring can read.

Liveness of the workers: each worker sets a heartbeat key for every queue it consumes every
HEARTBEAT_EVERY seconds that expires after HEARTBEAT_TTL, so the web knows within a second
that nobody serves a face task's queue (`latency`, or a building's door shard) and offers the
code route at once instead of waiting for the deadline.

Deletion: every worker process (the parent included) listens on a channel; when templates are
deleted, the committing transaction announces their galleries there and each process drops
the deleted rows from the galleries it holds, within a second.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from functools import lru_cache

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from portal import keyring

log = logging.getLogger(__name__)

PARCEL_PREFIX = "face:photo:"
HEARTBEAT_PREFIX = "face:workers:alive:"
HEARTBEAT_EVERY = 0.25
HEARTBEAT_TTL = 1.0
CENSUS_PREFIX = "face:census:"
_PHOTO_KEY_INFO = b"portal face photo in transit v1"
_NONCE = 12


class PhotoGone(Exception):
    """The sealed photo expired (or was never stored) before a worker opened it."""


# -- connections ------------------------------------------------------------------------------


def _broker_url() -> str:
    from portal.celery import app

    return app.conf.broker_url or ""


def in_process() -> bool:
    """True on the embedded default: tasks run in the web process, nothing crosses Redis."""
    url = _broker_url()
    return not url.startswith(("redis://", "rediss://", "unix://"))


@lru_cache(maxsize=8)
def _client(url: str, pid: int) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client() -> redis.Redis:
    """A connection to the broker's Redis, one pool per process and URL."""
    return _client(_broker_url(), os.getpid())


def channel() -> str:
    """Pub/sub channels are shared by every database of a Redis server: name ours by ours."""
    db = client().connection_pool.connection_kwargs.get("db", 0)
    return f"face:workers:{db}"


# -- photos in transit ------------------------------------------------------------------------


def photo_keys() -> tuple[AESGCM, ...]:
    return keyring.derived(_PHOTO_KEY_INFO)


def seal(image: bytes, reference: str) -> bytes:
    """The photo encrypted with the newest key, bound to its reference (a sealed photo moved
    under another reference does not open)."""
    nonce = os.urandom(_NONCE)
    return nonce + photo_keys()[0].encrypt(nonce, image, reference.encode())


def unseal(sealed: bytes, reference: str) -> bytes:
    nonce, body = sealed[:_NONCE], sealed[_NONCE:]
    for key in photo_keys():
        try:
            return key.decrypt(nonce, body, reference.encode())
        except InvalidTag:
            continue
    raise PhotoGone


_local_parcels: dict[str, tuple[float, bytes]] = {}


def store_photo(image: bytes, ttl: float) -> str:
    """Seals the photo under a new reference that expires after `ttl` seconds; returns it."""
    reference = PARCEL_PREFIX + uuid.uuid4().hex
    sealed = seal(image, reference)
    if in_process():
        now = time.monotonic()
        for stale in [ref for ref, (until, _s) in _local_parcels.items() if until < now]:
            _local_parcels.pop(stale, None)
        _local_parcels[reference] = (now + ttl, sealed)
    else:
        client().set(reference, sealed, px=max(1, int(ttl * 1000)))
    return reference


def load_photo(reference: str) -> bytes:
    """The photo behind a reference, or PhotoGone once it has expired."""
    if not reference.startswith(PARCEL_PREFIX):
        raise PhotoGone
    if in_process():
        until, sealed = _local_parcels.get(reference, (0.0, b""))
        if until < time.monotonic():
            _local_parcels.pop(reference, None)
            raise PhotoGone
    else:
        sealed = client().get(reference)
        if sealed is None:
            raise PhotoGone
    return unseal(sealed, reference)


def pack_burst(frames: list[bytes]) -> bytes:
    """A camera burst as one byte string (count, then each frame's length and bytes), so that
    it is sealed and stored as one parcel: one round trip to Redis instead of one per frame.

    >>> unpack_burst(pack_burst([b"ab", b"", b"c"]))
    [b'ab', b'', b'c']
    """
    parts = [len(frames).to_bytes(4, "big")]
    for frame in frames:
        parts += [len(frame).to_bytes(4, "big"), frame]
    return b"".join(parts)


def unpack_burst(data: bytes) -> list[bytes]:
    """The frames of pack_burst; ValueError for anything else (a parcel is authenticated, so
    only a bug gets here)."""
    count, offset, frames = int.from_bytes(data[:4], "big"), 4, []
    for _ in range(count):
        size = int.from_bytes(data[offset : offset + 4], "big")
        offset += 4
        if offset + size > len(data):
            raise ValueError("truncated burst")
        frames.append(data[offset : offset + size])
        offset += size
    if len(data) < 4 or offset != len(data):
        raise ValueError("malformed burst")
    return frames


def discard_photo(reference: str) -> None:
    """Drops the sealed photo once its task is done (it would expire by itself anyway)."""
    if in_process():
        _local_parcels.pop(reference, None)
        return
    try:
        client().delete(reference)
    except redis.RedisError as error:
        log.warning("sealed photo not discarded (it expires anyway): %s", error)


# -- heartbeat --------------------------------------------------------------------------------


def heartbeat_key(queue: str | None = None) -> str:
    return HEARTBEAT_PREFIX + (queue or settings.CELERY_TASK_DEFAULT_QUEUE)


def workers_alive(queue: str | None = None) -> bool:
    """Whether a worker consuming `queue` (the face tasks' own by default) beat within the
    last HEARTBEAT_TTL seconds (Redis errors propagate: the caller treats them as
    "unavailable")."""
    if in_process():
        return True
    return bool(client().exists(heartbeat_key(queue)))


def heartbeat(queue: str | None = None, connection: redis.Redis | None = None) -> dict | None:
    """What the worker that beat last for `queue` says about itself ({"pid": ..., "model": ...,
    "ready": bool}), or None when no worker beat within HEARTBEAT_TTL: a stale beat has
    expired. Redis errors propagate."""
    if in_process():
        return {"pid": os.getpid(), "model": "", "ready": True}
    value = (connection or client()).get(heartbeat_key(queue))
    if value is None:
        return None
    try:
        said = json.loads(value)
    except ValueError:
        said = None
    return said if isinstance(said, dict) else {"pid": None, "model": "", "ready": False}


def _beat(queues: list[str], value: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pipe = client().pipeline(transaction=False)
            for queue in queues:
                pipe.set(heartbeat_key(queue), value, px=int(HEARTBEAT_TTL * 1000))
            pipe.execute()
        except redis.RedisError:
            pass  # Redis away: no beat, so the web says "unavailable", as it should
        stop.wait(HEARTBEAT_EVERY)


def start_heartbeat(queues: list[str], about: dict | None = None) -> threading.Event:
    """Beats for each queue in a thread of this process; `about` (the face model and whether
    its weights are in place) travels in the beat for /readyz."""
    stop = threading.Event()
    value = json.dumps({"pid": os.getpid(), **(about or {})}, sort_keys=True)
    threading.Thread(
        target=_beat, args=(sorted(queues), value, stop), name="face-heartbeat", daemon=True
    ).start()
    return stop


# -- deletion broadcast -----------------------------------------------------------------------


def announce_deleted(pairs) -> None:
    """Tells every worker process, once the current transaction commits, to drop the deleted
    templates of these (building id, purpose id) galleries from memory."""
    from django.db import transaction

    pairs = sorted({(int(b), int(p)) for b, p in pairs})
    if pairs:
        transaction.on_commit(lambda: _publish({"refresh": pairs}))


def _publish(message: dict) -> None:
    if in_process():
        _handle(message, role="web")
        return
    try:
        client().publish(channel(), json.dumps(message))
    except redis.RedisError as error:
        # The galleries' generation still moved with the deletion: no match is given on a
        # deleted template; only the memory copy waits for the next request.
        log.warning("deletion not broadcast to the workers: %s", error.__class__.__name__)


def census(timeout: float = 2.0, expect: int | None = None) -> dict[str, dict]:
    """Asks every worker process which people's templates it holds in memory:
    {"<pid>": {"role": "parent"|"child", "parent": ppid, "people": [ids]}}."""
    nonce = uuid.uuid4().hex
    key = CENSUS_PREFIX + nonce
    _publish({"census": nonce})
    deadline = time.monotonic() + timeout
    answers: dict[str, dict] = {}
    while not in_process() and time.monotonic() < deadline:
        answers = {k.decode(): json.loads(v) for k, v in client().hgetall(key).items()}
        if expect is not None and len(answers) >= expect:
            break
        time.sleep(0.05)
    return answers


def _handle(message: dict, role: str) -> None:
    from recognition.doors import identify

    if "refresh" in message:
        identify.drop_deleted([tuple(pair) for pair in message["refresh"]])
    if "census" in message and not in_process():
        key = CENSUS_PREFIX + str(message["census"])
        answer = {"role": role, "parent": os.getppid(), "people": identify.held_people()}
        pipe = client().pipeline()
        pipe.hset(key, str(os.getpid()), json.dumps(answer))
        pipe.expire(key, 30)
        pipe.execute()


def _listen(role: str, stop: threading.Event) -> None:
    from django.db import connections

    while not stop.is_set():
        try:
            pubsub = client().pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel())
            while not stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                try:
                    _handle(json.loads(message["data"]), role)
                except Exception:  # noqa: BLE001 (one bad message never stops the listener)
                    log.exception("worker broadcast not handled")
                finally:
                    connections.close_all()
        except redis.RedisError:
            stop.wait(0.5)  # Redis away: listen again when it is back


def start_listener(role: str) -> threading.Event:
    """Listens to the workers' channel in a thread of this process."""
    stop = threading.Event()
    threading.Thread(target=_listen, args=(role, stop), name="face-broadcast", daemon=True).start()
    return stop
