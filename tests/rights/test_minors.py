"""Minors: a birth date or an admin's explicit adult attestation before anyone decides alone;
guardians receive their wards' renewal messages."""

from datetime import timedelta

import pytest

from consent import services
from consent.models import Consent, Notification
from portal import clock
from portal.models import AuditEntry, User
from tests.factories import TEXTS, grant, make_active_purpose, make_person

pytestmark = pytest.mark.django_db

INVITE = "/manage/people/invite/"


@pytest.fixture
def purpose(building_a, admin_a):
    return make_active_purpose(building_a, admin_a)


def test_an_invitation_needs_a_birth_date_or_an_adult_attestation(
    client, sign_in, admin_a, building_a
):
    sign_in(admin_a)
    base = {"building": building_a.pk, "role": "resident", "username": "newcomer"}
    response = client.post(INVITE, base)
    assert response.status_code == 200
    assert "confirm that this person is an adult" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()
    client.post(INVITE, {**base, "adult_attested": "on"})
    person = User.objects.get(username="newcomer")
    assert person.birth_date is None
    assert person.adult_attested_by == admin_a and person.adult_attested_at is not None
    entry = AuditEntry.objects.get(event="person.invited", person_id=person.pk)
    assert entry.data["adult_attested"] is True
    client.post(INVITE, {**base, "username": "child", "birth_date": "2020-05-01"})
    child = User.objects.get(username="child")
    assert child.adult_attested_at is None


def test_a_person_of_unknown_age_cannot_consent_alone(building_a, purpose):
    unknown = make_person("unknown", building_a, "resident", adult_attested_at=None)
    with pytest.raises(services.ConsentError) as refused:
        grant(unknown, purpose)
    assert refused.value.code == "age_unknown"
    assert not Consent.objects.filter(person=unknown).exists()


def test_a_guardian_receives_the_wards_renewal_message(
    client, sign_in, resident, building_a, purpose, admin_a
):
    ward = make_person(
        "ward",
        building_a,
        "resident",
        guardian=resident,
        birth_date=clock.now().date() - timedelta(days=365 * 9),
    )
    grant(ward, purpose, actor=resident)
    services.publish_notice(
        purpose, actor=admin_a, texts=TEXTS, data_collected="One template and its photo."
    )
    told = Notification.objects.get(person=resident, kind=Notification.WARD_NOTICE_CHANGED)
    assert told.ward == ward
    assert Notification.objects.filter(person=ward, kind=Notification.NOTICE_CHANGED).exists()
    sign_in(resident)
    page = client.get("/consents/").content.decode()
    assert "changed what was agreed for ward" in page


def test_an_adult_with_a_guardian_recorded_is_told_alone(
    resident, building_a, purpose, admin_a, other_resident
):
    other_resident.guardian = resident
    other_resident.birth_date = clock.now().date() - timedelta(days=365 * 30)
    other_resident.save()
    grant(other_resident, purpose)
    services.publish_notice(
        purpose, actor=admin_a, texts=TEXTS, data_collected="One template and its photo."
    )
    assert not Notification.objects.filter(person=resident).exists()


def test_an_admin_records_the_age_of_someone_without_one(
    client, sign_in, admin_a, admin_b, building_a, purpose
):
    unknown = make_person("unknown", building_a, "resident", adult_attested_at=None)
    url = f"/manage/buildings/{building_a.pk}/people/{unknown.pk}/age/"
    sign_in(admin_b)
    assert client.post(url, {"adult_attested": "on"}).status_code == 404
    sign_in(admin_a)
    assert (
        "age not recorded"
        in client.get(f"/manage/buildings/{building_a.pk}/people/{unknown.pk}/").content.decode()
    )
    future = (clock.now().date() + timedelta(days=3)).isoformat()
    for bad in ({}, {"birth_date": "yesterday"}, {"birth_date": future}):
        assert client.post(url, bad).status_code == 200
    unknown.refresh_from_db()
    assert unknown.birth_date is None and unknown.adult_attested_at is None
    assert client.post(url, {"adult_attested": "on"}).status_code == 302
    unknown.refresh_from_db()
    assert unknown.adult_attested_by == admin_a
    assert grant(unknown, purpose).status == "granted"
