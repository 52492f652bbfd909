"""/healthz, /readyz and /metrics against the real database, Redis and worker.

/readyz is judged on what it checks: a worker that answers with its face model, Redis that
answers, and the database; /metrics is scraped the way Prometheus does and shows a face task
the worker ran, the queues, the worker's memory, a purge and the audit check."""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection
from django.test import Client

from consent import rules as consent_rules
from portal import audit, health
from recognition import tasks
from recognition.engine import broker, jobs
from tests.factories import make_active_purpose
from tests.launcher import start_worker, stop_worker
from tests.paths import REPO
from tests.reliability.stack import PrivateRedis

TOKEN = "metrics-" + "t" * 40


@pytest.fixture(autouse=True)
def _fresh_readiness():
    health.forget_readiness()
    yield
    health.forget_readiness()


def sample(text: str, name: str, **labels) -> float:
    """The value of one series in Prometheus text format, 0 when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _space, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def scrape(client, settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_healthz_answers_without_touching_the_database(client):
    # No db marker: pytest-django fails any query made here.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_with_a_live_worker_and_its_model(client, celery_worker_process):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "worker": "ok", "face_model": "ok"},
    }


def _readiness_in_a_new_process(redis_url: str, database_url: str) -> dict:
    """The checks as a web process on that broker computes them (its Celery app reads the
    broker at start, as in production)."""
    code = (
        "import json, django; django.setup(); from portal import health; "
        "print(json.dumps(health.readiness()))"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_REDIS_URL=redis_url,
        TEST_DATABASE_URL=database_url,
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_readyz_is_not_ready_without_a_worker_then_without_redis(tmp_path):
    db = connection.settings_dict
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
    database_url += f"{db['PORT'] or 5432}/{db['NAME']}"
    private = PrivateRedis(tmp_path / "redis.log")
    private.start()
    try:
        checks = _readiness_in_a_new_process(private.url, database_url)
        assert checks == {
            "database": "ok",
            "redis": "ok",
            "worker": "failed",
            "face_model": "failed",
        }
    finally:
        private.stop()
    checks = _readiness_in_a_new_process(private.url, database_url)
    assert checks["redis"] == "failed" and checks["worker"] == "failed"


def _database_url() -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
    return url + f"{db['PORT'] or 5432}/{db['NAME']}"


def _ready_within(client, seconds: float, *, ready: bool):
    """The /readyz answer once it is (or is no longer) ready, polled for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/readyz")
        if (response.status_code == 200) == ready or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


@pytest.mark.worker
@pytest.mark.django_db
def test_readyz_reads_the_heartbeat_and_turns_not_ready_when_the_worker_stops(
    client, settings, tmp_path
):
    """No broadcast round trip: the worker's heartbeat in Redis is the answer, and once the
    worker stops its beat goes stale (expires) and /readyz says so within about a second."""
    private = PrivateRedis(tmp_path / "redis.log")
    private.start()
    settings.REDIS_URL = private.url
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_REDIS_URL=private.url,
        TEST_DATABASE_URL=_database_url(),
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        response = _ready_within(client, 120, ready=True)
        assert response.status_code == 200, (tmp_path / "worker.log").read_text()[-2000:]
        beat = json.loads(private.client().get(broker.heartbeat_key()))
        assert beat["ready"] is True and beat["model"] and beat["pid"] == worker.pid

        stop_worker(worker)
        stopped = time.monotonic()
        response = _ready_within(client, 10, ready=False)
        waited = time.monotonic() - stopped
        assert response.status_code == 503
        assert response.json()["checks"] == {
            "database": "ok",
            "redis": "ok",
            "worker": "failed",
            "face_model": "failed",
        }
        assert waited <= broker.HEARTBEAT_TTL + health.READY_CACHE_SECONDS + 1.0
    finally:
        stop_worker(worker)
        private.stop()


@pytest.mark.django_db
def test_readyz_is_not_ready_while_the_beating_worker_lacks_its_model_weights(
    client, settings, tmp_path
):
    private = PrivateRedis(tmp_path / "redis.log")
    private.start()
    settings.REDIS_URL = private.url
    try:
        beat = {"pid": 1, "model": "Dlib", "ready": False}
        private.client().set(broker.heartbeat_key(), json.dumps(beat), px=60_000)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["worker"] == "ok"
        assert response.json()["checks"]["face_model"] == "failed"
        private.client().set(broker.heartbeat_key(), "not json", px=60_000)
        health.forget_readiness()
        assert client.get("/readyz").json()["checks"]["face_model"] == "failed"
        private.client().set(broker.heartbeat_key(), json.dumps({**beat, "ready": True}))
        health.forget_readiness()
        assert client.get("/readyz").status_code == 200
    finally:
        private.stop()


