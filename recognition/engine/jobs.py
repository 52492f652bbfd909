"""Running a face task from a web request: sent once, answered within a deadline, or a clear
"face unavailable" so the person can use their code instead. Never hangs, never a 500."""

import logging
import time

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

from recognition.engine import broker

log = logging.getLogger(__name__)

UNAVAILABLE = _(
    "Face recognition is unavailable right now. Please use your password and one-time code."
)


BROKER_ERRORS = (OperationalError, KombuError, RedisError, OSError)


class FaceUnavailable(Exception):
    message = UNAVAILABLE


def submit(task, *args, image: bytes | list[bytes], queue: str | None = None, **kwargs):
    """Sends a face task without waiting: at once "unavailable" when no worker beats; else
    the photo is sealed in Redis until the deadline and the task, which names it, expires
    unstarted at the same deadline. A camera burst (a list of frames) is packed and sealed as
    one parcel (broker.pack_burst): one round trip to Redis, not one per frame. `queue`
    overrides the task's route (a building's door shard, recognition.doors.shards). The result's
    `photo` names what was sealed."""
    deadline = settings.FACE_VERIFY_DEADLINE
    options = {"queue": queue} if queue else {}
    try:
        if not broker.workers_alive(queue):
            log.warning("face task not sent: no worker alive")
            raise FaceUnavailable
        packed = broker.pack_burst(image) if isinstance(image, list) else image
        reference = broker.store_photo(packed, ttl=deadline)
        result = task.apply_async(
            args=[*args, reference], kwargs=kwargs, expires=deadline, **options
        )
    except (*BROKER_ERRORS, RuntimeError) as error:
        # RuntimeError: Celery's Redis result consumer gave up reconnecting; it starts afresh
        # on the next task, so this is "unavailable now", not "restart the process".
        log.warning("face task not sent: %s", error.__class__.__name__)
        raise FaceUnavailable from error
    result.photo, result.face_queue = reference, queue
    return result


# How often a waiting request looks at the workers' heartbeat (Celery's result consumer
# wakes once a second in any case): a worker that died meanwhile is noticed within this and
# the heartbeat's lifetime, not at the deadline.
WAIT_SLICE = 1.0


def _wait(result, deadline: float):
    """The task's answer within the deadline; Celery's TimeoutError once the deadline is out
    or no worker beats any more. propagate=False: a task that failed, expired unstarted or was
    lost with its worker comes back as an exception instance, never raised into the request."""
    until = time.monotonic() + deadline
    while True:
        remaining = until - time.monotonic()
        last = remaining <= 2 * WAIT_SLICE  # the end in one wait: no slice runs past it
        try:
            timeout = max(0.05, remaining if last else WAIT_SLICE)
            return result.get(timeout=timeout, propagate=False)
        except CeleryTimeout:
            # Between two waits nobody listens: an answer published then is read, not missed.
            if result.ready():
                return result.get(timeout=WAIT_SLICE, propagate=False)
            if last or not broker.workers_alive(result.face_queue):
                raise


def run(task, *args, image: bytes | list[bytes], queue: str | None = None, **kwargs) -> dict:
    deadline = settings.FACE_VERIFY_DEADLINE
    started = time.monotonic()
    result = submit(task, *args, image=image, queue=queue, **kwargs)
    try:
        answer = _wait(result, deadline)
    except (CeleryTimeout, *BROKER_ERRORS, RuntimeError) as error:
        log.warning("face task not answered: %s", error.__class__.__name__)
        raise FaceUnavailable from error
    finally:
        # Answered or given up: the sealed photo goes now rather than at its expiry.
        broker.discard_photo(result.photo)
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
