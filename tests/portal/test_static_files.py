"""The production shape as the README starts it: `collectstatic`, then gunicorn with DEBUG
off, serving every page with its stylesheet and scripts (WhiteNoise): hashed names cached for
a year, compressed copies for browsers that take them, nothing from the development server."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver

from portal import rules
from tests.factories import PASSWORD, add_totp, current_code, make_person
from tests.launcher import gunicorn
from tests.paths import ARTIFACTS, REPO

pytestmark = pytest.mark.django_db(transaction=True)

HASHED = re.compile(r"\.[0-9a-f]{12}\.(css|js)$")
# Pages that are not pages: actions, downloads, the API, the Django admin, probes.
NOT_PAGES = ("api", "admin", "i18n", "jsi18n", "metrics", "healthz", "readyz", "logout")
TLS = {"X-Forwarded-Proto": "https"}  # as the proxy in front sends it


class Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.found.add(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.found.add(attrs["href"])
        if tag == "img" and attrs.get("src") and not attrs["src"].startswith("data:"):
            self.found.add(attrs["src"])


def plain_pages(patterns=None, prefix="") -> list[str]:
    """Every URL of the URL conf that takes no argument, outside NOT_PAGES."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += plain_pages(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "<" not in route and "^" not in route:
            if not route.startswith(NOT_PAGES) and not route.endswith((".zip", ".json")):
                found.append("/" + route)
    return sorted(set(found))


class Browser:
    """requests with the cookies a browser would send to the https origin the proxy serves
    (the portal's cookies are Secure; this test speaks plain HTTP to gunicorn behind it)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.origin = "https://" + urlparse(base).netloc  # as the browser sees the site
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**TLS, **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, urljoin(self.base, path), headers=headers, timeout=30, **kwargs
        )
        self.cookies.update(response.cookies.get_dict())
        return response

    def sign_in(self, user, device) -> None:
        self.request("GET", "/accounts/login/")
        form = {"username": user.username, "password": PASSWORD}
        response = self.request(
            "POST",
            "/accounts/login/",
            data={**form, "csrfmiddlewaretoken": self.cookies["csrftoken"]},
            headers={"Referer": self.origin + "/accounts/login/"},
            allow_redirects=False,
        )
        assert response.status_code == 302, response.text[:500]
        response = self.request(
            "POST",
            "/accounts/login/code/",
            data={"code": current_code(device), "csrfmiddlewaretoken": self.cookies["csrftoken"]},
            headers={"Referer": self.origin + "/accounts/login/code/"},
            allow_redirects=False,
        )
        assert response.status_code == 302, response.text[:500]


@pytest.fixture(scope="module")
def production_portal(django_db_setup, django_db_blocker, tmp_path_factory):
    """collectstatic, then gunicorn on portal.settings with DEBUG off, as the README says."""
    from django.conf import settings
    from django.db import connection

    with django_db_blocker.unblock():
        db = connection.settings_dict
    tmp_path = tmp_path_factory.mktemp("production")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="false",
        DATABASE_URL=(
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        REDIS_URL=settings.REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        FACE_ENCRYPTION_KEYS=",".join(settings.FACE_ENCRYPTION_KEYS),
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_TLS_PROXY="true",
        SECURE_SSL_REDIRECT="true",
        PORTAL_VAR_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "gunicorn-static.log"
    with gunicorn(
        env, log_path, "--workers", "2", "--timeout", "30", ready_path="/healthz", headers=TLS
    ) as base:
        yield base


def _check_asset(browser: Browser, url: str) -> None:
    path = urlparse(url).path
    assert not urlparse(url).netloc, f"{url}: served from elsewhere"
    if not path.startswith("/static/"):  # the JavaScript catalogue is a view
        assert browser.request("GET", path).status_code == 200, path
        return
    response = browser.request("GET", path, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert response.status_code == 200, path
    if path.endswith((".css", ".js")):
        assert HASHED.search(path), f"{path}: not a hashed name"
        assert response.headers.get("Content-Encoding") == "gzip", path
        assert "immutable" in response.headers["Cache-Control"], path
        assert "max-age=315360000" in response.headers["Cache-Control"], path
    response.close()


def test_every_page_is_served_with_its_static_files_by_gunicorn(
    production_portal, building_a, admin_a, settings
):
    resident = make_person("static-resident", building_a, rules.RESIDENT)
    # The production settings know Django's default hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    devices = {}
    for person in (resident, admin_a):
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
        devices[person.pk] = add_totp(person)
    visitors = {"anonymous": Browser(production_portal)}
    for person in (resident, admin_a):
        visitors[person.username] = Browser(production_portal)
        visitors[person.username].sign_in(person, devices[person.pk])
    pages = plain_pages()
    assert "/face/enrol/" in pages and "/accounts/login/face/" in pages
    seen_assets: set[str] = set()
    served = 0
    for name, browser in visitors.items():
        for page in pages:
            response = browser.request("GET", page, allow_redirects=False)
            assert response.status_code in (200, 302, 403, 404, 405), (name, page)
            if response.status_code != 200 or "text/html" not in response.headers["Content-Type"]:
                continue
            served += 1
            parser = Assets()
            parser.feed(response.text)
            assert parser.found, f"{page} ({name}) links no static file"
            for url in parser.found - seen_assets:
                _check_asset(browser, url)
            seen_assets |= parser.found
    assert served >= 10
    # The camera script (the live face check) and the stylesheet the issue found missing, by
    # their hashed names.
    assert any(re.search(r"/static/js/liveness\.[0-9a-f]{12}\.js$", a) for a in seen_assets)
    assert any(re.search(r"/static/css/portal\.[0-9a-f]{12}\.css$", a) for a in seen_assets)


def test_a_static_file_that_does_not_exist_is_a_404(production_portal):
    browser = Browser(production_portal)
    assert browser.request("GET", "/static/js/nothing.js").status_code == 404
    assert browser.request("GET", "/static/../portal/settings.py").status_code in (400, 404)


def test_plain_http_is_redirected_but_probes_are_not(production_portal):
    """Behind the TLS proxy: a page asked over plain HTTP goes to https; a health probe from
    inside the network is answered where it is."""
    page = requests.get(production_portal + "/accounts/login/", allow_redirects=False, timeout=10)
    assert page.status_code == 301 and page.headers["Location"].startswith("https://")
    probe = requests.get(production_portal + "/healthz", allow_redirects=False, timeout=10)
    assert probe.status_code == 200
