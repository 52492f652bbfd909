"""Lock-out-proof throttling (OWASP device cookies): an attacker from any other client or
address slows and locks only untrusted clients, never the owner's trusted browser; counters
decay; the client address is read through TRUSTED_PROXY_COUNT proxies; a correct code is never
called "not correct"."""

import re

import pytest
from django.test import Client

from portal import rules, trusted
from tests.factories import PASSWORD, add_totp, current_code, trust_browser

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed attempts"
NOT_CORRECT = "not correct"


def _password(client, username, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def _signed_in_as(client) -> str | None:
    me = client.get("/api/v1/me/")
    return me.json()["username"] if me.status_code == 200 else None


@pytest.fixture
def owner(resident):
    """The resident, with an authenticator, and a browser that once signed in fully."""
    device = add_totp(resident)
    browser = Client(REMOTE_ADDR="10.1.1.1")
    assert _password(browser, "resident")["Location"] == "/accounts/login/code/"
    response = browser.post("/accounts/login/code/", {"code": current_code(device)})
    assert response.status_code == 302
    assert trusted.COOKIE in response.cookies  # the trusted-device cookie
    browser.post("/accounts/logout/")
    device.refresh_from_db()
    return resident, device, browser


def _sign_in_fully(browser, device) -> str | None:
    device.last_t = -1  # a new code step for each sign-in of the test
    device.save(update_fields=["last_t"])
    if _password(browser, "resident").status_code != 302:
        return None
    browser.post("/accounts/login/code/", {"code": current_code(device)})
    return _signed_in_as(browser)


def test_an_attacker_elsewhere_locks_untrusted_clients_but_never_the_owners_browser(
    owner, settings
):
    _resident, device, browser = owner
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.SIGNIN_FREE_FAILURES * 6):
        _password(attacker, "resident", "guess")
    refused = _password(attacker, "resident").content.decode()  # even the right password
    assert LOCKED in refused and "Wait" in refused and "seconds" in refused
    other_browser = Client(REMOTE_ADDR="10.1.1.2")  # the owner on a new phone: untrusted
    assert LOCKED in _password(other_browser, "resident").content.decode()
    assert _sign_in_fully(browser, device) == "resident"


def test_a_shared_proxy_address_never_stops_the_owner_in_their_trusted_browser(owner, settings):
    """Without TRUSTED_PROXY_COUNT every client has the proxy's address."""
    _resident, device, browser = owner
    attacker = Client(REMOTE_ADDR="10.1.1.1")  # the same address as the owner
    for attempt in range(settings.SIGNIN_FREE_FAILURES * 8):
        _password(attacker, f"random{attempt}", "guess")
    assert LOCKED in _password(attacker, "resident").content.decode()
    assert _sign_in_fully(browser, device) == "resident"


