"""Every main page in both languages: screenshotted, checked with axe-core, in the right language.

No worker here: these pages only read. Screenshots: test-artifacts/screenshots/.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from consent import rules as consent_rules
from tests.browser.pages import PHONE, shoot
from tests.factories import (
    PASSWORD,
    add_totp,
    current_code,
    grant,
    make_active_purpose,
    make_person,
)

pytestmark = pytest.mark.django_db(transaction=True)

SERIOUS = {"serious", "critical"}
CJK = re.compile(r"[\u4e00-\u9fff]")
LANG_ATTR = {"en": "en", "zh-hans": "zh-hans"}
AXE = Axe()


def _axe_problems(page) -> list[str]:
    results = AXE.run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def _sign_in(page, base, username, device=None) -> None:
    page.goto(base + "/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    if device is not None:
        page.locator("#id_code").fill(current_code(device))
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(|accounts/two-factor/)$"))


@pytest.fixture
def portal_with_decisions(building_a, resident, admin_a):
    """A resident with one purpose to decide and one consent given; an admin of the building."""
    door = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    sign_in_purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    consent = grant(resident, sign_in_purpose)
    return {
        "door": door,
        "consent": consent,
        "resident_device": add_totp(resident),
        "admin_device": add_totp(admin_a),
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_main_pages_read_well_in_both_languages_and_pass_axe(
    live_server, browser, portal_with_decisions, language
):
    base = live_server.url
    data = portal_with_decisions
    page = browser(language=language)
    problems: list[str] = []
    shots = []

    def visit(name, path=None, phone=False, title_is_data=False):
        if path is not None:
            page.goto(base + path)
        expect(page.locator("html")).to_have_attribute("lang", LANG_ATTR[language])
        if language == "zh-hans":
            heading = page.locator(".notice-text" if title_is_data else "h1").first.inner_text()
            assert CJK.search(heading), f"{name}: not in Chinese: {heading}"
        problems.extend(_axe_problems(page))
        shots.append(shoot(page, f"{language}-desktop-{name}"))
        if phone:
            page.set_viewport_size(PHONE)
            shots.append(shoot(page, f"{language}-phone-{name}"))
            page.set_viewport_size({"width": 1280, "height": 900})

    visit("sign-in", "/accounts/login/", phone=True)
    visit("sign-in-face", "/accounts/login/face/", phone=True)
    page.goto(base + "/accounts/login/")
    page.locator("#id_username").fill("resident")
    page.locator("#id_password").fill("not the password")
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    visit("sign-in-wrong-password")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    visit("sign-in-code", phone=True)
    page.locator("#id_code").fill(current_code(data["resident_device"]))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/")

    visit("home", "/", phone=True)
    visit("my-consents", "/consents/", phone=True)
    visit("my-face", "/face/enrol/", phone=True)
    visit("my-data", "/my-data/", phone=True)
    visit("receipt", f"/consents/{data['consent'].pk}/receipt/")
    visit("notice", f"/consents/notices/{data['door'].current_notice_id}/", title_is_data=True)
    visit("door-code", "/face/door-code/")
    visit("authenticator-done", "/accounts/two-factor/")
    visit("backup-codes", "/accounts/backup-codes/", phone=True)
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))

    make_person("newcomer", None, None)
    _sign_in(page, base, "newcomer")
    visit("authenticator-setup", "/accounts/two-factor/", phone=True)
    page.context.clear_cookies()

    _sign_in(page, base, "admin_a", data["admin_device"])
    visit("admin-purposes", "/manage/purposes/")
    visit("admin-consents", f"/manage/buildings/{data['door'].building_id}/consents/")
    visit("admin-purges", "/face/purges/")
    visit("admin-cards", "/manage/cards/")
    visit("reception", "/reception/", phone=True)
    page.context.clear_cookies()
    visit("kiosk-unpaired", "/kiosk/", phone=True)
    visit("kiosk-pair", "/kiosk/pair/", phone=True)

    assert not page.errors, page.errors
    assert not problems, "\n".join(problems)
    print(f"\n{len(shots)} screenshots in {shots[0].parent}")


def test_language_follows_the_browser_and_can_be_switched(live_server, browser):
    page = browser(language="zh-hans")
    page.goto(live_server.url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_label("语言").select_option("en")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
