"""Ways in without a face, in a real Chromium: passkeys with Chromium's virtual authenticator
(DevTools WebAuthn domain), backup codes, and the door kiosk with its fake camera, keypad and
card field."""

import re

import pytest
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from consent import rules as consent_rules
from portal import backup_codes
from recognition.doors import doorcodes
from recognition.entry import cards
from recognition.models import Attempt
from tests.browser.pages import shoot, start_face_check, tab_to
from tests.factories import PASSWORD, add_totp, current_code

pytestmark = pytest.mark.django_db(transaction=True)


def virtual_authenticator(page) -> tuple:
    """A platform authenticator that holds passkeys and says the user is verified."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _password(page, live_server, username):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_passkey_is_registered_then_signs_in_alone(live_server, browser, resident):
    page = browser()
    cdp, authenticator = virtual_authenticator(page)
    _password(page, live_server, "resident")  # a resident without a second factor yet
    page.goto(live_server.url + "/accounts/two-factor/")
    add = page.get_by_role("button", name="Add a passkey")
    tab_to(page, add)
    page.keyboard.press("Enter")
    expect(page.locator("#passkey-register-status-message")).to_contain_text("successful")
    assert WebAuthnCredential.objects.filter(user=resident, confirmed=True).count() == 1
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(held["credentials"]) == 1 and held["credentials"][0]["isResidentCredential"]
    shoot(page, "passkey-registered")
    _sign_out(page)

    # Passwordless: no username, no password, no code.
    page.goto(live_server.url + "/accounts/login/")
    button = page.get_by_role("button", name="Sign in with a passkey")
    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    assert page.url == live_server.url + "/"
    shoot(page, "passkey-signed-in")
    assert list(
        Attempt.objects.filter(person=resident, channel="sign_in")
        .order_by("id")
        .values_list("method", "result")
    ) == [("password", "match"), ("passkey", "match")]


def test_passkey_registration_speaks_chinese(live_server, browser, resident):
    """The passkey library's own status line comes from our Chinese catalogue."""
    page = browser(language="zh-hans")
    virtual_authenticator(page)
    page.goto(live_server.url + "/accounts/login/")
    page.locator("input[name=username]").fill("resident")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/accounts/two-factor/")
    page.get_by_role("button", name="添加通行密钥").click()
    expect(page.locator("#passkey-register-status-message")).to_have_text("添加成功！")
    assert page.evaluate("gettext('Verification failed. A server error occurred.')") == (
        "验证失败：服务器出错。"
    )
    shoot(page, "passkey-registered-zh-hans")


def test_passkey_as_the_second_step_after_a_password(live_server, browser, staff):
    device = add_totp(staff)
    page = browser()
    _cdp, _authenticator = virtual_authenticator(page)
    _password(page, live_server, "staff")
    page.get_by_label("One-time code").fill(current_code(device))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(live_server.url + "/accounts/two-factor/")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-register-status-message")).to_contain_text("successful")
    _sign_out(page)

    _password(page, live_server, "staff")
    page.wait_for_url(re.compile(r"/accounts/login/code/$"))
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    assert page.evaluate("() => fetch('/api/v1/me/').then(r => r.json())")["second_factor"]


def test_someone_without_the_passkey_cannot_use_it(live_server, browser, resident):
    """A passkey lives on its owner's device: another browser has nothing to offer."""
    page = browser()
    _cdp, _authenticator = virtual_authenticator(page)
    _password(page, live_server, "resident")
    page.goto(live_server.url + "/accounts/two-factor/")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-register-status-message")).to_contain_text("successful")

    stranger = browser()
    virtual_authenticator(stranger)  # an authenticator of their own, without the passkey
    stranger.goto(live_server.url + "/accounts/login/")
    stranger.get_by_role("button", name="Sign in with a passkey").click()
    expect(stranger.locator("#passkey-verification-status-message")).not_to_be_empty()
    assert "Welcome" not in stranger.content()
    assert stranger.evaluate("() => fetch('/api/v1/me/').then(r => r.status)") == 403