def test_behind_a_trusted_proxy_each_client_is_counted_at_its_own_address(
    client, resident, other_resident, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for attempt in range(settings.SIGNIN_FREE_FAILURES * 4):
        # the attacker forges entries on the left; the proxy appends the real address
        forged = f"198.51.100.{attempt}, 203.0.113.9"
        _password(client, f"random{attempt}", "guess", HTTP_X_FORWARDED_FOR=forged, **proxy)
    locked = _password(client, "neighbour", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9", **proxy)
    assert LOCKED in locked.content.decode()
    neighbour = Client()
    response = _password(neighbour, "neighbour", HTTP_X_FORWARDED_FOR="192.0.2.7", **proxy)
    assert response.status_code == 302 and _signed_in_as(neighbour) == "neighbour"


def test_counters_decay_so_one_guess_per_lock_never_keeps_the_owner_out(
    resident, settings, moved_clock
):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    waits = []
    for _ in range(40):  # one more wrong password each time the lock ends, for hours
        seconds = _seconds_from(_password(attacker, "resident", "guess").content.decode())
        waits.append(seconds)
        moved_clock.advance(seconds=seconds + 1)
    assert waits[-1] > 0  # the attacker is still slowed
    assert max(waits) < settings.SIGNIN_LOCK_MAX_SECONDS  # no lifetime tally doubling to a cap
    moved_clock.advance(seconds=settings.SIGNIN_DECAY_SECONDS * 4)
    owner = Client(REMOTE_ADDR="10.9.9.9")
    assert _password(owner, "resident").status_code == 302  # even untrusted, once it decayed


def _seconds_from(page: str) -> int:
    found = re.search(r"Wait (\d+) second", page)
    return int(found.group(1)) if found else 0


def test_wrong_codes_from_an_attacker_with_the_password_never_block_the_owners_code(
    owner, settings
):
    _resident, device, browser = owner
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    assert _password(attacker, "resident").status_code == 302
    for _ in range(settings.SIGNIN_FREE_FAILURES + 3):
        attacker.post("/accounts/login/code/", {"code": "000000"})
    locked = attacker.post("/accounts/login/code/", {"code": current_code(device)})
    page = locked.content.decode()
    assert LOCKED in page and NOT_CORRECT not in page  # the right code is not called wrong
    assert _signed_in_as(attacker) is None
    assert _sign_in_fully(browser, device) == "resident"


def test_a_correct_code_right_after_a_wrong_one_signs_in(client, resident):
    device = add_totp(resident)
    _password(client, "resident")
    wrong = "000000" if current_code(device) != "000000" else "111111"
    assert NOT_CORRECT in client.post("/accounts/login/code/", {"code": wrong}).content.decode()
    assert client.post("/accounts/login/code/", {"code": current_code(device)}).status_code == 302
    assert _signed_in_as(client) == "resident"


def test_a_forged_or_foreign_device_cookie_is_an_untrusted_client(owner, other_resident, settings):
    resident, _device, browser = owner
    for _ in range(settings.SIGNIN_FREE_FAILURES + 1):
        _password(Client(), "resident", "guess")
    forged = Client()
    forged.cookies[trusted.COOKIE] = browser.cookies[trusted.COOKIE].value[:-3] + "abc"
    assert LOCKED in _password(forged, "resident").content.decode()
    foreign = Client()  # trusted, but for another account
    foreign.cookies[trusted.COOKIE] = trusted.cookie_for(other_resident, "x")
    assert LOCKED in _password(foreign, "resident").content.decode()
    stolen_format = Client()  # the right account id with a nonce the attacker made up is
    stolen_format.cookies[trusted.COOKIE] = f"{resident.pk}:guess"  # not signed: untrusted
    assert LOCKED in _password(stolen_format, "resident").content.decode()


def test_the_trusted_browsers_own_typos_slow_it_briefly_and_never_lock_it(
    owner, settings, moved_clock
):
    _resident, device, browser = owner
    for _ in range(settings.SIGNIN_FREE_FAILURES * 4):
        page = _password(browser, "resident", "typo").content.decode()
        assert _seconds_from(page) <= settings.SIGNIN_TRUSTED_MAX_SECONDS
    moved_clock.advance(seconds=settings.SIGNIN_TRUSTED_MAX_SECONDS + 1)
    assert _sign_in_fully(browser, device) == "resident"


def test_client_address_rule_takes_the_hop_the_outermost_trusted_proxy_saw():
    assert rules.client_address("10.0.0.1", "", 0) == "10.0.0.1"
    assert rules.client_address("10.0.0.1", "9.9.9.9, 1.2.3.4", 1) == "1.2.3.4"
    assert rules.client_address("10.0.0.2", "9.9.9.9, 1.2.3.4, 10.0.0.1", 2) == "1.2.3.4"
    assert rules.client_address("10.0.0.1", "", 1) == "10.0.0.1"  # not through the proxy


def test_decay_halves_the_score_every_half_life():
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.decayed(10.0, start, start, 60) == 10.0
    assert rules.decayed(10.0, start, start + timedelta(seconds=60), 60) == 5.0
    assert rules.decayed(10.0, start, start + timedelta(seconds=600), 60) < 0.01
    assert rules.decayed_lock_seconds(4.0, 5, 60, 3600) == 0
    assert rules.decayed_lock_seconds(5.0, 5, 60, 3600) == 60
    assert rules.decayed_lock_seconds(500.0, 5, 60, 3600) == 3600


def test_a_locked_face_route_of_a_shared_address_never_stops_the_trusted_browser(
    client, staff, settings
):
    """The face route's per-address and per-account counters hold untrusted clients only.
    No worker runs here: the burst is judged past the counters (its challenge is unknown)."""
    from portal import throttle
    from tests.liveness_frames import data_urls

    settings.FACE_SIGNIN_ANY_BROWSER = True  # so the untrusted client reaches the counters
    for _ in range(settings.SIGNIN_FREE_FAILURES * 4):
        throttle.record_failure("face-ip", "127.0.0.1")
        throttle.record_failure("face-user", "staff")
    burst = {"nonce": "n" * 22, "frame": data_urls([b"\xff\xd8\xff not sent"] * 8)}
    stranger = Client()
    page = stranger.post("/accounts/login/face/", {"username": "staff", **burst})
    assert LOCKED in page.content.decode()
    trust_browser(client, staff)
    page = client.post("/accounts/login/face/", {"username": "staff", **burst})
    assert LOCKED not in page.content.decode()


def test_a_code_used_at_the_door_is_called_used_on_the_web_not_wrong(client, resident, settings):
    from consent import rules as consent_rules
    from recognition.doors import door
    from tests.factories import make_active_purpose, make_door

    device = add_totp(resident)
    building = resident.memberships.get().building
    purpose = make_active_purpose(building, demo=consent_rules.IDENTIFICATION)
    door_device, _key = make_door(building, purpose)
    code = current_code(device)
    assert door.open_with_code(door_device, code, resident.pk)["open"] is True
    _password(client, "resident")
    page = client.post("/accounts/login/code/", {"code": code}).content.decode()
    assert "used already" in page and NOT_CORRECT not in page
    assert LOCKED not in page


def test_a_stolen_trusted_cookie_buys_twenty_guesses_then_the_untrusted_lock(
    owner, settings, moved_clock
):
    """OWASP locks out a device cookie that keeps failing: whoever holds the owner's cookie
    gets no endless one-a-minute guessing of the code."""
    resident, device, browser = owner
    thief = Client(REMOTE_ADDR="203.0.113.9")
    thief.cookies[trusted.COOKIE] = browser.cookies[trusted.COOKIE].value
    assert _password(thief, "resident").status_code == 302  # the password, stolen too
    wrong = "000000" if current_code(device) != "000000" else "111111"
    guesses, longest = 0, 0
    for _ in range(settings.SIGNIN_FREE_FAILURES * 8):
        page = thief.post("/accounts/login/code/", {"code": wrong}).content.decode()
        wait = _seconds_from(page)
        longest = max(longest, wait)
        if wait > settings.SIGNIN_TRUSTED_MAX_SECONDS:
            break
        guesses += 1
        moved_clock.advance(seconds=wait + 1)
        _password(thief, "resident")  # the pending step may have timed out
    assert longest > settings.SIGNIN_TRUSTED_MAX_SECONDS  # locked like any stranger
    # the cookie's own 20, then the untrusted counter's free failures
    assert guesses <= settings.SIGNIN_FREE_FAILURES * 5 + 1


@pytest.mark.django_db(transaction=True)
def test_wrong_passwords_sent_in_parallel_are_counted_one_at_a_time(resident, settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def guess(index):
        try:
            attacker = Client(REMOTE_ADDR=f"203.0.113.{index}")
            return _password(attacker, "resident", "guess").content.decode()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(guess, range(24)))
    assert sum(LOCKED in page for page in pages) >= len(pages) - settings.SIGNIN_FREE_FAILURES
    from portal.models import Throttle

    checked = Throttle.objects.get(scope="password-user").failures  # passwords really tried
    assert checked <= settings.SIGNIN_FREE_FAILURES, checked
