"""A trusted-browser cookie is worth only as much as the password it was earned with: after a
password change or reset, or once the account is disabled or deleted, a cookie captured before
is an untrusted client's (no face sign-in, the untrusted counters and their locks)."""

import numpy as np
import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, RequestFactory
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal import trusted
from portal.models import SealedTOTPDevice, User
from recognition.rights.services import delete_account
from tests.factories import PASSWORD, add_totp, current_code
from tests.liveness_frames import SIGN_IN, jpeg, live_post, pose_script

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a new passphrase 4 the portal"
LOCKED = "Too many failed attempts"
FACE_LINK = "/accounts/login/face/"
TRUSTED_ONLY = "signed in with your password and code before"


def _password(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def _sign_in_fully(browser, user, password=PASSWORD):
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first() or add_totp(user)
    device.last_t = -1  # a new code step for each sign-in of the test
    device.save(update_fields=["last_t"])
    assert _password(browser, user.username, password)["Location"] == "/accounts/login/code/"
    response = browser.post("/accounts/login/code/", {"code": current_code(device)})
    assert response.status_code == 302
    return response


@pytest.fixture
def captured(staff):
    """The staff member's browser after a full sign-in, and a copy of its trusted-device
    cookie taken then (by a thief, or left on a shared computer)."""
    browser = Client(REMOTE_ADDR="10.1.1.1")
    _sign_in_fully(browser, staff)
    browser.post("/accounts/logout/")
    thief = Client(REMOTE_ADDR="10.1.1.1")
    thief.cookies[trusted.COOKIE] = browser.cookies[trusted.COOKIE].value
    return staff, browser, thief


def _lock_untrusted_clients(username, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.SIGNIN_FREE_FAILURES + 1):
        _password(attacker, username, "guess")
    assert LOCKED in _password(Client(REMOTE_ADDR="203.0.113.10"), username).content.decode()


def _treated_as_trusted(client, username, password=PASSWORD) -> bool:
    """Face sign-in offered and the right password let through while untrusted clients are
    locked: what the cookie buys."""
    face_offered = FACE_LINK in client.get("/accounts/login/").content.decode()
    let_through = _password(client, username, password).status_code == 302
    assert face_offered == let_through, "the two privileges of the cookie disagree"
    return face_offered


def _reset_password_through_link(person, password=NEW_PASSWORD):
    """The set-password link an admin hands over (Django's reset confirmation view)."""
    person.refresh_from_db()  # the token covers the last sign-in
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    client = Client()
    form = client.get(f"/accounts/set-password/{uid}/{token}/", follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    assert response.status_code == 302, response.content
    person.refresh_from_db()
    assert person.check_password(password)


def test_a_cookie_captured_before_a_password_reset_is_untrusted_after_it(captured, settings):
    staff, _browser, thief = captured
    _lock_untrusted_clients("staff", settings)
    assert _treated_as_trusted(thief, "staff")  # before: the captured cookie still works
    thief.post("/accounts/logout/")

    _reset_password_through_link(staff)

    assert not _treated_as_trusted(thief, "staff")
    assert LOCKED in _password(thief, "staff", NEW_PASSWORD).content.decode()


def test_a_password_changed_anywhere_voids_the_cookie(captured, settings):
    staff, _browser, thief = captured
    staff.set_password(NEW_PASSWORD)  # an admin's change form, or a shell
    staff.save()
    _lock_untrusted_clients("staff", settings)
    assert not _treated_as_trusted(thief, "staff")


def _face_sign_in(client) -> str:
    grey = jpeg(np.full((360, 480, 3), 128, np.uint8))
    make = lambda steps: [grey] * len(pose_script(steps))  # noqa: E731
    return live_post(client, SIGN_IN, {"username": "staff"}, [], make=make).content.decode()


def test_face_sign_in_refuses_the_old_cookie_before_any_face_work(captured):
    staff, _browser, thief = captured
    assert TRUSTED_ONLY not in _face_sign_in(thief)  # before: on to the face check
    _reset_password_through_link(staff)
    assert TRUSTED_ONLY in _face_sign_in(thief)


def test_the_owner_earns_trust_again_with_the_new_password(captured, settings):
    staff, browser, thief = captured
    old_cookie = browser.cookies[trusted.COOKIE].value
    _reset_password_through_link(staff)
    response = _sign_in_fully(browser, staff, NEW_PASSWORD)
    assert response.cookies[trusted.COOKIE].value != old_cookie
    browser.post("/accounts/logout/")
    _lock_untrusted_clients("staff", settings)
    assert not _treated_as_trusted(thief, "staff", NEW_PASSWORD)
    assert _treated_as_trusted(browser, "staff", NEW_PASSWORD)


def test_a_disabled_account_has_no_trusted_browser(captured):
    staff, _browser, thief = captured
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert FACE_LINK not in thief.get("/accounts/login/").content.decode()
    assert not trusted.is_trusted(_request(thief), staff.pk)


def test_an_account_enabled_again_trusts_no_browser_of_before(captured, settings):
    # Disabled and enabled again as the admin's change form does it (a save of the account):
    # the cookie captured before is an untrusted client's, and the owner earns trust anew.
    staff, browser, thief = captured
    staff.first_name = "Renamed"
    staff.save()  # any other change keeps the trust
    assert trusted.is_trusted(_request(thief), staff.pk)
    staff.is_active = False
    staff.save()
    staff.is_active = True
    staff.save()
    assert not trusted.is_trusted(_request(thief), staff.pk)
    assert TRUSTED_ONLY in _face_sign_in(thief)
    _sign_in_fully(browser, staff)
    browser.post("/accounts/logout/")
    _lock_untrusted_clients("staff", settings)
    assert not _treated_as_trusted(thief, "staff")
    assert _treated_as_trusted(browser, "staff")


def test_a_deleted_account_leaves_no_trust_even_to_an_account_with_its_id(captured):
    staff, _browser, thief = captured
    staff_id = staff.pk
    delete_account(staff, actor=staff)
    assert FACE_LINK not in thief.get("/accounts/login/").content.decode()
    again = User.objects.create_user("staff-again", password=PASSWORD, id=staff_id)
    assert not trusted.is_trusted(_request(thief), again.pk)


def test_other_accounts_of_the_browser_keep_their_trust(captured, resident, settings):
    """Only the changed account's entry is void; a shared computer keeps the others."""
    staff, browser, _thief = captured
    _sign_in_fully(browser, resident)
    browser.post("/accounts/logout/")
    _reset_password_through_link(staff)
    request = _request(browser)
    assert not trusted.is_trusted(request, staff.pk)
    assert trusted.is_trusted(request, resident.pk)


def _request(client):
    request = RequestFactory().get("/")
    request.COOKIES[trusted.COOKIE] = client.cookies[trusted.COOKIE].value
    return request


def test_the_log_says_why_a_browser_is_not_trusted(captured, resident):
    staff, browser, _thief = captured
    assert trusted.why_not_trusted(_request(browser), staff.pk) == ""
    assert trusted.why_not_trusted(RequestFactory().get("/"), staff.pk) == "no_cookie"
    assert trusted.why_not_trusted(_request(browser), resident.pk) == "other_accounts"
    assert trusted.why_not_trusted(_request(browser), None) == "other_accounts"
    forged = Client()
    forged.cookies[trusted.COOKIE] = browser.cookies[trusted.COOKIE].value[:-2] + "xx"
    assert trusted.why_not_trusted(_request(forged), staff.pk) == "unreadable"
    _reset_password_through_link(staff)
    assert trusted.why_not_trusted(_request(browser), staff.pk) == "password_changed"
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert trusted.why_not_trusted(_request(browser), staff.pk) == "inactive"


def test_a_request_reads_its_trusted_accounts_once_and_sees_another_cookie(
    staff, django_assert_num_queries
):
    # A face sign-in asks about the cookie three times (counters, trust, face-work budget):
    # one query, not three; a request whose cookie is replaced is read again.
    request = RequestFactory().get("/")
    request.COOKIES[trusted.COOKIE] = trusted.cookie_for(staff, "n1")
    with django_assert_num_queries(1):
        assert trusted.entries(request) == {str(staff.pk): "n1"}
        assert trusted.is_trusted(request, staff.pk)
        assert trusted.nonce_for(request, staff.pk) == "n1"
    request.COOKIES[trusted.COOKIE] = trusted.cookie_for(staff, "n2")
    assert trusted.nonce_for(request, staff.pk) == "n2"
    del request.COOKIES[trusted.COOKIE]
    assert not trusted.is_trusted(request, staff.pk)
