"""Celery tasks: take ids and the photo, call one service, return a small result.

Photos travel base64-encoded in the task message, once; results hold no image and no
embedding and expire quickly (CELERY_RESULT_EXPIRES).
"""

import base64
import logging

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings

from recognition import door, identify, services, shards
from recognition.engine import WeightsMissing, engine_from_settings, get_engine
from recognition.weights import prepare_weights

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
    only those of the door shards whose queues this worker consumes (recognition.shards).
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
    """Loads the model once per worker process, after the fork."""
    get_engine()


@shared_task(name="recognition.tasks.enrol_face", bind=True, **FACE_TASK)
def enrol_face(self, person_id: int, purpose_id: int, image_b64: str) -> dict:
    return services.enrol_face(
        person_id,
        purpose_id,
        base64.b64decode(image_b64),
        get_engine(),
        job_id=self.request.id or "",
    )


@shared_task(name="recognition.tasks.verify_face", bind=True, **FACE_TASK)
def verify_face(self, person_id: int | None, image_b64: str) -> dict:
    return services.verify_face(
        person_id, base64.b64decode(image_b64), get_engine(), job_id=self.request.id or ""
    )


@shared_task(name="recognition.tasks.identify_at_door", bind=True, **FACE_TASK)
def identify_at_door(self, device_id: int, image_b64: str) -> dict:
    return door.identify_at_door(
        device_id, base64.b64decode(image_b64), get_engine(), job_id=self.request.id or ""
    )


@shared_task(name="recognition.tasks.verify_at_door", bind=True, **FACE_TASK)
def verify_at_door(self, device_id: int, person_id: int, image_b64: str) -> dict:
    return door.verify_at_door(
        device_id,
        person_id,
        base64.b64decode(image_b64),
        get_engine(),
        job_id=self.request.id or "",
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
    from recognition.purge import purge_lapsed_templates

    return purge_lapsed_templates(trigger="schedule")


def face_deadline() -> float:
    return settings.FACE_VERIFY_DEADLINE


@shared_task(name="recognition.tasks.tally_attempts", acks_late=True)
def tally_attempts() -> dict:
    from recognition.tally import tally_attempts

    return tally_attempts()
