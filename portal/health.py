"""/healthz, /readyz and /metrics: what a load balancer, an orchestrator and Prometheus ask.

/healthz answers as long as the process does (no database, no broker). /readyz checks the
database, Redis, and the heartbeat that a worker consuming the face tasks' queue keeps in Redis
(recognition.engine.broker: refreshed every quarter second, gone a second after the worker stops),
which also says whether its face model's weights are in place. The answer is kept a second, so
probes (or anyone) calling it often cost one check per process per second, not one per
request. /metrics
answers only with METRICS_TOKEN as a bearer token, and not at all while that is unset.
"""

from __future__ import annotations

import hmac
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

READY_CACHE_SECONDS = 1.0
OK, FAILED = "ok", "failed"

_ready_lock = threading.Lock()
_ready: tuple[float, dict] | None = None


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def redis_ok(client=None) -> bool:
    import redis

    own = client is None
    client = client or _redis()
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        if own:
            client.close()


def worker_beat(client) -> dict | None:
    """The heartbeat of a worker on the face tasks' queue, or None when none beat within the
    heartbeat's lifetime (a stale beat has expired) or Redis cannot be read."""
    import redis

    from recognition.engine import broker

    try:
        return broker.heartbeat(connection=client)
    except redis.RedisError:
        return None


def readiness() -> dict:
    """{check: "ok" | "failed"}; without REDIS_URL tasks run in this process (the embedded
    default), so the process is its own worker."""
    checks = {"database": OK if database_ok() else FAILED}
    if not settings.REDIS_URL:
        checks.update(redis=OK, worker=OK, face_model=OK)
        return checks
    client = _redis()
    try:
        if not redis_ok(client):
            checks.update(redis=FAILED, worker=FAILED, face_model=FAILED)
            return checks
        beat = worker_beat(client)
    finally:
        client.close()
    checks["redis"] = OK
    checks["worker"] = OK if beat is not None else FAILED
    checks["face_model"] = OK if beat is not None and beat.get("ready") is True else FAILED
    return checks


def cached_readiness(now: float | None = None) -> dict:
    global _ready
    now = time.monotonic() if now is None else now
    with _ready_lock:
        if _ready is None or now - _ready[0] >= READY_CACHE_SECONDS:
            _ready = (now, readiness())
        return _ready[1]


def forget_readiness() -> None:
    """Drops the kept answer: the next /readyz checks again."""
    global _ready
    with _ready_lock:
        _ready = None


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = cached_readiness()
    ready = all(value == OK for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def token_accepted(header: str, token: str) -> bool:
    """Is `header` "Bearer <token>"? Never with an empty token; constant-time comparison."""
    if not token:
        return False
    scheme, _space, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404
    if not token_accepted(request.headers.get("Authorization", ""), settings.METRICS_TOKEN):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from portal import metrics as portal_metrics

    body, content_type = portal_metrics.exposition()
    return HttpResponse(body, content_type=content_type)
