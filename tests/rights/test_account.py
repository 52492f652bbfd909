"""Safe self-service corrections, and account deletion: face data first, everything held
erased, only what the law asks kept (audit entries by id, attempt logs without the person);
the Django admin cannot delete a person around it."""

import numpy as np
import pytest
from django.test import Client

from consent import rules as consent_rules
from consent.models import Consent, ConsentEvent
from portal.models import AuditEntry, Membership, User
from recognition.lifecycle.services import log_attempt, store_template
from recognition.models import Attempt, FaceTemplate, PurgeRecord
from recognition.rights import services
from recognition.rights.models import RightsRequest
from tests.factories import grant, make_active_purpose, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(resident, building_a):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    grant(resident, purpose)
    vector = np.random.default_rng(3).standard_normal(128).astype(np.float32)
    store_template(resident, purpose, vector, "test-model")
    log_attempt(channel=Attempt.SIGN_IN, method=Attempt.CODE, result=Attempt.MATCH, person=resident)
    services.file_request(resident, building=building_a, kind="deletion")
    return purpose


def test_names_and_email_are_corrected_alone_and_audited(client, sign_in, resident):
    sign_in(resident)
    response = client.post(
        "/my-data/profile/", {"first_name": "Li", "last_name": "Wei", "email": "li@example.com"}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert (resident.first_name, resident.last_name, resident.email) == (
        "Li",
        "Wei",
        "li@example.com",
    )
    entry = AuditEntry.objects.get(event="profile.corrected")
    assert entry.data == {"fields": ["email", "first_name", "last_name"]}
    assert "li@example.com" not in str(entry.data)


def test_unsafe_fields_cannot_be_corrected_alone(client, sign_in, resident, building_a):
    sign_in(resident)
    response = client.post(
        "/my-data/profile/",
        {
            "first_name": "Li",
            "email": "not-an-address",
            "birth_date": "1950-01-01",
            "is_staff": "on",
            "username": "admin",
        },
    )
    assert response.status_code == 200
    resident.refresh_from_db()
    assert resident.first_name == "" and not resident.is_staff
    assert resident.birth_date is None and resident.username == "resident"
    assert not AuditEntry.objects.filter(event="profile.corrected").exists()


def test_deleting_the_account_erases_everything_face_data_first(
    client, sign_in, resident, enrolled, other_resident
):
    person_id = resident.pk
    sign_in(resident)
    attempts = Attempt.objects.filter(person=resident).count()
    assert attempts >= 2  # the fixture's and this sign-in's
    page = client.get("/my-data/delete-account/").content.decode()
    assert "audit log" in page  # says what is kept
    assert client.post("/my-data/delete-account/", {"confirm": "yes"}).status_code == 200
    assert User.objects.filter(pk=person_id).exists()
    response = client.post("/my-data/delete-account/", {"confirm": "DELETE"})
    assert response.status_code == 200
    assert "Account deleted" in response.content.decode()
    assert not User.objects.filter(pk=person_id).exists()
    assert not FaceTemplate.objects.filter(person_id=person_id).exists()
    assert not Consent.objects.filter(person_id=person_id).exists()
    assert not ConsentEvent.objects.filter(person_id=person_id).exists()
    assert not Membership.objects.filter(user_id=person_id).exists()
    assert not RightsRequest.objects.filter(person_id=person_id).exists()
    # Kept: the attempt log, detached; audit entries by id; the face deletion came first.
    assert Attempt.objects.filter(person__isnull=True).count() == attempts
    events = list(AuditEntry.objects.order_by("id").values_list("event", flat=True))
    assert events[-2:] == ["face.deleted", "account.deleted"]
    deleted = AuditEntry.objects.get(event="account.deleted")
    assert deleted.person_id == person_id and deleted.data["templates_deleted"] == 1
    assert "resident" not in str(deleted.data)
    assert PurgeRecord.objects.filter(templates_deleted=1).exists()
    # Signed out, and other people untouched.
    assert client.get("/my-data/").status_code == 302
    assert User.objects.filter(pk=other_resident.pk).exists()


def test_the_django_admin_cannot_delete_a_person_around_it(resident, enrolled, sign_in):
    root = User.objects.create_superuser("root", password="correct horse battery staple")
    client = sign_in(root, Client())
    attempts = Attempt.objects.filter(person=resident).count()
    url = f"/django-admin/portal/user/{resident.pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    response = client.post(
        "/django-admin/portal/user/",
        {"action": "delete_selected", "_selected_action": [resident.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=resident.pk).exists()
    assert FaceTemplate.objects.filter(person=resident).exists()
    # Its erase action goes through the same service: face data first, attempt logs kept.
    response = client.post(
        "/django-admin/portal/user/",
        {"action": "erase_accounts", "_selected_action": [resident.pk]},
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=resident.pk).exists()
    assert not FaceTemplate.objects.exists()
    assert AuditEntry.objects.get(event="account.deleted").actor_id == root.pk
    assert Attempt.objects.filter(person__isnull=True).count() == attempts


def test_a_guardian_deleting_their_account_leaves_the_ward(resident, building_a):
    ward = make_person("ward", building_a, "resident", guardian=resident)
    services.delete_account(resident, actor=resident)
    ward.refresh_from_db()
    assert ward.guardian is None