def test_backup_codes_are_shown_once_counted_and_sign_in(live_server, browser, resident):
    device = add_totp(resident)
    backup_codes.generate_backup_codes(resident)
    page = browser()
    _password(page, live_server, "resident")
    page.get_by_label("One-time code").fill(current_code(device))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(live_server.url + "/accounts/two-factor/")
    page.get_by_role("link", name="See or renew your backup codes").click()
    expect(page.locator("#backup-left")).to_have_text("You have 10 unused backup codes left.")
    tab_to(page, page.get_by_label("Password", exact=True))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    shown = page.locator("ul.codes code").all_inner_texts()
    assert len(shown) == 10
    shoot(page, "backup-codes")
    page.goto(live_server.url + "/accounts/backup-codes/")
    assert shown[0] not in page.content()  # shown once only
    _sign_out(page)

    _password(page, live_server, "resident")
    page.get_by_label("One-time code").fill(shown[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    page.goto(live_server.url + "/accounts/backup-codes/")
    expect(page.locator("#backup-left")).to_have_text("You have 9 unused backup codes left.")


@pytest.fixture
def door_purpose(building_a):
    from tests.factories import make_active_purpose

    return make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)


@pytest.fixture
def enrolled_resident(celery_worker_process, resident, door_purpose, photos):
    from recognition import tasks
    from recognition.engine import jobs
    from tests.factories import grant

    grant(resident, door_purpose)
    assert jobs.run(tasks.enrol_face, resident.pk, door_purpose.pk, image=photos["a1"])["ok"]
    return resident


# What the kiosk's ways in call; each answer is shown for a few seconds, then cleared.
DOOR_ROUTES = re.compile(r"/api/v1/devices/(code|card|identify/live)/$")


def _door_answers(page, action, text, timeout=20_000) -> dict:
    """Does ``action``, waits for the door's reply to it and checks the kiosk shows ``text``.

    The kiosk clears its answer CLEAR_AFTER_MS after showing it (ready for the next person):
    waiting on the text alone once read an empty answer after a refusal had come and gone,
    and hid the refusal; and "Open" twice in a row was read off the previous answer. The
    reply itself says what the door answered, in the failure message too.
    """
    with page.expect_response(DOOR_ROUTES, timeout=timeout) as reply:
        action()
    body = reply.value.json()
    assert reply.value.status == 200 and body["open"] == (text == "Open"), body
    expect(page.locator("[data-answer]")).to_have_text(text)
    return body


def _pair(page, live_server, admin_client, device):
    response = admin_client.post(f"/manage/devices/{device.pk}/pair/")
    code = re.search(r'id="pairing-code">([A-Z0-9-]+)<', response.content.decode()).group(1)
    page.goto(live_server.url + "/kiosk/")
    page.get_by_role("link", name="Pair this tablet").click()
    tab_to(page, page.get_by_label("Pairing code"))
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.locator("[data-door-name]")).to_have_text(device.name)


@pytest.mark.worker
def test_kiosk_opens_with_face_code_and_card(
    live_server,
    browser,
    sign_in,
    admin_a,
    enrolled_resident,
    door_purpose,
    building_a,
    camera_file,
    photos,
):
    from tests.factories import make_door

    device, _old_key = make_door(building_a, door_purpose, name="Lobby door")
    admin_client = sign_in(admin_a)
    cards.issue_card(enrolled_resident, building_a, "04A22B1C9F31", actor=admin_a)
    page = browser(camera_file=camera_file)
    _pair(page, live_server, admin_client, device)
    assert page.locator('.kiosk input[type="file"]').count() == 0  # no photo instead of a face

    # The face: the live challenge of face sign-in, from the fake camera, with the keyboard.
    def face():
        start_face_check(page, camera_file, [photos["a2"]], keyboard=True)
        expect(page.locator("[data-prompt]")).not_to_be_empty()

    _door_answers(page, face, "Open", timeout=60_000)
    shoot(page, "kiosk-face-open")
    # Ready for the next person: the check can be started again.
    expect(page.get_by_role("button", name="Start the face check")).to_be_visible()

    # A door code on the keypad.
    door_code, code = doorcodes.issue_door_code(enrolled_resident)
    for digit in code:
        page.locator(f'.keypad [data-key="{digit}"]').click()
    keypad_open = page.locator(".keypad").get_by_role("button", name="Open")
    _door_answers(page, keypad_open.click, "Open")

    # A wrong code, typed.
    tab_to(page, page.get_by_label("Door code or one-time code"))
    page.keyboard.type("1234567890")
    _door_answers(page, lambda: page.keyboard.press("Enter"), "Not recognised: use your code")
    shoot(page, "kiosk-refused")

    # The card, then a stranger's card.
    tab_to(page, page.get_by_label("Card number"))
    page.keyboard.type("04:A2:2B:1C:9F:31")
    _door_answers(page, lambda: page.keyboard.press("Enter"), "Open")
    page.get_by_label("Card number").fill("99887766")
    card_open = page.get_by_role("button", name="Open with card")
    _door_answers(page, card_open.click, "Not recognised: use your code")

    logged = list(
        Attempt.objects.filter(device=device).order_by("id").values_list("method", "result")
    )
    assert logged == [
        ("face", "match"),
        ("code", "match"),
        ("code", "no_match"),
        ("card", "match"),
        ("card", "no_match"),
    ]
    assert not page.errors, page.errors


def test_kiosk_in_chinese_and_an_unpaired_tablet(live_server, browser):
    page = browser(language="zh-hans")
    page.goto(live_server.url + "/kiosk/")
    expect(page.get_by_role("link", name="配对这台平板")).to_be_visible()
    page.goto(live_server.url + "/kiosk/pair/")
    page.get_by_label("配对码").fill("AAAA-BBBB")
    page.get_by_role("button", name="配对").click()
    expect(page.get_by_text("此配对码无效")).to_be_visible()
