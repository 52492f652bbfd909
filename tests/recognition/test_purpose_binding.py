"""Face data stays within its purpose (PIPL art. 28, Measures art. 4 and 8), end to end with a
real worker, the real model and real photos.

A door template never signs anyone in to the portal; a sign-in template never opens a door; a
door serves only door-access purposes of its own building; face sign-in uses a template only in
a role its purpose is for; without the separate consent to face data leaving the device the
portal keeps none, and withdrawing that consent alone stops the door at once.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from consent import rules as consent_rules
from consent import services as consent_services
from recognition import tasks
from recognition.doors import devices
from recognition.engine import jobs
from recognition.models import Attempt, Device, FaceTemplate
from tests.factories import device_headers, grant, make_active_purpose, make_door
from tests.liveness_frames import SIGN_IN, live_post

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NOT_RECOGNISED = "Your face was not recognised"


def _upload(photo: bytes):
    return SimpleUploadedFile("probe.jpg", photo, content_type="image/jpeg")


def _enrol(person, purpose, photo, storage_consent=True):
    grant(person, purpose, storage_consent=storage_consent)
    return jobs.run(tasks.enrol_face, person.pk, purpose.pk, image=photo)


def _face_sign_in(client, username, photo):
    """From a live camera answering a fresh challenge, as the page does."""
    return live_post(client, SIGN_IN, {"username": username}, [photo])


def _identify(client, key, photo):
    return client.post(
        "/api/v1/devices/identify/", {"photo": _upload(photo)}, **device_headers(key)
    )


def _verify(client, key, person, photo):
    data = {"person": person.pk, "photo": _upload(photo)}
    return client.post("/api/v1/devices/verify/", data, **device_headers(key))


@pytest.fixture
def card_door(building_a):
    """A door-access purpose checked 1:1 (the card names the person), and its door."""
    purpose = make_active_purpose(
        building_a,
        demo=consent_rules.VERIFICATION,
        kind=consent_rules.KIND_DOOR,
        name="Lobby door by card and face",
    )
    device, key = make_door(building_a, purpose)
    return purpose, device, key


def _trust_this_browser(client, sign_in, person):
    """Face sign-in is offered only in a browser that signed in with password and code."""
    sign_in(person)
    client.post("/accounts/logout/")


def test_a_door_template_opens_its_door_but_never_signs_in(
    client, sign_in, celery_worker_process, staff, card_door, photos
):
    purpose, _device, key = card_door
    assert _enrol(staff, purpose, photos["a1"])["ok"]
    _trust_this_browser(client, sign_in, staff)
    # The same face, the same template: the door opens (so the photos do match) ...
    assert _verify(client, key, staff, photos["a2"]).json()["open"] is True
    # ... and the portal does not let it in.
    page = _face_sign_in(client, "staff", photos["a2"]).content.decode()
    assert NOT_RECOGNISED in page
    assert client.get("/api/v1/me/").status_code == 403
    attempt = Attempt.objects.filter(channel=Attempt.SIGN_IN).latest("id")
    assert attempt.result == Attempt.NO_MATCH and attempt.purpose is None


def test_a_sign_in_purpose_is_never_bound_to_a_door(building_a, sign_in_purpose):
    from recognition.models import Location

    location = Location.objects.create(building=building_a, name="Hall", kind="entrance")
    with pytest.raises(devices.DeviceRefused) as refused:
        devices.register_device(location, "Front door", sign_in_purpose, actor=None)
    assert refused.value.code == "wrong_kind"
    assert not Device.objects.exists()


def test_the_device_page_neither_offers_nor_accepts_a_sign_in_purpose(
    client, sign_in, admin_a, building_a, sign_in_purpose, door_purpose
):
    from recognition.models import Location

    location = Location.objects.create(building=building_a, name="Hall", kind="entrance")
    sign_in(admin_a)
    form = client.get("/manage/devices/new/").content.decode()
    offered = form.split('name="purpose"')[1].split("</select>")[0]
    assert door_purpose.name in offered and sign_in_purpose.name not in offered
    response = client.post(
        "/manage/devices/new/",
        {"location": location.pk, "name": "Door", "purpose": sign_in_purpose.pk},
    )
    assert response.status_code == 200
    assert not Device.objects.exists()


def test_a_door_bound_to_a_sign_in_purpose_before_the_rule_uses_no_face(
    client, celery_worker_process, staff, sign_in_purpose, building_a, photos
):
    """A binding made before purposes had kinds (or written around the services) is refused
    at the device API: the sign-in template opens nothing."""
    device, key = make_door(building_a)
    Device.objects.filter(pk=device.pk).update(purpose=sign_in_purpose)
    assert _enrol(staff, sign_in_purpose, photos["a1"])["ok"]
    me = client.get("/api/v1/devices/me/", **device_headers(key)).json()
    assert me["identify"] is False and me["verify"] is False and me["code"] is True
    assert me["purpose"]["kind"] == consent_rules.KIND_SIGN_IN
    for response in (
        _verify(client, key, staff, photos["a2"]),
        _identify(client, key, photos["a2"]),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "face_not_offered"
    assert not Attempt.objects.filter(channel=Attempt.DOOR, result=Attempt.MATCH).exists()


def test_face_sign_in_only_in_a_role_the_purpose_is_for(
    client, sign_in, celery_worker_process, resident, building_a, photos
):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    assert purpose.audience == consent_rules.AUDIENCE_BOTH
    assert _enrol(resident, purpose, photos["a1"])["ok"]
    _trust_this_browser(client, sign_in, resident)
    assert _face_sign_in(client, "resident", photos["a2"]).status_code == 302
    client.post("/accounts/logout/")
    purpose.refresh_from_db()
    consent_services.publish_notice(
        purpose,
        actor=None,
        texts=purpose.current_notice.texts,
        data_collected=purpose.current_notice.data_collected,
        changes={"audience": consent_rules.AUDIENCE_STAFF},
    )
    assert FaceTemplate.objects.filter(person=resident).exists()  # consent still stands
    page = _face_sign_in(client, "resident", photos["a2"]).content.decode()
    assert NOT_RECOGNISED in page


def test_without_the_separate_consent_nothing_is_enrolled(
    client, celery_worker_process, resident, door_purpose, photos
):
    answer = _enrol(resident, door_purpose, photos["a1"], storage_consent=False)
    assert answer["ok"] is False and answer["code"] == "no_storage_consent"
    assert not FaceTemplate.objects.exists()


def test_withdrawing_only_the_separate_consent_stops_the_door_at_once(
    client, celery_worker_process, front_door, door_purpose, resident, photos
):
    _device, key = front_door
    assert _enrol(resident, door_purpose, photos["a1"])["ok"]
    assert _identify(client, key, photos["a2"]).json()["person_id"] == resident.pk
    consent_services.withdraw_storage_consent(resident, door_purpose, actor=resident)
    assert not FaceTemplate.objects.filter(person=resident).exists()
    body = _identify(client, key, photos["a2"]).json()
    assert body["open"] is False and body["person_id"] is None


def test_a_device_only_purpose_sends_no_face_to_the_portal(client, building_a):
    purpose = make_active_purpose(
        building_a, demo=consent_rules.IDENTIFICATION, storage=consent_rules.STORAGE_DEVICE
    )
    _device, key = make_door(building_a, purpose)
    me = client.get("/api/v1/devices/me/", **device_headers(key)).json()
    assert me["identify"] is False and me["verify"] is False and me["code"] is True
