"""Presentation attacks in a real Chromium with the fake camera: a bona-fide challenge
sequence signs in; a static loop, an upload, a replay and a wrong-order burst are refused
and the code route is offered beside the message."""

import re
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from recognition.engine import liveness
from recognition.models import Attempt
from tests.browser.pages import shoot, start_face_check, trust_page

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CODE_ROUTE = "Sign in with password and code instead"


def _open_sign_in(browser, live_server, camera_file, person):
    page = browser(camera_file=camera_file)
    trust_page(page, live_server, person)
    page.goto(live_server.url + "/accounts/login/face/")
    page.get_by_label("Username", exact=True).fill("staff")
    return page


def _refused_with_code_route(page, code, name):
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(str(liveness.message(code)), timeout=45_000)
    shoot(page, f"en-desktop-sign-in-face-{name}")
    expect(alert.get_by_role("link", name=CODE_ROUTE)).to_be_visible()
    alert.get_by_role("link", name=CODE_ROUTE).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def _other_order(asked):
    flipped = [liveness.RIGHT if step == liveness.LEFT else liveness.LEFT for step in asked]
    return list(reversed(asked)) if list(reversed(asked)) != asked else flipped


def test_a_bona_fide_sequence_signs_in_and_a_replay_of_it_is_refused(
    live_server, browser, enrolled_staff, camera_file, photos
):
    page = _open_sign_in(browser, live_server, camera_file, enrolled_staff)
    sent = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data) if "frame=" in (r.post_data or "") else None,
    )
    start_face_check(page, camera_file, [photos["a2"]])
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible(timeout=45_000)
    assert Attempt.objects.filter(person=enrolled_staff).latest("id").result == Attempt.MATCH
    assert len(sent) == 1
    recorded = parse_qs(sent[0])
    assert 7 <= len(recorded["frame"]) <= liveness.MAX_FRAMES

    # Someone who captured that burst replays it from their own browser, whose session asked
    # for a challenge of its own: the old nonce answers nothing.
    attacker = _open_sign_in(browser, live_server, camera_file, enrolled_staff)
    attacker.get_by_role("button", name="Start the face check").click()
    attacker.locator("[data-steps] li").first.wait_for()
    attacker.evaluate(
        """([nonce, frames]) => {
          const form = document.querySelector("[data-face-form]");
          form.querySelector('input[name="nonce"]').value = nonce;
          for (const frame of frames) {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = "frame"; input.value = frame;
            form.appendChild(input);
          }
          form.submit();
        }""",
        [recorded["nonce"][0], recorded["frame"]],
    )
    _refused_with_code_route(attacker, liveness.NO_CHALLENGE, "replay-refused")
    latest = Attempt.objects.filter(channel=Attempt.SIGN_IN).latest("id")
    assert latest.result == Attempt.REJECTED and latest.detail == liveness.NO_CHALLENGE


def test_a_camera_showing_a_static_picture_is_refused(
    live_server, browser, enrolled_staff, camera_file, photos
):
    page = _open_sign_in(browser, live_server, camera_file, enrolled_staff)
    start_face_check(page, camera_file, [photos["a2"]], steps=lambda asked: [])
    _refused_with_code_route(page, liveness.NO_MOVEMENT, "static-refused")


def test_turns_in_the_wrong_order_are_refused(
    live_server, browser, enrolled_staff, camera_file, photos
):
    page = _open_sign_in(browser, live_server, camera_file, enrolled_staff)
    start_face_check(page, camera_file, [photos["a2"]], steps=_other_order)
    _refused_with_code_route(page, liveness.WRONG_ORDER, "wrong-order-refused")


def test_an_uploaded_photo_is_refused(live_server, browser, enrolled_staff, camera_file, photos):
    page = _open_sign_in(browser, live_server, camera_file, enrolled_staff)
    assert page.locator('input[type="file"]').count() == 0
    # The page offers no file input; an attacker adds one and sends a photo with the form.
    page.evaluate(
        """(bytes) => {
          const form = document.querySelector("[data-face-form]");
          form.enctype = "multipart/form-data";
          const input = document.createElement("input");
          input.type = "file"; input.name = "photo";
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], "me.jpg", {type: "image/jpeg"}));
          input.files = transfer.files;
          form.appendChild(input);
          form.submit();
        }""",
        list(photos["a2"]),
    )
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("never from a photo file", timeout=30_000)
    shoot(page, "en-desktop-sign-in-face-upload-refused")
    expect(alert.get_by_role("link", name=CODE_ROUTE)).to_be_visible()
    assert not Attempt.objects.filter(method=Attempt.FACE, channel=Attempt.SIGN_IN).exists()
