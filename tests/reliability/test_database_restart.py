"""PostgreSQL going away under traffic: requests fail cleanly (503, "try again in a moment",
never a 500 or a hang) and recover on their own; no consent or withdrawal is lost or
half-written.

Simulated with a TCP proxy of our own between a gunicorn-served portal and PostgreSQL: the
proxy is cut (every open database connection dropped, new ones refused, as while the server
restarts) and restored on the same port. The shared PostgreSQL cluster is never restarted.
"""

import os
import socket
import threading
import time
from datetime import datetime

import pytest
import requests

from consent import rules as consent_rules
from consent.models import Consent, ConsentEvent
from portal.audit import Break, verify_chain
from portal.models import AuditEntry
from tests.factories import PASSWORD, make_active_purpose, make_person
from tests.launcher import gunicorn
from tests.paths import ARTIFACTS
from tests.reliability.stack import free_port, test_database_url

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 6
CLEAN = {200, 409, 503}  # answered, refused by the rules, or "try again in a moment"


class TcpProxy:
    """Forwards a loopback port to PostgreSQL; `cut()` drops everything, `restore()` reopens."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._pairs: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listening = False
        self._server: socket.socket | None = None
        self.upstream_ports: set[int] = set()  # to find the backends it opened

    def restore(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.1)
        self._listening = True
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def cut(self) -> None:
        self._listening = False
        if self._server is not None:
            self._server.close()
        with self._lock:
            for sock in self._pairs:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._pairs.clear()

    def _accept(self, server: socket.socket) -> None:
        while self._listening:
            try:
                client, _address = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._pairs.update({client, upstream})
                self.upstream_ports.add(upstream.getsockname()[1])
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def portal_behind_proxy(django_db_blocker):
    url = test_database_url(django_db_blocker)
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    proxy = TcpProxy((host, int(port)))
    proxy.restore()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.reliability.http_settings",
        TEST_DATABASE_URL=url.replace(host_port, f"127.0.0.1:{proxy.port}"),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "db-restart-web.log"
    try:
        with gunicorn(env, log_path, "--workers", "2", "--threads", "4", "--timeout", "30") as base:
            yield base, proxy
    finally:
        proxy.cut()
        _end_backends(proxy.upstream_ports)


def _end_backends(ports: set[int]) -> None:
    """Waits for the backends that came through the proxy to go (ends any that linger), so
    the test database can be dropped at the end of the run."""
    from django.db import connection

    query = "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)"
    deadline = time.monotonic() + 5
    with connection.cursor() as cursor:
        while True:
            cursor.execute(query, [list(ports)])
            pids = [row[0] for row in cursor.fetchall()]
            if not pids:
                return
            if time.monotonic() > deadline:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", [pids])
                return
            time.sleep(0.1)


def _signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=10)
    response = session.post(
        base + "/accounts/login/",
        {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return session


class Client(threading.Thread):
    """Grants and withdraws one consent in turn, and reads the consent list, until stopped."""

    def __init__(self, base, session, purpose, stop) -> None:
        super().__init__()
        self.base, self.session, self.purpose, self.stop = base, session, purpose, stop
        self.log: list[tuple[float, str, int, dict | None]] = []

    def call(self, method: str, path: str, body=None) -> None:
        started = time.monotonic()
        headers = {"X-CSRFToken": self.session.cookies.get("csrftoken", "")}
        try:
            response = self.session.request(
                method, self.base + path, json=body, headers=headers, timeout=15
            )
            status = response.status_code
            data = response.json() if "json" in response.headers.get("Content-Type", "") else None
        except requests.RequestException as error:  # a hang or a dropped connection
            status, data = -1, {"exception": repr(error)}
        self.log.append((started, path.rsplit("/", 2)[-2], status, data))

    def run(self) -> None:
        action = "grant"
        while not self.stop.is_set():
            body = {"notice_hash": self.purpose.current_notice.text_hash, "agree": True}
            self.call("POST", f"/api/v1/purposes/{self.purpose.pk}/{action}/", body)
            if self.log[-1][2] == 200:
                action = "withdraw" if action == "grant" else "grant"
            elif self.log[-1][2] == 409:
                action = "grant"
            self.call("GET", "/api/v1/consents/")
            time.sleep(0.05)


def test_database_outage_fails_cleanly_recovers_and_loses_nothing(portal_behind_proxy, building_a):
    base, proxy = portal_behind_proxy
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    people = [make_person(f"tenant{i}", building_a, "resident") for i in range(CLIENTS)]
    stop = threading.Event()
    clients = [Client(base, _signed_in(base, p.username), purpose, stop) for p in people]
    for client in clients:
        client.start()
    time.sleep(2.5)
    cut_at = time.monotonic()
    proxy.cut()
    time.sleep(3)
    proxy.restore()
    restored_at = time.monotonic()
    time.sleep(5)
    stop.set()
    for client in clients:
        client.join(timeout=30)

    calls = [entry for client in clients for entry in client.log]
    statuses = {status for _at, _what, status, _data in calls}
    assert statuses <= CLEAN, [c for c in calls if c[2] not in CLEAN][:3]
    during = [status for at, _w, status, _d in calls if cut_at < at < restored_at]
    assert 503 in during, "the outage was not seen"
    for _at, _what, status, data in calls:
        if status == 503:
            assert data["error"]["code"] == "unavailable"
    # recovered on their own: every client's calls in the last seconds were answered
    for client in clients:
        late = [s for at, _w, s, _d in client.log if at > restored_at + 2]
        assert late and set(late) <= {200, 409}, late

    # nothing lost: every decision answered 200 is in the history, as answered
    for _at, what, status, data in calls:
        if status == 200 and what in ("grant", "withdraw"):
            at = datetime.fromisoformat(data["decided_at"].replace("Z", "+00:00"))
            assert ConsentEvent.objects.filter(
                consent_id=data["id"], kind=data["status"], at=at
            ).exists(), data
    # nothing half-written: status, history and audit log agree
    consents = Consent.objects.filter(purpose=purpose)
    assert consents.count() == CLIENTS
    for consent in consents:
        assert consent.status == consent.events.order_by("-at", "-id").first().kind
    events = ConsentEvent.objects.filter(consent__purpose=purpose).count()
    audited = AuditEntry.objects.filter(
        event__in=["consent.granted", "consent.withdrawn"], data__purpose=purpose.pk
    ).count()
    assert events == audited
    assert not any(isinstance(step, Break) for step in verify_chain())
