"""Presentation attacks on face sign-in, through the page, the real worker and the real model.

Each attack is what someone who is not the person could send: an uploaded photo, a still, a
camera filming a picture, a replayed burst, turns in the wrong order, two people. Each is
refused with a clear message and the code route beside it, and signs nobody in.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import SealedTOTPDevice
from recognition.engine import liveness
from recognition.models import Attempt, FaceTemplate
from tests.factories import current_code, grant, trust_browser
from tests.liveness_frames import ENROL, SIGN_IN, burst, data_urls, live_post, still

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CODE_ROUTE = 'href="/accounts/login/"'


def _refused(client, response, code):
    page = response.content.decode()
    assert response.status_code == 200
    assert str(liveness.message(code)) in page.replace("&#x27;", "'")
    assert CODE_ROUTE in page
    assert client.get("/api/v1/me/").status_code == 403


def _other(steps):
    """Another sequence of the same turns: the wrong order."""
    flipped = [liveness.RIGHT if step == liveness.LEFT else liveness.LEFT for step in steps]
    return list(reversed(steps)) if list(reversed(steps)) != list(steps) else flipped


def test_a_bona_fide_burst_signs_in_and_logs_the_match(client, enrolled_staff, photos):
    response = live_post(client, SIGN_IN, {"username": "staff"}, [photos["a2"]])
    assert response.status_code == 302, response.content.decode()
    assert client.get("/api/v1/me/").json()["username"] == "staff"
    attempt = Attempt.objects.filter(person=enrolled_staff, channel=Attempt.SIGN_IN).latest("id")
    assert attempt.result == Attempt.MATCH


def test_an_uploaded_photo_is_refused(client, enrolled_staff, photos):
    client.post(SIGN_IN[0])
    upload = SimpleUploadedFile("probe.jpg", photos["a2"], content_type="image/jpeg")
    response = client.post(SIGN_IN[1], {"username": "staff", "photo": upload})
    page = response.content.decode()
    assert "never from a photo file" in page and CODE_ROUTE in page
    assert client.get("/api/v1/me/").status_code == 403


def test_a_still_photo_as_every_frame_is_refused(client, enrolled_staff, photos):
    response = live_post(
        client,
        SIGN_IN,
        {"username": "staff"},
        [],
        make=lambda s: still(photos["a2"], 12, noise=False),
    )
    _refused(client, response, liveness.NO_MOVEMENT)
    attempt = Attempt.objects.filter(person=enrolled_staff, channel=Attempt.SIGN_IN).latest("id")
    assert attempt.result == Attempt.REJECTED and attempt.detail == liveness.NO_MOVEMENT


def test_a_camera_filming_a_static_picture_is_refused(client, enrolled_staff, photos):
    response = live_post(
        client,
        SIGN_IN,
        {"username": "staff"},
        [],
        make=lambda s: still(photos["a2"], 16, noise=True),
    )
    _refused(client, response, liveness.NO_MOVEMENT)


def test_turns_in_the_wrong_order_are_refused(client, enrolled_staff, photos):
    response = live_post(
        client,
        SIGN_IN,
        {"username": "staff"},
        [],
        make=lambda steps: burst([photos["a2"]], _other(steps)),
    )
    _refused(client, response, liveness.WRONG_ORDER)


def test_a_burst_mixing_two_people_is_refused(client, enrolled_staff, photos):
    response = live_post(
        client,
        SIGN_IN,
        {"username": "staff"},
        [],
        make=lambda steps: burst([photos["b1"], photos["a2"]], steps),
    )
    _refused(client, response, liveness.TWO_PEOPLE)


def test_a_replayed_burst_is_refused_in_the_same_session_and_in_another(
    client, enrolled_staff, photos, django_user_model
):
    from django.test import Client

    issued = client.post(SIGN_IN[0]).json()
    frames = data_urls(burst([photos["a2"]], [step["pose"] for step in issued["steps"]]))
    sent = {"username": "staff", "nonce": issued["nonce"], "frame": frames}
    assert client.post(SIGN_IN[1], sent).status_code == 302
    client.post("/accounts/logout/")
    # The same burst again, in the same browser: its challenge was used up.
    _refused(client, client.post(SIGN_IN[1], sent), liveness.NO_CHALLENGE)
    # ... and in an attacker's browser that asked for a challenge of its own.
    attacker = Client()
    trust_browser(attacker, enrolled_staff)  # even with a trusted browser of the person's
    attacker.post(SIGN_IN[0])
    _refused(attacker, attacker.post(SIGN_IN[1], sent), liveness.NO_CHALLENGE)


def test_a_burst_after_the_challenge_expired_is_refused(
    client, enrolled_staff, photos, moved_clock
):
    def late(steps):
        moved_clock.advance(seconds=liveness.DEFAULT_TTL_SECONDS + 1)
        return burst([photos["a2"]], steps)

    response = live_post(client, SIGN_IN, {"username": "staff"}, [], make=late)
    _refused(client, response, liveness.EXPIRED)


def test_an_enrolment_challenge_does_not_answer_sign_in(client, enrolled_staff, photos):
    client.force_login(enrolled_staff)
    issued = client.post(ENROL[0]).json()
    frames = data_urls(burst([photos["a2"]], [step["pose"] for step in issued["steps"]]))
    client.post("/accounts/logout/")
    response = client.post(
        SIGN_IN[1], {"username": "staff", "nonce": issued["nonce"], "frame": frames}
    )
    _refused(client, response, liveness.NO_CHALLENGE)


def test_a_challenge_is_issued_only_by_post(client, db):
    assert client.get(SIGN_IN[0]).status_code == 405


def test_an_admin_signed_in_by_face_enters_their_second_factor(
    celery_worker_process, client, sign_in, admin_a, sign_in_purpose, photos
):
    grant(admin_a, sign_in_purpose)
    sign_in(admin_a)
    live_post(client, ENROL, {"purpose": sign_in_purpose.pk}, [photos["a1"]])
    assert FaceTemplate.objects.filter(person=admin_a).exists()
    client.post("/accounts/logout/")
    device = SealedTOTPDevice.objects.get(user=admin_a, confirmed=True)
    response = live_post(client, SIGN_IN, {"username": admin_a.username}, [photos["a2"]])
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert client.get("/api/v1/me/").status_code == 403  # not signed in before the code
    page = client.get("/accounts/login/code/")
    assert page.status_code == 200
    response = client.post("/accounts/login/code/", {"code": current_code(device, 1)})
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == admin_a.username
    home = client.get("/manage/dashboard/")
    assert home.status_code == 200
    assert "Your authenticator is set up" not in home.content.decode()


def test_an_admin_without_an_authenticator_is_sent_to_set_one_up(
    celery_worker_process, client, admin_a, sign_in_purpose, photos
):
    from recognition.engine import get_engine
    from recognition.lifecycle import services

    grant(admin_a, sign_in_purpose)
    services.enrol_face(admin_a.pk, sign_in_purpose.pk, photos["a1"], get_engine())
    trust_browser(client, admin_a)  # face is offered only in a trusted browser
    response = live_post(client, SIGN_IN, {"username": admin_a.username}, [photos["a2"]])
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/"
