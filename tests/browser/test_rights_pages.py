"""The rights pages in both languages, in a real Chromium: the public processing rules without
signing in, a person's requests, corrections and account pages, an admin's incidents,
requests and filings; each in the page's language and free of serious axe-core problems."""

import re

import pytest
from playwright.sync_api import expect

from consent import rules as consent_rules
from portal import clock
from recognition.rights import services
from tests.browser.pages import shoot
from tests.browser.test_pages import CJK, LANG_ATTR, _axe_problems, _sign_in
from tests.factories import add_totp, grant, make_active_purpose
from tests.rights.data import INCIDENT_FIELDS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rights_world(building_a, resident, admin_a):
    door = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    grant(resident, door)
    incident = services.record_incident(
        building_a, actor=admin_a, purposes=[door], found_at=clock.now(), **INCIDENT_FIELDS
    )
    services.notify_incident(incident, actor=admin_a)
    request = services.file_request(resident, building=building_a, kind="explanation")
    return {
        "building": building_a,
        "incident": incident,
        "request": request,
        "resident_device": add_totp(resident),
        "admin_device": add_totp(admin_a),
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_rights_pages_read_well_and_pass_axe(live_server, browser, rights_world, language):
    base = live_server.url
    data = rights_world
    page = browser(language=language)
    problems: list[str] = []

    def visit(name, path, heading="h1"):
        page.goto(base + path)
        expect(page.locator("html")).to_have_attribute("lang", LANG_ATTR[language])
        if language == "zh-hans":
            heading = page.locator(heading).first.inner_text()
            assert CJK.search(heading), f"{name}: not in Chinese: {heading}"
        problems.extend(_axe_problems(page))
        shoot(page, f"{language}-desktop-{name}")

    visit("sign-in", "/accounts/login/")
    page.locator("a[href='/rules/']").click()
    page.wait_for_url(re.compile(r"/rules/$"))
    visit("public-rules-index", "/rules/")
    visit("public-rules", f"/rules/{data['building'].pk}/")

    _sign_in(page, base, "resident", data["resident_device"])
    visit("my-requests", "/my-data/requests/")
    visit("my-profile", "/my-data/profile/")
    visit("my-incidents", "/my-data/incidents/")
    visit("delete-account", "/my-data/delete-account/")
    page.context.clear_cookies()

    _sign_in(page, base, "admin_a", data["admin_device"])
    visit("admin-requests", "/manage/requests/")
    visit("admin-request", f"/manage/requests/{data['request'].pk}/")
    visit("admin-incidents", "/manage/incidents/")
    # The incident's title is the admin's own words: the report's heading is the page's.
    visit("admin-incident", f"/manage/incidents/{data['incident'].pk}/", heading="main h1 >> nth=1")
    visit("admin-incident-report", f"/manage/incidents/{data['incident'].pk}/report/")
    visit("admin-filings", "/manage/filings/")
    visit("admin-incident-new", f"/manage/buildings/{data['building'].pk}/incidents/new/")

    assert not page.errors, page.errors
    assert not problems, "\n".join(problems)