@pytest.mark.django_db
def test_readyz_answers_503_while_a_check_fails(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["redis"] == "failed"


@pytest.mark.django_db
def test_readyz_keeps_its_answer_a_few_seconds(settings):
    """Probes or anyone calling it in a loop cost one check per process every few seconds."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    first = health.cached_readiness(now=1000.0)
    assert first["redis"] == "failed"
    settings.REDIS_URL = ""  # the embedded default: every check passes in this process
    assert health.cached_readiness(now=1000.0 + health.READY_CACHE_SECONDS - 0.1) == first
    assert health.cached_readiness(now=1000.0 + health.READY_CACHE_SECONDS)["redis"] == "ok"


@pytest.mark.django_db
def test_metrics_do_not_exist_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"{TOKEN}"],
)
def test_metrics_refuse_anyone_without_the_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert b"portal_" not in response.content


@pytest.mark.django_db
def test_the_token_in_the_address_is_not_accepted(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get(f"/metrics?token={TOKEN}").status_code == 401


@pytest.mark.django_db
def test_made_up_methods_do_not_make_new_series(client, settings):
    before = scrape(client, settings)
    method = "X" + uuid.uuid4().hex[:8].upper()
    client.generic(method, "/healthz")
    after = scrape(client, settings)
    assert method not in after
    assert sample(after, "portal_requests_total", view="healthz", method="other") == (
        sample(before, "portal_requests_total", view="healthz", method="other") + 1
    )


@pytest.mark.django_db
def test_request_latency_is_counted_per_view_not_per_path(client, settings):
    before = scrape(client, settings)
    client.get("/healthz")
    client.get("/healthz")
    after = scrape(client, settings)
    count = "portal_request_duration_seconds_count"
    assert sample(after, count, view="healthz", method="GET") == (
        sample(before, count, view="healthz", method="GET") + 2
    )
    assert 'path="' not in after


@pytest.mark.django_db
def test_the_audit_check_result_is_exported(client, settings, building_a):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    audit.check_chain("manual")
    text = scrape(client, settings)
    assert sample(text, "portal_audit_chain_intact") == 1
    assert sample(text, "portal_audit_chain_entries") > 0
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE consent_auditentry DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE consent_auditentry SET data = %s WHERE id = "
            "(SELECT min(id) FROM consent_auditentry)",
            ['{"purpose": 999}'],
        )
        cursor.execute("ALTER TABLE consent_auditentry ENABLE TRIGGER USER")
    audit.check_chain("manual")
    assert sample(scrape(client, settings), "portal_audit_chain_intact") == 0
    assert purpose.status == consent_rules.ACTIVE


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_face_task_a_purge_and_the_worker_show_in_the_metrics(
    celery_worker_process,
    settings,
    photos,  # noqa: F811
):
    client = Client()
    before = scrape(client, settings)
    count = "portal_face_task_duration_seconds_count"
    answer = jobs.run(tasks.verify_face, None, image=photos["none"])
    assert answer["ok"] is False
    outcome = answer["code"]
    tasks.purge_lapsed.apply_async().get(timeout=60)
    # The worker records a task just after its result is stored (Celery's task_postrun).
    deadline = time.monotonic() + 15
    while True:
        after = scrape(client, settings)
        runs = sample(after, "portal_purge_runs_total", outcome="ok")
        if runs > sample(before, "portal_purge_runs_total", outcome="ok"):
            break
        assert time.monotonic() < deadline, "the purge never showed in the metrics"
        time.sleep(0.2)
    assert sample(after, count, task="verify_face", outcome=outcome) == (
        sample(before, count, task="verify_face", outcome=outcome) + 1
    )
    assert sample(after, "portal_purge_runs_total", outcome="ok") == (
        sample(before, "portal_purge_runs_total", outcome="ok") + 1
    )
    assert sample(after, "portal_purge_duration_seconds_count") == (
        sample(before, "portal_purge_duration_seconds_count") + 1
    )
    pid = str(celery_worker_process.pid)
    memory = [
        float(line.rsplit(" ", 1)[1])
        for line in after.splitlines()
        if line.startswith("portal_worker_memory_bytes{") and f'pid="{pid}"' not in line
    ]
    assert memory and max(memory) > 50 * 1024 * 1024  # a child with the face model loaded
    for queue in ("latency", "maintenance"):
        assert f'portal_queue_depth{{queue="{queue}"}}' in after


def test_every_face_task_is_timed_in_the_metrics():
    """Each task declared with the face options (`**FACE_TASK`) shows in the face task
    latency: a new face task left out of `metrics.FACE_TASKS` would go unmeasured."""
    import ast

    from portal import metrics

    tree = ast.parse((REPO / "recognition" / "tasks.py").read_text())
    face_tasks = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
            k.arg is None and getattr(k.value, "id", "") == "FACE_TASK" for k in node.keywords
        ):
            face_tasks |= {k.value.value for k in node.keywords if k.arg == "name"}
    assert len(face_tasks) >= 7
    assert face_tasks <= metrics.FACE_TASKS
