"""The main journeys in a real Chromium, with a fake camera, the real worker and the real model."""

import re

import pytest
from playwright.sync_api import expect

from consent import rules as consent_rules
from consent.models import Consent
from recognition.models import Attempt, FaceTemplate
from tests.browser.pages import shoot, start_face_check, tab_to, trust_page
from tests.factories import PASSWORD, add_totp, current_code, make_active_purpose

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _face_posts(page) -> list:
    """Every request from the page that carries camera frames or a file (the form's posts)."""
    sent = []

    def _seen(request):
        body = request.post_data or ""
        multipart = "multipart/form-data" in request.headers.get("content-type", "")
        if request.method == "POST" and (multipart or "frame=" in body):
            sent.append(request.url)

    page.on("request", _seen)
    return sent


def _watch_progress(page) -> None:
    """Notes (surviving the navigation) whether the progress bar was shown while checking."""
    page.evaluate(
        """() => {
          const box = document.querySelector("[data-progress]");
          new MutationObserver(() => {
            if (!box.hidden && box.querySelector("progress")) {
              sessionStorage.setItem("progress", "shown");
            }
          }).observe(box, { attributes: true });
        }"""
    )


@pytest.fixture
def door_purpose(building_a):
    return make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)


def test_resident_grants_enrols_sees_and_withdraws_with_the_keyboard_only(
    celery_worker_process, live_server, browser, resident, door_purpose, camera_file, photos
):
    device = add_totp(resident)
    page = browser(camera_file=camera_file)
    face_posts = _face_posts(page)
    keys = page.keyboard

    page.goto(live_server.url + "/consents/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    tab_to(page, page.get_by_label("Username", exact=True))
    keys.type("resident")
    tab_to(page, page.get_by_label("Password", exact=True))
    keys.type(PASSWORD)
    keys.press("Enter")

    expect(page.get_by_role("heading", name="Enter your one-time code")).to_be_visible()
    tab_to(page, page.get_by_label("One-time code"))
    keys.type(current_code(device))
    keys.press("Enter")

    # Straight back to where the person was going: the notice, then the unticked box.
    expect(page.get_by_role("heading", name="My consents", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Read the notice before deciding")).to_be_visible()
    box = page.get_by_role("checkbox", name=re.compile("I have read notice"))
    expect(box).not_to_be_checked()
    notice_top = page.locator(".notice-text").first.bounding_box()["y"]
    assert notice_top < box.bounding_box()["y"]
    tab_to(page, box)
    keys.press("Space")
    expect(box).to_be_checked()
    # The separate consent to face data leaving the device: its own box, unticked.
    storage_box = page.get_by_role("checkbox", name=re.compile("Separately, I agree"))
    expect(storage_box).not_to_be_checked()
    tab_to(page, storage_box)
    keys.press("Space")
    expect(storage_box).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Give consent"))
    keys.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Consent given")).to_be_visible()
    shoot(page, "en-desktop-journey-1-consent-given", full_page=False)
    assert Consent.objects.active_for(resident, door_purpose) is not None

    tab_to(page, page.get_by_role("link", name="Next: enrol your face"))
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Enrol your face")).to_be_visible()
    start_face_check(page, camera_file, [photos["a1"]], keyboard=True)
    expect(page.get_by_text("Your face is enrolled.")).to_be_visible(timeout=45_000)
    shoot(page, "en-desktop-journey-2-face-enrolled")
    assert FaceTemplate.objects.filter(person=resident, purpose=door_purpose).count() == 1
    assert len(face_posts) == 1

    tab_to(page, page.get_by_role("link", name="My data"))
    keys.press("Enter")
    faces = page.locator("#data-face_templates")
    expect(faces).to_contain_text(door_purpose.name)
    faces.scroll_into_view_if_needed()
    shoot(page, "en-desktop-journey-3-my-data-with-face", full_page=False)

    tab_to(page, page.get_by_role("link", name="My consents"))
    keys.press("Enter")
    tab_to(page, page.get_by_role("button", name="Withdraw consent", exact=True))
    keys.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Consent withdrawn")).to_be_visible()
    shoot(page, "en-desktop-journey-4-withdrawn", full_page=False)
    assert not FaceTemplate.objects.filter(person=resident).exists()

    tab_to(page, page.get_by_role("link", name="My data"))
    keys.press("Enter")
    expect(faces).not_to_contain_text(door_purpose.name)
    expect(faces.locator("tbody tr")).to_have_count(0)
    assert not page.errors, page.errors


def test_staff_signs_in_with_the_face_from_the_camera(
    live_server, browser, enrolled_staff, camera_file, photos
):
    page = browser(camera_file=camera_file)
    trust_page(page, live_server, enrolled_staff)
    face_posts = _face_posts(page)
    keys = page.keyboard
    page.goto(live_server.url + "/accounts/login/")
    tab_to(page, page.get_by_role("link", name="Continue with face"))
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/login/face/$"))
    tab_to(page, page.get_by_label("Username", exact=True))
    keys.type("staff")
    _watch_progress(page)
    start_face_check(page, camera_file, [photos["a2"]], keyboard=True)
    page.wait_for_function("() => document.querySelector('video').videoWidth > 0")
    expect(page.locator("[data-prompt]")).not_to_be_empty()
    shoot(page, "en-desktop-login-face-camera-on")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible(timeout=45_000)
    assert len(face_posts) == 1
    assert page.evaluate("() => sessionStorage.getItem('progress')") == "shown"
    attempt = Attempt.objects.filter(person=enrolled_staff).latest("id")
    assert attempt.result == Attempt.MATCH
    assert not page.errors, page.errors


def test_staff_signs_in_with_password_and_code(live_server, browser, staff):
    device = add_totp(staff)
    page = browser()
    keys = page.keyboard
    page.goto(live_server.url + "/accounts/login/")
    tab_to(page, page.get_by_label("Username", exact=True))
    keys.type("staff")
    tab_to(page, page.get_by_label("Password", exact=True))
    keys.type(PASSWORD)
    tab_to(page, page.get_by_role("button", name="Continue"))
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/login/code/$"))
    tab_to(page, page.get_by_label("One-time code"))
    keys.type(current_code(device))
    keys.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


WORDS = {
    "en": {
        "username": "Username",
        "password": "Password",
        "refused": "Your face was not recognised",
        "code_route": "Sign in with password and code instead",
    },
    "zh-hans": {
        "username": "用户名",
        "password": "密码",
        "refused": "未能识别您的人脸",
        "code_route": "改用密码和验证码登录",
    },
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_another_persons_face_is_refused_and_the_code_route_offered(
    live_server, browser, staff_enrolled_as_b, language, camera_file, photos
):
    enrolled_staff = staff_enrolled_as_b
    words = WORDS[language]
    page = browser(camera_file=camera_file, language=language)
    trust_page(page, live_server, enrolled_staff)
    page.goto(live_server.url + "/accounts/login/face/")
    page.get_by_label(words["username"], exact=True).fill("staff")
    start_face_check(page, camera_file, [photos["a2"]])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(words["refused"], timeout=45_000)
    shoot(page, f"{language}-desktop-sign-in-face-refused")
    assert page.locator('input[name="frame"]').count() == 0  # not kept
    alert.get_by_role("link", name=words["code_route"]).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_label(words["password"], exact=True)).to_be_visible()
    assert Attempt.objects.filter(person=enrolled_staff).latest("id").result == Attempt.NO_MATCH


def test_without_javascript_face_sign_in_points_to_the_code_route(
    live_server, browser, enrolled_staff
):
    page = browser(javascript=False)
    trust_page(page, live_server, enrolled_staff)
    page.goto(live_server.url + "/accounts/login/face/")
    expect(page.get_by_text("The face check needs JavaScript and a camera")).to_be_visible()
    assert page.locator('input[type="file"]').count() == 0
    page.get_by_label("Username", exact=True).fill("staff")
    page.get_by_role("button", name="Sign in with face").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("never from a photo file")
    expect(alert.get_by_role("link", name="Sign in with password and code instead")).to_be_visible()


def test_a_camera_without_a_face_says_what_to_do(
    live_server, browser, enrolled_staff, photos, camera_file
):
    page = browser(camera_file=camera_file)
    trust_page(page, live_server, enrolled_staff)
    page.goto(live_server.url + "/accounts/login/face/")
    page.get_by_label("Username", exact=True).fill("staff")
    start_face_check(page, camera_file, [photos["none"]], steps=lambda asked: [])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Face the camera in good light", timeout=45_000)
    expect(alert.get_by_role("link", name="Sign in with password and code instead")).to_be_visible()


def test_face_sign_in_unavailable_says_to_use_the_code(
    live_server, browser, staff, settings, camera_file, photos
):
    settings.FACE_VERIFY_DEADLINE = 0.01  # no answer in time, as when the face service is down
    page = browser(camera_file=camera_file)
    trust_page(page, live_server, staff)
    page.goto(live_server.url + "/accounts/login/face/")
    page.get_by_label("Username", exact=True).fill("staff")
    start_face_check(page, camera_file, [photos["a1"]])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Face recognition is unavailable right now", timeout=45_000)
    expect(alert).to_contain_text("use your password and one-time code")
    shoot(page, "en-desktop-sign-in-face-unavailable")
    alert.get_by_role("link", name="Sign in with password and code instead").click()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
