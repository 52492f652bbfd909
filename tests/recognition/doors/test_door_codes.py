"""The code route at the door: door codes (hashed, single use, minutes long) and one-time codes,
open at every device, throttled per device and per person under scopes of their own."""

import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from portal import clock, throttle
from portal.models import Membership
from recognition.doors import door, doorcodes
from recognition.models import Attempt, DoorCode
from tests.factories import add_totp, current_code, device_headers, make_door, make_person

pytestmark = pytest.mark.django_db

CODE = "/api/v1/devices/code/"


def _open(client, key, code, person=None):
    data = {"code": code} if person is None else {"code": code, "person": person.pk}
    return client.post(CODE, data, content_type="application/json", **device_headers(key))


def test_a_door_code_is_ten_digits_kept_only_as_a_keyed_hash(resident):
    stored, code = doorcodes.issue_door_code(resident)
    assert re.fullmatch(r"\d{10}", code)
    assert stored.code_hash == doorcodes.hash_code(code) and code not in stored.code_hash
    assert doorcodes.hash_code(code) != doorcodes.hash_code(code[::-1])
    assert doorcodes.display(code) == f"{code[:5]} {code[5:]}"
    lifetime = stored.expires_at - stored.created_at
    assert lifetime.total_seconds() == settings.DOOR_CODE_TTL_MINUTES * 60


def test_a_door_code_opens_once_for_a_resident_without_a_face(client, front_door, resident):
    device, key = front_door
    _stored, code = doorcodes.issue_door_code(resident)
    first = _open(client, key, doorcodes.display(code))
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["open"] is True and body["method"] == "code" and body["person_id"] == resident.pk
    second = _open(client, key, code)
    assert second.json()["open"] is False
    attempt = Attempt.objects.get(pk=body["attempt_id"])
    assert (attempt.device, attempt.channel, attempt.method, attempt.result) == (
        device,
        Attempt.DOOR,
        Attempt.CODE,
        Attempt.MATCH,
    )
    assert attempt.detail == door.DOOR_CODE and attempt.distance is None


def test_a_door_code_expires_after_its_minutes(client, front_door, resident, moved_clock):
    _device, key = front_door
    _stored, code = doorcodes.issue_door_code(resident)
    moved_clock.advance(minutes=settings.DOOR_CODE_TTL_MINUTES, seconds=1)
    assert _open(client, key, code).json()["open"] is False


def test_a_new_door_code_cancels_the_earlier_one(client, front_door, resident):
    _device, key = front_door
    _first, old = doorcodes.issue_door_code(resident)
    _second, new = doorcodes.issue_door_code(resident)
    assert DoorCode.objects.filter(person=resident).count() == 1
    assert _open(client, key, old).json()["open"] is False
    assert _open(client, key, new).json()["open"] is True


def test_expired_codes_of_everyone_are_cleared_when_a_code_is_issued(
    resident, other_resident, moved_clock
):
    doorcodes.issue_door_code(other_resident)
    moved_clock.advance(minutes=settings.DOOR_CODE_TTL_MINUTES + 1)
    doorcodes.issue_door_code(resident)
    assert list(DoorCode.objects.values_list("person", flat=True)) == [resident.pk]


def test_a_door_code_does_not_open_another_buildings_door(client, building_b, resident):
    _device, key = make_door(building_b)
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code).json()["open"] is False
    assert DoorCode.objects.get(person=resident).used_at is None  # still good at home


def test_a_door_code_stops_when_the_person_leaves(client, front_door, resident):
    _device, key = front_door
    _stored, code = doorcodes.issue_door_code(resident)
    Membership.objects.filter(user=resident).update(left_at=clock.now())
    assert _open(client, key, code).json()["open"] is False


def test_a_door_code_named_for_someone_else_is_refused(
    client, front_door, resident, other_resident
):
    _device, key = front_door
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code, person=other_resident).json()["open"] is False
    assert _open(client, key, code, person=resident).json()["open"] is True


def test_a_one_time_code_opens_with_the_person_named(client, front_door, resident):
    _device, key = front_door
    totp = add_totp(resident)
    assert _open(client, key, current_code(totp)).json()["open"] is False  # nobody named
    opened = _open(client, key, current_code(totp), person=resident).json()
    assert opened["open"] is True and opened["person_id"] == resident.pk
    assert Attempt.objects.get(pk=opened["attempt_id"]).detail == door.ONE_TIME_CODE


def test_one_persons_one_time_code_does_not_open_for_another(
    client, front_door, resident, other_resident
):
    _device, key = front_door
    totp = add_totp(resident)
    add_totp(other_resident)
    assert _open(client, key, current_code(totp), person=other_resident).json()["open"] is False


