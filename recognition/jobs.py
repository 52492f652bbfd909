"""Running a face task from a web request: sent once, answered within a deadline, or a clear
"face unavailable" so the person can use their code instead. Never hangs, never a 500."""

import base64
import logging
import time

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

UNAVAILABLE = _(
    "Face recognition is unavailable right now. Please use your password and one-time code."
)


BROKER_ERRORS = (OperationalError, KombuError, RedisError, OSError)


class FaceUnavailable(Exception):
    message = UNAVAILABLE


def submit(task, *args, image: bytes, queue: str | None = None):
    """Sends a face task without waiting; it expires unstarted after the deadline. `queue`
    overrides the task's route (a building's door shard, recognition.shards)."""
    encoded = base64.b64encode(image).decode()
    options = {"queue": queue} if queue else {}
    try:
        return task.apply_async(
            args=[*args, encoded], expires=settings.FACE_VERIFY_DEADLINE, **options
        )
    except (*BROKER_ERRORS, RuntimeError) as error:
        # RuntimeError: Celery's Redis result consumer gave up reconnecting; it starts afresh
        # on the next task, so this is "unavailable now", not "restart the process".
        log.warning("face task not sent: %s", error.__class__.__name__)
        raise FaceUnavailable from error


def run(task, *args, image: bytes, queue: str | None = None) -> dict:
    deadline = settings.FACE_VERIFY_DEADLINE
    started = time.monotonic()
    result = submit(task, *args, image=image, queue=queue)
    try:
        # propagate=False: a task that failed, expired unstarted or was lost with its worker
        # comes back as an exception instance, never raised into the request (no 500).
        answer = result.get(timeout=deadline, propagate=False)
    except (CeleryTimeout, *BROKER_ERRORS, RuntimeError) as error:
        log.warning("face task not answered: %s", error.__class__.__name__)
        raise FaceUnavailable from error
    finally:
        try:
            result.forget()
        except (*BROKER_ERRORS, RuntimeError, NotImplementedError):
            pass
    if time.monotonic() - started > deadline:
        # Celery's result consumer checks the timeout only between waits of up to a second, so
        # an answer can come in after the deadline; it is refused like no answer at all.
        log.warning("face task answered after its deadline")
        raise FaceUnavailable
    if not isinstance(answer, dict):
        log.warning("face task failed: %s", answer.__class__.__name__)
        raise FaceUnavailable
    return answer
