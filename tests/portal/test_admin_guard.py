"""One guarded entrance for administrators: Django's admin only through the portal's sign-in
(password + second factor, the same throttling); the first admin made by an operator command
with its second factor enrolled at creation; a second factor enrolled only after the password
was typed again within SECOND_FACTOR_REAUTH_SECONDS."""

import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from portal.audit.events import AuditEvent
from portal.models import AuditEntry, BackupCode, SealedTOTPDevice, User
from tests.factories import PASSWORD, add_totp, current_code

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/django-admin/", "/django-admin/portal/user/", "/django-admin/portal/building/"]


@pytest.fixture
def superuser(db):
    """What `createsuperuser` makes: a superuser with a password and no second factor."""
    return User.objects.create_superuser(username="root", password=PASSWORD, email="")


def _no_admin_page(client) -> None:
    for path in ADMIN_PAGES:
        response = client.get(path, follow=True)
        final = response.redirect_chain[-1][0]
        assert not final.startswith("/django-admin/"), (path, response.redirect_chain)
        assert "Django administration" not in response.content.decode(), path


def test_a_correct_password_without_a_second_factor_never_reaches_a_django_admin_page(
    client, superuser
):
    answer = client.post("/django-admin/login/", {"username": "root", "password": PASSWORD})
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session  # the admin's own login checks nothing
    _no_admin_page(client)
    # Through the portal's page: signed in with the password, but not verified.
    assert client.post("/accounts/login/", {"username": "root", "password": PASSWORD})[
        "Location"
    ].endswith("/accounts/two-factor/")
    _no_admin_page(client)
    assert client.get("/django-admin/login/")["Location"] == "/accounts/two-factor/"


def test_a_password_alone_with_an_authenticator_enrolled_reaches_no_admin_page(client, superuser):
    add_totp(superuser)
    assert client.post("/accounts/login/", {"username": "root", "password": PASSWORD})[
        "Location"
    ].endswith("/accounts/login/code/")
    _no_admin_page(client)


def test_password_and_second_factor_reach_the_admin(client, sign_in, superuser):
    sign_in(superuser)
    assert client.get("/django-admin/").status_code == 200


def test_the_admin_entrance_is_throttled_like_the_portal(client, superuser, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.SIGNIN_FREE_FAILURES):
        attacker.post("/accounts/login/", {"username": "root", "password": "guess"})
    refused = attacker.post(
        "/accounts/login/?next=/django-admin/", {"username": "root", "password": PASSWORD}
    )
    assert "Too many failed attempts" in refused.content.decode()


def test_the_first_admin_comes_from_the_command_with_a_second_factor(client, capsys):
    call_command(
        "create_first_admin",
        "boss",
        building="Harbour View",
        handler="Harbour View Property Ltd",
        handler_contact="privacy@example.com",
    )
    out = capsys.readouterr().out
    password = re.search(r"password: (\S+)", out).group(1)
    secret = re.search(r"authenticator key: ([A-Z2-7=]+)", out).group(1)
    boss = User.objects.get(username="boss")
    assert boss.is_superuser and boss.admin_building_ids()
    device = SealedTOTPDevice.objects.get(user=boss, confirmed=True)
    import base64

    assert base64.b32encode(device.bin_key).decode() == secret
    response = client.post("/accounts/login/", {"username": "boss", "password": password})
    assert response["Location"] == "/accounts/login/code/"
    assert client.post("/accounts/login/code/", {"code": current_code(device)}).status_code == 302
    assert client.get("/django-admin/").status_code == 200
    assert client.get("/manage/people/").status_code == 200
    with pytest.raises(CommandError):
        call_command(
            "create_first_admin",
            "boss",
            building="Another",
            handler="Another Ltd",
            handler_contact="x@example.com",
        )
    assert User.objects.filter(username="boss").count() == 1


def test_a_session_without_a_recent_password_gets_no_authenticator_secret(
    client, admin_a, moved_clock, settings
):
    client.post("/accounts/login/", {"username": "admin_a", "password": PASSWORD})
    moved_clock.advance(seconds=settings.SECOND_FACTOR_REAUTH_SECONDS + 1)
    page = client.get("/accounts/two-factor/").content.decode()
    assert "Confirm your password" in page and "data:image/svg+xml" not in page
    assert not SealedTOTPDevice.objects.filter(user=admin_a).exists()
    wrong = client.post("/accounts/two-factor/", {"password": "guess"}).content.decode()
    assert "password is not correct." in wrong and "data:image/svg+xml" not in wrong
    assert not SealedTOTPDevice.objects.filter(user=admin_a).exists()
    right = client.post("/accounts/two-factor/", {"password": PASSWORD})
    assert right["Location"] == "/accounts/two-factor/"
    assert "data:image/svg+xml" in client.get("/accounts/two-factor/").content.decode()