def test_a_device_without_a_face_purpose_still_takes_codes(client, building_a, resident):
    _device, key = make_door(building_a, purpose=None, name="Side door")
    me = client.get("/api/v1/devices/me/", **device_headers(key)).json()
    assert me["identify"] is False and me["verify"] is False and me["code"] is True
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code).json()["open"] is True
    photo = SimpleUploadedFile("probe.jpg", b"not looked at", content_type="image/jpeg")
    refused = client.post("/api/v1/devices/identify/", {"photo": photo}, **device_headers(key))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == door.FACE_NOT_OFFERED


def test_wrong_codes_lock_the_person_at_this_door_and_slow_the_keypad(
    client, front_door, resident, other_resident, moved_clock
):
    device, key = front_door
    totp = add_totp(resident)
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        assert _open(client, key, "000000", person=resident).json()["open"] is False
    locked = _open(client, key, current_code(totp), person=resident)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled" and int(locked["Retry-After"]) > 0
    assert Attempt.objects.filter(result=Attempt.THROTTLED, method=Attempt.CODE).count() == 1
    # Another person at the same door is not held up by the lock on the first one.
    _stored, code = doorcodes.issue_door_code(other_resident)
    assert _open(client, key, code).json()["open"] is True
    # Guessing door codes at one device slows that keypad: a few seconds, never a lock.
    for _ in range(door.device_free_failures()):
        _open(client, key, "1234567890")
    _stored, code = doorcodes.issue_door_code(other_resident)
    slowed = _open(client, key, code)
    assert slowed.status_code == 429
    assert 0 < int(slowed["Retry-After"]) <= settings.DOOR_KEYPAD_MAX_WAIT_SECONDS
    moved_clock.advance(seconds=int(slowed["Retry-After"]))
    assert _open(client, key, code).json()["open"] is True


def test_code_scopes_are_apart_from_the_face_scopes(client, front_door, resident):
    device, key = front_door
    for scope, throttle_key in [(door.FACE_DEVICE, device.pk), (door.FACE_PERSON, resident.pk)]:
        for _ in range(door.device_free_failures() + 1):
            throttle.record_failure(scope, str(throttle_key))
        assert throttle.seconds_locked(scope, str(throttle_key))
    totp = add_totp(resident)
    assert _open(client, key, current_code(totp), person=resident).json()["open"] is True
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code).json()["open"] is True


def test_the_door_code_page_shows_a_fresh_code_that_opens_the_door(
    client, sign_in, resident, front_door
):
    _device, key = front_door
    sign_in(resident)
    page = client.get("/face/door-code/")
    assert page.status_code == 200 and "data-door-code" not in page.content.decode()
    assert not DoorCode.objects.exists()  # nothing is issued by looking
    shown = client.post("/face/door-code/").content.decode()
    code = re.search(r"data-door-code>([\d ]+)<", shown).group(1)
    assert "data:image/svg+xml;base64," in shown
    assert _open(client, key, code).json()["open"] is True
    listed = client.get("/face/door-code/").content.decode()
    assert "Front door" in listed


def test_the_door_code_page_needs_a_sign_in_and_a_building(client, sign_in, building_a):
    assert client.get("/face/door-code/").status_code == 302
    loner = make_person("loner", None, None)
    sign_in(loner)
    client.post("/face/door-code/")
    assert not DoorCode.objects.exists()


def test_door_attempts_are_in_my_data(client, sign_in, front_door, resident):
    _device, key = front_door
    _stored, code = doorcodes.issue_door_code(resident)
    _open(client, key, code)
    sign_in(resident)
    data = client.get("/api/v1/my-data/").json()
    text = str(data)
    assert "Front door" in text and "one-time code" in text


def test_figures_count_accepted_and_refused_per_method(client, front_door, resident, building_a):
    _device, key = front_door
    _stored, code = doorcodes.issue_door_code(resident)
    _open(client, key, code)
    _open(client, key, code)
    _open(client, key, "9999999999")
    figures = Attempt.objects.at_doors().for_buildings([building_a.pk]).figures()
    assert figures == {"door": {"code": {"accepted": 1, "refused": 2}}}


def test_with_the_face_service_down_the_door_says_so_and_codes_still_open(
    client, front_door, resident, monkeypatch
):
    from kombu.exceptions import OperationalError

    from recognition import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("broker unreachable")

    monkeypatch.setattr(tasks.identify_at_door, "apply_async", broker_down)
    device, key = front_door
    photo = SimpleUploadedFile("probe.jpg", b"never sent", content_type="image/jpeg")
    down = client.post("/api/v1/devices/identify/", {"photo": photo}, **device_headers(key))
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "face_unavailable"
    attempt = Attempt.objects.get(pk=down.json()["error"]["details"]["attempt_id"])
    assert (attempt.device, attempt.result, attempt.method) == (
        device,
        Attempt.UNAVAILABLE,
        Attempt.FACE,
    )
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code).json()["open"] is True
