"""Door routes nobody else can close: person counters per (device, person) and only for members
of the device's building; a keypad under attack is slowed, never locked, and checks at most one
wrong code per DOOR_KEYPAD_MAX_WAIT_SECONDS; wrong one-time codes at a door never slow the
person's code on the web page."""

import pytest
from django.conf import settings

from portal.models import Throttle
from recognition.doors import door, doorcodes
from tests.factories import PASSWORD, add_totp, current_code, device_headers, make_door

pytestmark = pytest.mark.django_db

CODE = "/api/v1/devices/code/"


def _open(client, key, code, person_id=None):
    data = {"code": code} if person_id is None else {"code": code, "person": person_id}
    return client.post(CODE, data, content_type="application/json", **device_headers(key))


def _fresh(totp):
    totp.last_t = -1  # each check of the test may use the current code again
    totp.save(update_fields=["last_t"])
    return current_code(totp)


def test_a_device_of_another_building_cannot_touch_a_resident(
    client, front_door, building_b, resident
):
    _device, key = front_door
    _foreign, foreign_key = make_door(building_b, None, name="Other door")
    totp = add_totp(resident)
    for _ in range(settings.SIGNIN_FREE_FAILURES * 10):
        answer = _open(client, foreign_key, "000000", person_id=resident.pk)
        assert answer.status_code == 429 or answer.json()["open"] is False
    assert not Throttle.objects.filter(scope=door.CODE_PERSON).exists()
    assert _open(client, key, _fresh(totp), person_id=resident.pk).json()["open"] is True
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code).json()["open"] is True


def test_a_person_locked_at_one_door_still_opens_the_next_and_with_a_door_code(
    client, front_door, resident
):
    device, key = front_door
    _back, back_key = make_door(device.building, device.purpose, name="Back door")
    totp = add_totp(resident)
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        _open(client, key, "000000", person_id=resident.pk)
    assert _open(client, key, _fresh(totp), person_id=resident.pk).status_code == 429
    assert _open(client, back_key, _fresh(totp), person_id=resident.pk).json()["open"] is True
    _stored, code = doorcodes.issue_door_code(resident)
    assert _open(client, key, code).json()["open"] is True  # the keypad is not locked


def test_sequential_ids_probed_with_unknown_people_leave_no_counter(client, front_door):
    _device, key = front_door
    for person_id in range(10**6, 10**6 + 40):  # ids of nobody in this building
        _open(client, key, "000000", person_id=person_id)
    assert not Throttle.objects.filter(scope=door.CODE_PERSON).exists()


def test_wrong_one_time_codes_at_a_door_never_slow_the_persons_web_code(
    client, front_door, resident
):
    _device, key = front_door
    totp = add_totp(resident)
    for _ in range(settings.SIGNIN_FREE_FAILURES * 3):
        _open(client, key, "000000", person_id=resident.pk)
    totp.refresh_from_db()
    allowed, _info = totp.verify_is_allowed()
    assert allowed  # django-otp's own throttle is never reached
    web = client.__class__()
    web.post("/accounts/login/", {"username": "resident", "password": PASSWORD})
    response = web.post("/accounts/login/code/", {"code": _fresh(totp)})
    assert response.status_code == 302
    assert web.get("/api/v1/me/").json()["username"] == "resident"


def test_a_keypad_under_attack_checks_at_most_one_code_per_max_wait(
    client, front_door, resident, moved_clock
):
    """The figure behind the README's brute-force probability: once slowed, a keypad checks
    one code per DOOR_KEYPAD_MAX_WAIT_SECONDS at most, however fast codes are sent."""
    _device, key = front_door
    guess = "0000000000"
    checked = 0
    seconds = 600
    for _second in range(seconds):  # one guess every second, for ten minutes
        answer = _open(client, key, guess)
        if answer.status_code != 429:
            checked += 1
        moved_clock.advance(seconds=1)
    limit = door.device_free_failures() + seconds / settings.DOOR_KEYPAD_MAX_WAIT_SECONDS + 2
    assert checked <= limit, checked
    _stored, live = doorcodes.issue_door_code(resident)
    assert live != guess
    answer = _open(client, key, live)  # the resident, right after the attacker
    if answer.status_code == 429:
        assert int(answer["Retry-After"]) <= settings.DOOR_KEYPAD_MAX_WAIT_SECONDS
        moved_clock.advance(seconds=int(answer["Retry-After"]))
        answer = _open(client, key, live)
    assert answer.json()["open"] is True


@pytest.mark.django_db(transaction=True)
def test_codes_sent_in_parallel_to_a_slowed_keypad_are_checked_one_at_a_time(front_door):
    """A stolen device key cannot outrun the keypad's pace by sending guesses at once."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    _device, key = front_door
    for _ in range(door.device_free_failures()):
        _open(Client(), key, "0000000000")

    def guess(_index):
        try:
            return _open(Client(), key, "0000000000").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, range(16)))
    assert answers.count(200) <= 1, answers
    assert answers.count(429) >= 15
