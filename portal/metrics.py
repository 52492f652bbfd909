"""Prometheus metrics, in prometheus-client's multiprocess mode.

gunicorn's web workers and Celery's pool children are separate processes: each writes its
samples to files in ``PROMETHEUS_MULTIPROC_DIR`` (default ``METRICS_DIR``) and a scrape of
``/metrics`` adds them up. Figures that live elsewhere (queue depth in Redis, the latest audit
check in PostgreSQL) are read at scrape time instead.

The directory must exist before the processes start and be emptied when the machine boots
(a tmpfs is ideal); ``mark_dead`` drops a finished process's live gauges.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

from django.conf import settings

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.METRICS_DIR))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

from prometheus_client import (  # noqa: E402 (the directory is chosen before the import)
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

FACE_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
PURGE_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)

REQUEST_SECONDS = Histogram(
    "portal_request_duration_seconds",
    "Time to answer a request, per view and method.",
    ["view", "method"],
)
REQUESTS = Counter(
    "portal_requests_total",
    "Requests answered, per view, method and status.",
    ["view", "method", "status"],
)
FACE_TASK_SECONDS = Histogram(
    "portal_face_task_duration_seconds",
    "Time a face task took in the worker, per task and outcome.",
    ["task", "outcome"],
    buckets=FACE_BUCKETS,
)
WORKER_MEMORY = Gauge(
    "portal_worker_memory_bytes",
    "Resident memory of each worker process, after its latest task.",
    multiprocess_mode="liveall",
)
GALLERY_TEMPLATES = Gauge(
    "portal_door_gallery_templates",
    "Door-gallery templates held in memory by each worker process.",
    multiprocess_mode="liveall",
)
PURGE_RUNS = Counter("portal_purge_runs_total", "Scheduled purge runs, per outcome.", ["outcome"])
PURGE_DELETED = Counter(
    "portal_purge_deleted_total", "Rows deleted by scheduled purges, per reason.", ["reason"]
)
PURGE_SECONDS = Histogram(
    "portal_purge_duration_seconds", "Time a scheduled purge run took.", buckets=PURGE_BUCKETS
)

FACE_TASKS = {
    "recognition.tasks.enrol_face",
    "recognition.tasks.verify_face",
    "recognition.tasks.verify_face_live",
    "recognition.tasks.enrol_face_live",
    "recognition.tasks.identify_at_door",
    "recognition.tasks.identify_at_door_live",
    "recognition.tasks.verify_at_door",
}
PURGE_TASK = "recognition.tasks.purge_lapsed"


def resident_memory() -> int:
    """This process's resident memory in bytes (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def face_outcome(state: str, answer) -> str:
    """A face task's outcome label: the door's result, the service's code, or the failure."""
    if state != "SUCCESS" or not isinstance(answer, dict):
        return "error"
    if answer.get("result"):
        return str(answer["result"])
    if answer.get("ok"):
        return "ok"
    return str(answer.get("code") or "refused")


def observe_task(name: str, state: str, answer, seconds: float) -> None:
    """Records one finished task (called from the worker's task_postrun signal)."""
    if name in FACE_TASKS:
        FACE_TASK_SECONDS.labels(
            task=name.rsplit(".", 1)[-1], outcome=face_outcome(state, answer)
        ).observe(seconds)
    elif name == PURGE_TASK:
        PURGE_SECONDS.observe(seconds)
        ok = state == "SUCCESS" and isinstance(answer, dict)
        PURGE_RUNS.labels(outcome="ok" if ok else "error").inc()
        if ok:
            for reason, count in answer.items():
                if isinstance(count, int) and count:
                    PURGE_DELETED.labels(reason=reason).inc(count)
    else:
        return
    WORKER_MEMORY.set(resident_memory())


def observe_gallery(templates: int) -> None:
    GALLERY_TEMPLATES.set(templates)


def mark_dead(pid: int) -> None:
    multiprocess.mark_process_dead(pid)


class ScrapeTimeCollector:
    """Queue depth from the broker and the latest audit-chain check from the database."""

    def collect(self):
        depth = GaugeMetricFamily(
            "portal_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        for queue, count in queue_depths().items():
            depth.add_metric([queue], count)
        yield depth
        check = latest_audit_check()
        intact = GaugeMetricFamily(
            "portal_audit_chain_intact",
            "1 when the latest check of the audit chain found it intact, 0 when broken.",
        )
        checked = GaugeMetricFamily(
            "portal_audit_chain_checked_timestamp_seconds",
            "When the latest check of the audit chain finished (Unix time).",
        )
        entries = GaugeMetricFamily(
            "portal_audit_chain_entries", "Entries the latest check of the audit chain walked."
        )
        if check is not None:
            intact.add_metric([], 1 if check.intact else 0)
            checked.add_metric([], check.finished_at.timestamp())
            entries.add_metric([], check.entries)
        yield intact
        yield checked
        yield entries


def queue_names() -> list[str]:
    from recognition.doors import shards

    return ["latency", "maintenance", *shards.door_queues(settings.DOOR_SHARDS)]


def queue_depths() -> dict[str, int]:
    """Waiting tasks per queue (kombu keeps a Redis list per queue and priority step)."""
    if not settings.REDIS_URL:
        return {}
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    depths = {}
    try:
        with client.pipeline() as pipe:
            names = queue_names()
            for name in names:
                for key in _priority_keys(name):
                    pipe.llen(key)
            counts = pipe.execute()
        steps = len(_priority_keys(""))
        for index, name in enumerate(names):
            depths[name] = sum(counts[index * steps : (index + 1) * steps])
    except redis.RedisError:
        return {}
    finally:
        client.close()
    return depths


def _priority_keys(queue: str) -> list[str]:
    # kombu's Redis transport: the queue itself, then one list per further priority step.
    return [queue] + [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]


def latest_audit_check():
    from django.db import DatabaseError

    from portal.models import AuditCheck

    try:
        return AuditCheck.objects.order_by("-finished_at", "-pk").first()
    except DatabaseError:
        return None


def exposition() -> tuple[bytes, str]:
    """Every process's samples added up, plus the scrape-time figures."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(ScrapeTimeCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


# Anything else a client sends is counted as "other": a label per made-up method would let
# anyone grow the series without bound.
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    """Latency per view (the URL pattern's name, never the path, so ids do not multiply
    series), and requests per status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unresolved"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_SECONDS.labels(view=view, method=method).observe(time.perf_counter() - started)
        REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        return response
