"""Requests from My data: filed by the person, due in 15 working days on the filing calendar,
queued for the admins of the person's buildings only, answered once; bad input changes nothing."""

from datetime import date

import pytest
from django.utils import timezone

from portal.models import AuditEntry, Membership
from recognition.rights import rules, services
from recognition.rights.models import RightsRequest

pytestmark = pytest.mark.django_db

QUEUE = "/manage/requests/"


def test_the_deadline_skips_weekends_and_the_listed_holidays(monkeypatch, settings):
    # 2026-09-30 is a Wednesday; the National Day week is off, Sunday 10-11 is worked.
    settings.FILING_HOLIDAYS = [date(2026, 10, d) for d in range(1, 8)]
    settings.FILING_WORKDAYS = [date(2026, 10, 11)]
    assert rules.request_due_on(date(2026, 9, 30)) == date(2026, 10, 21)  # plain weekdays
    assert rules.request_due_on(
        date(2026, 9, 30), settings.FILING_HOLIDAYS, settings.FILING_WORKDAYS
    ) == date(2026, 10, 27)


def test_a_person_files_a_request_from_my_data(client, sign_in, resident, building_a, settings):
    settings.FILING_HOLIDAYS = [date(2026, 10, d) for d in range(1, 8)]
    sign_in(resident)
    page = client.get("/my-data/").content.decode()
    assert "/my-data/requests/" in page
    response = client.post(
        "/my-data/requests/",
        {"building": building_a.pk, "kind": "explanation", "details": "Why the door camera?"},
    )
    assert response.status_code == 302
    request = RightsRequest.objects.get()
    assert (request.person, request.building, request.kind) == (resident, building_a, "explanation")
    today = timezone.localdate(request.filed_at)
    assert request.due_on == rules.request_due_on(today, settings.FILING_HOLIDAYS)
    assert AuditEntry.objects.filter(event="request.filed", person_id=resident.pk).exists()
    assert "Why the door camera?" in client.get("/my-data/requests/").content.decode()


def test_a_request_to_a_building_one_is_not_in_is_refused(
    client, sign_in, resident, building_b, admin_b
):
    sign_in(resident)
    for data in (
        {"building": building_b.pk, "kind": "access"},
        {"building": "x", "kind": "access"},
        {"building": "", "kind": "nonsense"},
    ):
        response = client.post("/my-data/requests/", data)
        assert response.status_code == 200
    assert not RightsRequest.objects.exists()
    with pytest.raises(services.ConsentError):
        services.file_request(resident, building=building_b, kind="access")
    assert not RightsRequest.objects.exists()


def test_the_queue_shows_the_admins_of_the_persons_buildings_only(
    client, sign_in, resident, admin_a, admin_b, building_a
):
    filed = services.file_request(resident, building=building_a, kind="copy")
    sign_in(admin_b)
    assert "copy of my data" not in client.get(QUEUE).content.decode()
    assert client.get(f"{QUEUE}{filed.pk}/").status_code == 404
    response = client.post(f"{QUEUE}{filed.pk}/", {"status": "answered", "answer": "Hijacked."})
    assert response.status_code == 404
    assert RightsRequest.objects.get().status == RightsRequest.OPEN
    sign_in(admin_a)
    page = client.get(QUEUE).content.decode()
    assert "a copy of my data" in page and filed.due_on.isoformat() in page
    response = client.post(
        f"{QUEUE}{filed.pk}/", {"status": "answered", "answer": "Your copy is attached."}
    )
    assert response.status_code == 302
    filed.refresh_from_db()
    assert filed.status == "answered" and filed.answered_by == admin_a
    entry = AuditEntry.objects.get(event="request.answered")
    assert entry.data["on_time"] is True
    # Answered once: a second answer is refused and changes nothing.
    again = client.post(f"{QUEUE}{filed.pk}/", {"status": "declined", "answer": "Changed."})
    assert again.status_code == 200
    filed.refresh_from_db()
    assert filed.answer == "Your copy is attached."


def test_an_empty_answer_is_refused(client, sign_in, resident, admin_a, building_a):
    filed = services.file_request(resident, building=building_a, kind="access")
    sign_in(admin_a)
    for data in ({"status": "answered", "answer": ""}, {"status": "open", "answer": "x"}, {}):
        assert client.post(f"{QUEUE}{filed.pk}/", data).status_code == 200
    assert RightsRequest.objects.get().status == RightsRequest.OPEN


def test_the_queue_shows_the_working_days_left_and_overdue(
    client, sign_in, resident, admin_a, building_a, moved_clock
):
    filed = services.file_request(resident, building=building_a, kind="deletion")
    sign_in(admin_a)
    moved_clock.advance(days=30)
    page = client.get(QUEUE).content.decode()
    assert "overdue" in page
    assert rules.clock(filed.due_on, filed.due_on).working_days_left == 0


def test_a_former_admin_sees_nothing(client, sign_in, resident, admin_a, building_a):
    filed = services.file_request(resident, building=building_a, kind="access")
    Membership.objects.filter(user=admin_a).update(left_at=timezone.now())
    sign_in(admin_a)
    assert client.get(f"{QUEUE}{filed.pk}/").status_code == 404