def test_a_session_signed_in_without_a_password_must_type_it_before_enrolling(client, admin_a):
    client.force_login(admin_a)  # as after a face sign-in: no password in this session
    page = client.get("/accounts/two-factor/").content.decode()
    assert "Confirm your password" in page and "data:image/svg+xml" not in page


def test_a_password_typed_for_another_account_does_not_count(client, admin_a, resident):
    """Typing one's own password, then getting into another account in the same session
    (a face sign-in, say) gives no authenticator secret for the other account."""
    add_totp(resident)
    step = client.post("/accounts/login/", {"username": "resident", "password": PASSWORD})
    assert step["Location"] == "/accounts/login/code/"  # half signed in: session kept
    client.force_login(admin_a)
    page = client.get("/accounts/two-factor/").content.decode()
    assert "Confirm your password" in page and "data:image/svg+xml" not in page


def test_a_code_for_a_waiting_authenticator_is_refused_once_the_password_check_is_old(
    client, admin_a, moved_clock, settings
):
    """The attack: a session that typed the password long ago (or a borrowed one) posts a
    valid code for the authenticator waiting on its account. Nothing is confirmed, no backup
    codes are made, nothing is written to the audit log: the password comes first."""
    client.post("/accounts/login/", {"username": "admin_a", "password": PASSWORD})
    client.get("/accounts/two-factor/")  # within the window: the authenticator waits
    device = SealedTOTPDevice.objects.get(user=admin_a, confirmed=False)
    moved_clock.advance(seconds=settings.SECOND_FACTOR_REAUTH_SECONDS + 1)
    before = AuditEntry.objects.count()
    page = client.post("/accounts/two-factor/", {"code": current_code(device)}).content.decode()
    assert "Confirm your password" in page and "Your backup codes" not in page
    assert not SealedTOTPDevice.objects.filter(user=admin_a, confirmed=True).exists()
    assert not BackupCode.objects.filter(device__user=admin_a).exists()
    assert AuditEntry.objects.count() == before


def test_enrolling_an_authenticator_leaves_its_audit_entries(client, admin_a):
    client.post("/accounts/login/", {"username": "admin_a", "password": PASSWORD})
    client.get("/accounts/two-factor/")
    client.get("/accounts/two-factor/")  # the same waiting authenticator, not a second one
    device = SealedTOTPDevice.objects.get(user=admin_a, confirmed=False)
    wrong = client.post("/accounts/two-factor/", {"code": "000000"}).content.decode()
    assert "That code is not correct." in wrong
    assert not SealedTOTPDevice.objects.filter(user=admin_a, confirmed=True).exists()
    client.post("/accounts/two-factor/", {"code": current_code(device)})
    events = list(
        AuditEntry.objects.filter(person_id=admin_a.pk)
        .order_by("id")
        .values_list("event", flat=True)
    )
    assert events == [AuditEvent.TOTP_STARTED, AuditEvent.TOTP_CONFIRMED]
    device.refresh_from_db()
    assert device.confirmed


def test_the_admin_cannot_edit_memberships_around_mark_person_left(
    client, sign_in, superuser, resident, building_a
):
    """Leaving ends the person's consents and deletes their face data (`mark_person_left`);
    an edit of `left_at` in the Django admin would skip both, so the inline is read-only."""
    from portal.models import Membership

    sign_in(superuser)
    url = f"/django-admin/portal/user/{resident.pk}/change/"
    page = client.get(url).content.decode()
    assert "memberships-0-left_at" not in page and "memberships-0-role" not in page
    membership = Membership.objects.get(user=resident)
    client.post(
        url,
        {
            "username": resident.username,
            "birth_date": "2000-01-01",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(membership.pk),
            "memberships-0-user": str(resident.pk),
            "memberships-0-building": str(building_a.pk),
            "memberships-0-role": "admin",
            "memberships-0-left_at_0": "2026-01-01",
            "memberships-0-left_at_1": "00:00:00",
        },
    )
    membership.refresh_from_db()
    resident.refresh_from_db()
    assert membership.left_at is None and membership.role == "resident"
    assert resident.birth_date is None  # written by record_age, with its entry
    assert client.get("/django-admin/portal/user/add/").status_code == 403
