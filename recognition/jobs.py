"""Running a face task from a web request: sent once, answered within a deadline, or a clear
"face unavailable" so the person can use their code instead. Never hangs, never a 500."""

import base64
import logging

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

UNAVAILABLE = _(
    "Face recognition is unavailable right now. Please use your password and one-time code."
)


class FaceUnavailable(Exception):
    message = UNAVAILABLE


def submit(task, *args, image: bytes):
    """Sends a face task without waiting; it expires unstarted after the deadline."""
    encoded = base64.b64encode(image).decode()
    try:
        return task.apply_async(args=[*args, encoded], expires=settings.FACE_VERIFY_DEADLINE)
    except (OperationalError, KombuError, RedisError, OSError) as error:
        log.warning("face task not sent: %s", error.__class__.__name__)
        raise FaceUnavailable from error


def run(task, *args, image: bytes) -> dict:
    deadline = settings.FACE_VERIFY_DEADLINE
    result = submit(task, *args, image=image)
    try:
        return result.get(timeout=deadline)
    except (CeleryTimeout, OperationalError, KombuError, RedisError, OSError) as error:
        log.warning("face task not answered: %s", error.__class__.__name__)
        raise FaceUnavailable from error
    finally:
        try:
            result.forget()
        except (OperationalError, KombuError, RedisError, OSError, NotImplementedError):
            pass
