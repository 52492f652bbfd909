"""What a Celery worker reports about itself: task metrics (portal.metrics) and an optional
metrics port for workers on machines without a web process (its face model travels in its
heartbeat for /readyz: recognition.tasks.beat_and_listen).

Imported by portal.tasks, so every worker connects these handlers."""

from __future__ import annotations

import logging
import os
import time

from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)
from django.conf import settings

log = logging.getLogger(__name__)
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, **_kwargs) -> None:
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id=None, task=None, retval=None, state=None, **_kwargs) -> None:
    from portal import metrics

    started = _started.pop(task_id, None)
    if started is None or task is None:
        return
    metrics.observe_task(task.name, state or "", retval, time.perf_counter() - started)
    if task.name in (
        "recognition.tasks.identify_at_door",
        "recognition.tasks.identify_at_door_live",
    ):
        from recognition.doors import identify

        metrics.observe_gallery(sum(identify.held().values()))


@worker_process_init.connect
def _process_started(**_kwargs) -> None:
    """A child's memory and the door templates it inherited, before its first task."""
    from portal import metrics
    from recognition.doors import identify

    metrics.WORKER_MEMORY.set(metrics.resident_memory())
    metrics.observe_gallery(sum(identify.held().values()))


@worker_process_shutdown.connect
def _process_gone(pid=None, **_kwargs) -> None:
    from portal import metrics

    metrics.mark_dead(pid or os.getpid())


@worker_init.connect
def _serve_metrics(**_kwargs) -> None:
    """WORKER_METRICS_PORT: this machine's worker samples over HTTP, for a worker machine with
    no web process to scrape (bind it to a private address, WORKER_METRICS_ADDR)."""
    if not settings.WORKER_METRICS_PORT:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    from portal import metrics  # noqa: F401 (chooses the multiprocess directory first)

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDR, registry)
