"""Celery tasks: take ids and the photo, call one service, return a small result.

A photo never travels in the task message: the message names a sealed photo in Redis that
expires at the face deadline (recognition.engine.broker); results hold no image and no embedding and
expire quickly (CELERY_RESULT_EXPIRES).
"""

import logging

from celery import shared_task
from celery.signals import worker_init, worker_process_init, worker_ready
from django.conf import settings

from recognition.doors import door, identify, shards
from recognition.engine import (
    WeightsMissing,
    broker,
    engine_from_settings,
    get_engine,
    live,
    livecheck,
)
from recognition.engine.weights import prepare_weights
from recognition.lifecycle import services

FACE_TASK = {"acks_late": True, "reject_on_worker_lost": True}
log = logging.getLogger(__name__)


@worker_init.connect
def refuse_to_start_without_weights(**_kwargs) -> None:
    """Stops the worker at start, naming the file and folder, if model weights are missing."""
    engine = engine_from_settings()
    try:
        prepare_weights(engine.deepface_home)
    except FileNotFoundError:
        pass
    missing = engine.missing_weights()
    if missing:
        raise SystemExit(str(WeightsMissing(missing, missing[0].parent)))


@worker_init.connect
def warm_door_galleries(sender=None, **_kwargs) -> None:
    """Decrypts the door galleries once in the parent, before the fork (see identify.warm):
    only those of the door shards whose queues this worker consumes (recognition.doors.shards).
    A database that cannot be reached only means the children load them on first use."""
    from django.db import DatabaseError, connections

    count = settings.DOOR_SHARDS
    queues = sender.app.amqp.queues.consume_from if sender is not None else {}
    served = shards.shards_served(queues, count)
    try:
        identify.warm(
            engine_from_settings().model_id,
            keep=lambda building_id: shards.shard_of(building_id, count) in served,
        )
    except DatabaseError as error:
        log.warning("door galleries not warmed: %s", error.__class__.__name__)
    finally:
        connections.close_all()


@worker_process_init.connect
def load_engine_in_child(**_kwargs) -> None:
    """Loads the model once per worker process, and the liveness check's models: in the burst
    reader (FACE_LIVE_READER), a process that loads them meanwhile, else here. (With a reader
    they are loaded here only when a burst must be read here: the reader failed.)"""
    if settings.FACE_LIVE_READER:
        livecheck.start_reader()
    get_engine()
    if not settings.FACE_LIVE_READER:
        livecheck.models()


@worker_process_init.connect
def listen_in_child(**_kwargs) -> None:
    """Each child drops deleted templates from its galleries when told (broker.py)."""
    broker.start_listener("child")


@worker_ready.connect
def beat_and_listen(sender=None, **_kwargs) -> None:
    """The parent beats for the web, for each queue it consumes (so a door shard's worker
    counts for its shard), and drops deleted templates from the galleries it forks new
    children with."""
    queues = {queue.name for queue in getattr(sender.task_consumer, "queues", [])}
    if queues:
        engine = engine_from_settings()
        about = {"model": engine.model_id, "ready": not engine.missing_weights()}
        broker.start_heartbeat(sorted(queues), about)
    broker.start_listener("parent")


def photo(reference: str) -> bytes:
    """The sealed photo behind the reference. It stays until the deadline (the web drops it
    once answered): a task redelivered after its child was lost needs it again."""
    return broker.load_photo(reference)


def burst(frames: str | list[str]) -> list[bytes]:
    """The frames of a camera burst: one sealed parcel (broker.pack_burst), or, from a task
    queued before bursts were packed, one parcel per frame."""
    if isinstance(frames, str):
        return broker.unpack_burst(photo(frames))
    return [photo(reference) for reference in frames]


@shared_task(name="recognition.tasks.enrol_face", bind=True, **FACE_TASK)
def enrol_face(self, person_id: int, purpose_id: int, reference: str) -> dict:
    image = photo(reference)
    return services.enrol_face(
        person_id, purpose_id, image, get_engine(), job_id=self.request.id or ""
    )


@shared_task(name="recognition.tasks.verify_face", bind=True, **FACE_TASK)
def verify_face(self, person_id: int | None, reference: str) -> dict:
    image = photo(reference)
    return services.verify_face(person_id, image, get_engine(), job_id=self.request.id or "")


@shared_task(name="recognition.tasks.verify_face_live", bind=True, **FACE_TASK)
def verify_face_live(
    self, person_id: int | None, challenge: dict | None, nonce: str, received_at: float, frames
) -> dict:
    return live.verify_face_live(
        person_id,
        challenge,
        nonce,
        received_at,
        burst(frames),
        get_engine(),
        job_id=self.request.id or "",
    )


@shared_task(name="recognition.tasks.enrol_face_live", bind=True, **FACE_TASK)
def enrol_face_live(
    self,
    person_id: int,
    purpose_id: int,
    challenge: dict | None,
    nonce: str,
    received_at: float,
    frames,
) -> dict:
    return live.enrol_face_live(
        person_id,
        purpose_id,
        challenge,
        nonce,
        received_at,
        burst(frames),
        get_engine(),
        job_id=self.request.id or "",
    )


@shared_task(name="recognition.tasks.identify_at_door", bind=True, **FACE_TASK)
def identify_at_door(self, device_id: int, reference: str, liveness: str = "") -> dict:
    return door.identify_at_door(
        device_id,
        photo(reference),
        get_engine(),
        job_id=self.request.id or "",
        liveness=liveness,
    )


@shared_task(name="recognition.tasks.identify_at_door_live", bind=True, **FACE_TASK)
def identify_at_door_live(
    self, device_id: int, challenge: dict | None, nonce: str, received_at: float, frames
) -> dict:
    return live.identify_at_door_live(
        device_id,
        challenge,
        nonce,
        received_at,
        burst(frames),
        get_engine(),
        job_id=self.request.id or "",
    )


@shared_task(name="recognition.tasks.verify_at_door", bind=True, **FACE_TASK)
def verify_at_door(
    self, device_id: int, person_id: int, reference: str, liveness: str = ""
) -> dict:
    return door.verify_at_door(
        device_id,
        person_id,
        photo(reference),
        get_engine(),
        job_id=self.request.id or "",
        liveness=liveness,
    )


@shared_task(name="recognition.tasks.door_galleries_held")
def door_galleries_held() -> dict:
    """{building id: templates} this worker process holds; sent to a shard's queue, it tells
    which buildings that shard's worker keeps in memory (no template, no person)."""
    return {str(building): count for building, count in sorted(identify.held().items())}


@shared_task(
    name="recognition.tasks.purge_lapsed",
    acks_late=True,
    time_limit=settings.PURGE_TIME_LIMIT,
    soft_time_limit=settings.PURGE_TIME_LIMIT - 30,
)
def purge_lapsed() -> dict:
    """A run stopped by its time limit has recorded what it deleted; the next one goes on."""
    from recognition.lifecycle.purge import purge_lapsed_templates

    return purge_lapsed_templates(trigger="schedule")


@shared_task(name="recognition.tasks.compact_door_snapshots", acks_late=True)
def compact_door_snapshots() -> dict:
    """Brings every door gallery's snapshot up to its gallery (recognition.doors.snapshots)."""
    from recognition.doors import snapshots

    return snapshots.compact(engine_from_settings().model_id)


def face_deadline() -> float:
    return settings.FACE_VERIFY_DEADLINE


@shared_task(name="recognition.tasks.tally_attempts", acks_late=True)
def tally_attempts() -> dict:
    from recognition.reporting.tally import tally_attempts

    return tally_attempts()
