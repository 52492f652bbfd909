"""The embedded default that `make run` starts: SQLite, tasks in-process, demo data.

Runs the same commands as `make run` in a process of its own, without DATABASE_URL or
REDIS_URL, then uses the portal over HTTP as a resident would: password and one-time code,
a consent given and withdrawn. The production code paths run here, not a twin of them.
"""

import base64
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django_otp.oath import totp

REPO = Path(__file__).resolve().parents[2]
CREDENTIALS = re.compile(
    r"(?P<role>\w+)\s+username: (?P<username>\S+)\s+password: (?P<password>\S+)\s+"
    r"authenticator key: (?P<key>[A-Z2-7=]+)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """`make run`'s steps in a fresh var/ folder; yields (base URL, demo credentials)."""
    var = tmp_path_factory.mktemp("embedded-var")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    env.update(DEBUG="true", PORTAL_VAR_DIR=str(var), PYTHONUNBUFFERED="1")
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput"],):
        subprocess.run([*manage, *step], cwd=REPO, env=env, check=True, capture_output=True)
    demo = subprocess.run(
        [*manage, "load_demo"], cwd=REPO, env=env, check=True, capture_output=True, text=True
    )
    people = {m["role"].lower(): m.groupdict() for m in CREDENTIALS.finditer(demo.stdout)}
    assert people, demo.stdout
    port = _free_port()
    log = open(var / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2)  # noqa: S310 (loopback)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError((var / "server.log").read_text()) from None
            time.sleep(0.3)
    yield base, people, var
    server.terminate()
    server.wait(timeout=20)
    log.close()


class Browser:
    """A cookie-keeping HTTP client that posts forms with their CSRF token, like a browser."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def post(self, path: str, fields: dict, form_page: str | None = None) -> tuple[str, str]:
        _, page = self.get(form_page or path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
        request = urllib.request.Request(  # noqa: S310 (our own loopback server)
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=60) as response:
            return response.geturl(), response.read().decode()


def _code(key: str) -> str:
    return str(totp(base64.b32decode(key))).zfill(6)


def test_make_run_serves_a_working_portal_on_sqlite_with_tasks_in_process(embedded):
    base, people, var = embedded
    assert (var / "portal.sqlite3").exists()
    resident = people["resident"]
    browser = Browser(base)

    url, page = browser.post(
        "/accounts/login/", {"username": resident["username"], "password": resident["password"]}
    )
    assert url.endswith("/accounts/login/code/"), url
    url, page = browser.post("/accounts/login/code/", {"code": _code(resident["key"])})
    assert "/accounts/login" not in url, page[:500]

    _, page = browser.get("/consents/")
    decide = re.search(
        r'action="(/consents/purposes/\d+/decide/)"[\s\S]*?name="notice_hash" value="(\w+)"', page
    )
    assert decide, "My consents offers no decision"
    grant = {"action": "grant", "agree": "on", "notice_hash": decide.group(2)}
    url, page = browser.post(decide.group(1), grant, "/consents/")
    assert "Consent given" in page, page[:800]

    url, page = browser.post(decide.group(1), {"action": "withdraw"}, "/consents/")
    assert "Consent withdrawn" in page, page[:800]
    _, data = browser.get("/my-data/")
    assert "consent.withdrawn" in data or "withdrawn" in data.lower()


def test_a_wrong_code_changes_nothing_in_the_embedded_default(embedded):
    base, people, _ = embedded
    resident = people["resident"]
    browser = Browser(base)
    browser.post(
        "/accounts/login/", {"username": resident["username"], "password": resident["password"]}
    )
    wrong = str((int(_code(resident["key"])) + 1) % 1_000_000).zfill(6)
    url, page = browser.post("/accounts/login/code/", {"code": wrong})
    assert url.endswith("/accounts/login/code/")
    assert "not correct" in page or "not accepted" in page or "wait" in page
    url, _ = browser.get("/consents/")
    assert "/accounts/login" in url
