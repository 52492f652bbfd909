"""Sign-in without a face: password, then TOTP or a single-use backup code; throttled."""

import io

import pytest
from django.core.management import call_command

from portal import accounts, backup_codes
from portal.audit.events import AuditEvent
from portal.models import AuditEntry, BackupCode, Membership, SealedTOTPDevice, User
from tests.factories import PASSWORD, add_totp, current_code, trust_browser

pytestmark = pytest.mark.django_db


def _password(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_sign_in_page_offers_face_and_password_side_by_side_in_a_trusted_browser(client, staff):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with password and code" in page
    assert 'href="/accounts/login/face/"' not in page  # a stranger's browser: no face route
    trust_browser(client, staff)
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/login/face/"' in page


def test_face_sign_in_page_keeps_the_code_route_one_click_away(client):
    page = client.get("/accounts/login/face/").content.decode()
    assert 'href="/accounts/login/"' in page


def test_password_then_totp_signs_in(client, resident):
    device = add_totp(resident)
    response = _password(client, "resident")
    assert response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session  # not signed in after the password alone
    response = client.post("/accounts/login/code/", {"code": current_code(device)})
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "resident"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, resident):
    wrong = _password(client, "resident", "nope").content.decode()
    unknown = _password(client, "nobody-here", "nope").content.decode()
    message = "The username or password is not correct."
    assert message in wrong and message in unknown
    assert "_auth_user_id" not in client.session


def test_wrong_code_is_refused(client, resident):
    device = add_totp(resident)
    _password(client, "resident")
    good = current_code(device)
    wrong = "000000" if good != "000000" else "111111"
    response = client.post("/accounts/login/code/", {"code": wrong})
    assert response.status_code == 200
    assert "That code is not correct" in response.content.decode()
    assert client.get("/api/v1/me/").status_code == 403


def test_backup_code_works_once(client, resident):
    add_totp(resident)
    code = backup_codes.generate_backup_codes(resident)[0]
    _password(client, "resident")
    assert client.post("/accounts/login/code/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    _password(client, "resident")
    again = client.post("/accounts/login/code/", {"code": code})
    assert again.status_code == 200
    assert "That code is not correct" in again.content.decode()


def test_repeated_wrong_passwords_lock_the_username(client, resident, settings):
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        _password(client, "resident", "bad")
    locked = _password(client, "resident")  # even the right password waits now
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_lock_is_the_same_for_unknown_usernames(client, settings):
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        _password(client, "ghost", "bad")
    assert "Too many failed attempts" in _password(client, "ghost", "bad").content.decode()


def test_lock_expires_with_time(client, resident, settings, moved_clock):
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        _password(client, "resident", "bad")
    moved_clock.advance(seconds=settings.SIGNIN_LOCK_SECONDS + 1)
    assert _password(client, "resident").status_code == 302


def test_repeated_wrong_codes_lock_the_code_step(client, resident, settings):
    device = add_totp(resident)
    _password(client, "resident")
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        client.post("/accounts/login/code/", {"code": "999999"})
    response = client.post("/accounts/login/code/", {"code": current_code(device)})
    assert "Too many failed attempts" in response.content.decode()
    assert client.get("/api/v1/me/").status_code == 403


def test_admin_without_second_factor_is_sent_to_enrol_it(client, admin_a):
    response = _password(client, "admin_a")
    assert response["Location"] == "/accounts/two-factor/"
    assert client.get("/")["Location"] == "/accounts/two-factor/"
    assert client.get("/api/v1/me/").json()["error"]["code"] == "second_factor_required"
    page = client.get("/accounts/two-factor/").content.decode()
    assert "data:image/svg+xml;base64," in page  # the QR code
    device = SealedTOTPDevice.objects.get(user=admin_a, confirmed=False)
    response = client.post("/accounts/two-factor/", {"code": current_code(device)})
    assert "Your backup codes" in response.content.decode()
    assert BackupCode.objects.filter(device__user=admin_a, used_at=None).count() == 10
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").json()["second_factor"] is True


def test_resident_without_second_factor_may_sign_in_with_password(client, resident):
    assert _password(client, "resident")["Location"] == "/"
    assert client.get("/").status_code == 200


def test_demo_resident_signs_in_with_password_and_totp(client, capsys):
    call_command("load_demo")
    printed = capsys.readouterr().out
    line = next(line for line in printed.splitlines() if "username: resident" in line)
    password = line.split("password: ")[1].split()[0]
    resident = User.objects.get(username="resident")
    device = SealedTOTPDevice.objects.get(user=resident)
    assert _password(client, "resident", password)["Location"] == "/accounts/login/code/"
    assert client.post("/accounts/login/code/", {"code": current_code(device)}).status_code == 302
    assert client.get("/").status_code == 200
    call_command("load_demo")
    assert "already loaded" in capsys.readouterr().out


def test_demo_people_are_made_by_the_account_service_with_their_audit_entries():
    call_command("load_demo", stdout=io.StringIO())
    made = AuditEntry.objects.filter(event=AuditEvent.MEMBER_CREATED)
    people = {entry.person_id: entry.data["role"] for entry in made}
    assert people == {
        User.objects.get(username=name).pk: role
        for name, role in (("resident", "resident"), ("staff", "staff"), ("admin", "admin"))
    }
    for person_id in people:
        assert SealedTOTPDevice.objects.get(user_id=person_id).confirmed


def test_a_taken_username_makes_no_member_and_no_entry(building_a, resident):
    before = (User.objects.count(), Membership.objects.count(), AuditEntry.objects.count())
    with pytest.raises(accounts.AccountRefused):
        accounts.create_member_with_authenticator(
            building_a, role="staff", username=resident.username.upper()
        )
    with pytest.raises(accounts.AccountRefused):
        accounts.create_member_with_authenticator(building_a, role="owner", username="someone")
    after = (User.objects.count(), Membership.objects.count(), AuditEntry.objects.count())
    assert after == before


def test_api_errors_have_one_shape(client):
    body = client.get("/api/v1/me/").json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "not_authenticated"


def test_schema_and_docs_are_served_without_a_cdn(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "unpkg" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
