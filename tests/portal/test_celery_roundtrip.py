"""A real task through the real Redis broker and a real Celery worker process."""

import os

import pytest
from django.conf import settings

from portal.tasks import ping

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_round_trip_through_redis_and_a_worker(celery_worker_process):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    result = ping.delay("hello").get(timeout=20)
    assert result["echo"] == "hello"
    assert result["worker_pid"] != os.getpid()
