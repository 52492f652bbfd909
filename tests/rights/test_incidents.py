"""Incidents: the people affected worked out from the data, told in the portal and by email
(Django's email backend), the regulator's report in JSON and on a printable page in both
languages, the timeline in the audit log; nobody outside the building sees any of it."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal import clock
from portal.models import AuditEntry
from recognition.rights import services
from recognition.rights.models import AffectedPerson, Incident
from tests.factories import grant, make_active_purpose, make_person, refuse
from tests.rights.data import INCIDENT_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(building_a, admin_a, resident, other_resident):
    """Door purpose: resident granted, neighbour refused, a leaver withdrew long ago, a newcomer
    granted after the incident was found; a second purpose nobody is told about."""
    door = make_active_purpose(building_a, admin_a)
    other = make_active_purpose(building_a, admin_a, name="Staff sign-in")
    resident.email = "resident@example.com"
    resident.save()
    grant(resident, door)
    refuse(other_resident, door)
    withdrew = make_person("withdrew", building_a, "resident", email="w@example.com")
    grant(withdrew, door)
    from consent import services as consent_services

    consent_services.withdraw_consent(withdrew, door, actor=withdrew)
    only_other = make_person("only_other", building_a, "resident", email="o@example.com")
    grant(only_other, other)
    return door, other, withdrew, only_other


def record(building, admin, purposes, **overrides):
    fields = {**INCIDENT_FIELDS, "found_at": clock.now(), **overrides}
    return services.record_incident(building, actor=admin, purposes=purposes, **fields)


def test_the_people_affected_are_worked_out_from_consents(
    people, building_a, admin_a, resident, moved_clock
):
    door, _other, withdrew, _only_other = people
    moved_clock.advance(days=2)
    # Happened yesterday: the person who withdrew two days ago had no face data any more.
    incident = record(building_a, admin_a, [door], occurred_at=clock.now() - timedelta(days=1))
    assert set(incident.affected.values_list("person_id", flat=True)) == {resident.pk}
    assert incident.people_affected == 1
    # Had it begun before the withdrawal, they were affected too.
    earlier = record(building_a, admin_a, [door], occurred_at=clock.now() - timedelta(days=3))
    assert set(earlier.affected.values_list("person_id", flat=True)) == {resident.pk, withdrew.pk}


def test_people_who_granted_after_it_was_found_are_not_affected(
    people, building_a, admin_a, resident
):
    door, *_ = people
    found = clock.now() - timedelta(hours=1)
    newcomer = make_person("newcomer", building_a, "resident")
    grant(newcomer, door)
    incident = record(building_a, admin_a, [door], found_at=found)
    assert newcomer.pk not in set(incident.affected.values_list("person_id", flat=True))


def test_notifying_tells_each_person_once_in_the_portal_and_by_email(
    people, building_a, admin_a, resident, client, sign_in
):
    door, *_ = people
    incident = record(building_a, admin_a, [door])
    result = services.notify_incident(incident, actor=admin_a)
    assert result == {"in_portal": 1, "emailed": 1, "failed": 0}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["resident@example.com"]
    assert INCIDENT_FIELDS["self_help"] in message.body
    assert "安全事件" in message.subject and "Security incident" in message.subject
    assert "事件经过" in message.body and "What happened" in message.body
    again = services.notify_incident(incident, actor=admin_a)
    assert again == {"in_portal": 0, "emailed": 0, "failed": 0}
    assert len(mail.outbox) == 1
    sign_in(resident)
    page = client.get("/my-data/incidents/").content.decode()
    assert "disk was copied during a repair visit" in page
    client.post("/my-data/incidents/")
    assert AffectedPerson.objects.get(person=resident).read_at is not None


def test_a_failing_email_backend_still_tells_in_the_portal(
    people, building_a, admin_a, resident, settings
):
    door, *_ = people
    settings.INCIDENT_EMAIL_BACKEND = "tests.rights.failing_mail.EmailBackend"
    incident = record(building_a, admin_a, [door])
    result = services.notify_incident(incident, actor=admin_a)
    assert result == {"in_portal": 1, "emailed": 0, "failed": 1}
    row = AffectedPerson.objects.get(incident=incident)
    assert row.notified_at is not None and row.emailed_at is None
    settings.INCIDENT_EMAIL_BACKEND = ""
    assert services.notify_incident(incident, actor=admin_a)["emailed"] == 1  # retried later


def test_the_timeline_is_in_the_audit_log(people, building_a, admin_a, client, sign_in):
    door, *_ = people
    sign_in(admin_a)
    incident = record(building_a, admin_a, [door])
    client.post(f"/manage/incidents/{incident.pk}/notify/")
    response = client.get(f"/manage/incidents/{incident.pk}/report.json")
    assert response.status_code == 200
    report = json.loads(response.content)
    events = [step["event"] for step in report["timeline"]]
    assert events == [
        "incident.recorded",
        "incident.people_notified",
        "incident.emails_sent",
        "incident.reported",
    ]
    assert AuditEntry.objects.filter(event="incident.recorded", data__incident=incident.pk).exists()
    for key in ("what_happened", "cause", "likely_harm", "measures_taken", "self_help", "contact"):
        assert report[key] == INCIDENT_FIELDS[key]
    assert report["people_affected"] == 1 and report["people_emailed"] == 1
    assert "resident" not in response.content.decode()  # people counted, not named


def test_the_printable_report_is_in_both_languages(people, building_a, admin_a, client, sign_in):
    door, *_ = people
    incident = record(building_a, admin_a, [door])
    sign_in(admin_a)
    page = client.get(f"/manage/incidents/{incident.pk}/report/").content.decode()
    assert "Report of a personal information security incident" in page
    assert "个人信息安全事件报告" in page
    assert INCIDENT_FIELDS["measures_taken"] in page
    incident.refresh_from_db()
    assert incident.reported_at is not None


def test_recording_through_the_page(
    people, building_a, admin_a, client, sign_in, resident, moved_clock
):
    door, *_ = people
    sign_in(admin_a)
    moved_clock.advance(minutes=2)
    found = timezone.localtime(clock.now()).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/manage/buildings/{building_a.pk}/incidents/new/",
        {**INCIDENT_FIELDS, "found_at": found, "purposes": [door.pk]},
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert list(incident.affected.values_list("person_id", flat=True)) == [resident.pk]


def test_bad_input_changes_nothing(
    people, building_a, admin_a, client, sign_in, building_b, admin_b
):
    door, *_ = people
    other_building = make_active_purpose(building_b, admin_b)
    sign_in(admin_a)
    url = f"/manage/buildings/{building_a.pk}/incidents/new/"
    future = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    for data in (
        {**INCIDENT_FIELDS, "found_at": future, "purposes": [door.pk]},
        {**INCIDENT_FIELDS, "found_at": "yesterday", "purposes": [door.pk]},
        {**INCIDENT_FIELDS, "found_at": "2026-01-01T10:00", "purposes": [other_building.pk]},
        {"title": "x"},
    ):
        response = client.post(url, data)
        assert response.status_code == 200
        assert b"error" in response.content
    assert not Incident.objects.exists()


def test_admins_of_another_building_see_nothing(
    people, building_a, admin_a, admin_b, resident, client, sign_in
):
    door, *_ = people
    incident = record(building_a, admin_a, [door])
    sign_in(admin_b)
    for path in (
        f"/manage/incidents/{incident.pk}/",
        f"/manage/incidents/{incident.pk}/report/",
        f"/manage/incidents/{incident.pk}/report.json",
        f"/manage/buildings/{building_a.pk}/incidents/new/",
    ):
        assert client.get(path).status_code == 404
    assert client.post(f"/manage/incidents/{incident.pk}/notify/").status_code == 404
    assert not AffectedPerson.objects.filter(notified_at__isnull=False).exists()
    assert Incident.objects.get().reported_at is None
    sign_in(resident)
    assert client.get(f"/manage/incidents/{incident.pk}/").status_code == 404
