"""Resident and guardian pages: notice before the choice, separate grant, one-click withdrawal."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent import rules
from consent.models import Consent
from consent.mydata import collect_personal_data
from portal import clock
from tests.factories import grant, make_active_purpose, make_person

pytestmark = pytest.mark.django_db


def _decide(client, purpose, action, **extra):
    purpose.refresh_from_db()
    data = {"action": action, "notice_hash": purpose.current_notice.text_hash, **extra}
    return client.post(f"/consents/purposes/{purpose.pk}/decide/", data, follow=True)


def test_my_consents_shows_the_full_notice_before_an_unticked_box(sign_in, resident, purpose):
    page = sign_in(resident).get("/consents/").content.decode()
    assert "rights text" in page and "withdrawal text" in page
    assert page.index("withdrawal text") < page.index('name="agree"')
    assert 'type="checkbox" name="agree" value="on" required>' in page  # not pre-ticked
    assert "checked" not in page.split('name="agree"')[1].split(">")[0]


def test_grant_needs_the_box_ticked(sign_in, resident, purpose):
    client = sign_in(resident)
    page = _decide(client, purpose, "grant").content.decode()
    assert "tick the box" in page
    assert not Consent.objects.exists()
    page = _decide(client, purpose, "grant", agree="on").content.decode()
    assert "Consent given" in page
    consent = Consent.objects.get()
    assert consent.channel == "web" and consent.user_agent is not None


def test_each_purpose_is_granted_separately(sign_in, resident, purpose, building_a, admin_a):
    second = make_active_purpose(building_a, admin_a, name="Face sign-in")
    _decide(sign_in(resident), purpose, "grant", agree="on")
    assert Consent.objects.active_for(resident, purpose) is not None
    assert Consent.objects.active_for(resident, second) is None


def test_withdraw_is_one_button(sign_in, resident, purpose):
    client = sign_in(resident)
    _decide(client, purpose, "grant", agree="on")
    page = client.get("/consents/").content.decode()
    assert 'value="withdraw"' in page
    response = client.post(f"/consents/purposes/{purpose.pk}/decide/", {"action": "withdraw"})
    assert response.status_code == 302
    assert Consent.objects.active_for(resident, purpose) is None


def test_refusal_hides_the_question_until_the_notice_changes(sign_in, resident, purpose):
    client = sign_in(resident)
    page = _decide(client, purpose, "refuse").content.decode()
    assert "will not be asked again" in page
    page = client.get("/consents/").content.decode()
    assert "Your decision is needed" not in page
    assert Consent.objects.get().status == rules.REFUSED


def test_minor_sees_guardian_message_and_own_click_is_refused(sign_in, building_a, purpose):
    today = clock.now().date()
    guardian = make_person("parent", building_a, "resident")
    minor = make_person(
        "child", building_a, "resident", birth_date=date(today.year - 10, 1, 1), guardian=guardian
    )
    client = sign_in(minor)
    assert "your guardian must give this consent" in client.get("/consents/").content.decode()
    page = _decide(client, purpose, "grant", agree="on").content.decode()
    assert "your guardian must give this consent" in page
    assert not Consent.objects.exists()


def test_guardian_grants_for_a_ward(sign_in, client, building_a, purpose, django_user_model):
    today = clock.now().date()
    guardian = make_person("parent", building_a, "resident")
    minor = make_person(
        "child", building_a, "resident", birth_date=date(today.year - 10, 1, 1), guardian=guardian
    )
    sign_in(guardian)
    assert "child" in client.get("/consents/wards/").content.decode()
    purpose.refresh_from_db()
    response = client.post(
        f"/consents/wards/{minor.pk}/purposes/{purpose.pk}/decide/",
        {"action": "grant", "agree": "on", "notice_hash": purpose.current_notice.text_hash},
    )
    assert response.status_code == 302
    consent = Consent.objects.active_for(minor, purpose)
    assert consent is not None and consent.granted_by == guardian


def test_a_stranger_cannot_open_someone_elses_ward_page(sign_in, building_a, resident, purpose):
    today = clock.now().date()
    minor = make_person("child", building_a, "resident", birth_date=date(today.year - 10, 1, 1))
    client = sign_in(resident)
    assert client.get(f"/consents/wards/{minor.pk}/").status_code == 404
    purpose.refresh_from_db()
    response = client.post(
        f"/consents/wards/{minor.pk}/purposes/{purpose.pk}/decide/",
        {"action": "grant", "agree": "on", "notice_hash": purpose.current_notice.text_hash},
    )
    assert response.status_code == 404


def test_receipt_page_and_json_are_only_for_the_person(
    sign_in, client, resident, other_resident, purpose
):
    consent = grant(resident, purpose)
    sign_in(resident)
    page = client.get(f"/consents/{consent.pk}/receipt/").content.decode()
    assert str(consent.receipt_id) in page and "biometric" in page
    data = client.get(f"/consents/{consent.pk}/receipt.json").json()
    assert data["version"] == "KI-CR-v1.1.0"
    assert data["sensitive"] is True and data["spiCat"] == ["biometric"]
    assert data["piiControllers"][0]["piiController"] == "A Property Co."
    assert data["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    assert data["noticeHash"] == consent.notice_hash
    assert client.get(data["policyUrl"]).status_code == 200
    client.post("/accounts/logout/")
    sign_in(other_resident)
    assert client.get(f"/consents/{consent.pk}/receipt/").status_code == 404
    assert client.get(f"/consents/{consent.pk}/receipt.json").status_code == 404


def test_my_data_includes_sections_from_other_apps(sign_in, resident, purpose):
    def receiver(sender, person, **kwargs):
        return {"key": "faces", "title": "Face templates", "rows": [{"purpose": "door"}]}

    grant(resident, purpose)
    collect_personal_data.connect(receiver)
    try:
        client = sign_in(resident)
        page = client.get("/my-data/").content.decode()
        response = client.get("/my-data.json")
    finally:
        collect_personal_data.disconnect(receiver)
    assert "Face templates" in page and "Consent history" in page
    assert "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["sections"]["faces"]["rows"] == [{"purpose": "door"}]
    assert data["sections"]["consents"]["rows"][0]["status"] == "granted"


def test_pages_are_translated(sign_in, resident, purpose):
    client = sign_in(resident)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/consents/"})
    page = client.get("/consents/").content.decode()
    assert 'lang="zh-hans"' in page
    assert "purpose text (zh)" in page  # the notice in the reader's language


def test_nav_links(sign_in, resident, admin_a):
    page = sign_in(resident).get("/").content.decode()
    assert 'href="/consents/"' in page and 'href="/my-data/"' in page
    assert 'href="/manage/purposes/"' not in page


def _my_consents_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/consents/").status_code == 200
    return len(queries)


def test_my_consents_costs_a_fixed_number_of_queries(sign_in, resident, building_a, admin_a):
    client = sign_in(resident)
    first = make_active_purpose(building_a, admin_a, name="P0")
    grant(resident, first)
    one = _my_consents_queries(client)
    for n in range(1, 20):
        purpose = make_active_purpose(building_a, admin_a, name=f"P{n}")
        grant(resident, purpose)
        if n % 2:
            from consent import services

            services.withdraw_consent(resident, purpose, actor=resident)
            grant(resident, purpose)
    twenty = _my_consents_queries(client)
    assert one == twenty
    assert twenty <= 12


def test_admin_purposes_page_activates_and_retires(sign_in, client, admin_a, admin_b, purpose):
    sign_in(admin_a)
    page = client.get("/manage/purposes/").content.decode()
    assert purpose.name in page
    assert client.get(f"/manage/buildings/{purpose.building_id}/consents/").status_code == 200
    client.post("/accounts/logout/")
    sign_in(admin_b)
    assert client.get(f"/manage/buildings/{purpose.building_id}/consents/").status_code == 404
    assert client.post(f"/manage/purposes/{purpose.pk}/retire/").status_code == 404
    purpose.refresh_from_db()
    assert purpose.status == rules.ACTIVE


def test_admin_consent_list_pages_by_keyset(sign_in, client, admin_a, building_a, purpose):
    from consent import views

    for n in range(views.PAGE_SIZE + 5):
        grant(make_person(f"r{n}", building_a, "resident"), purpose)
    sign_in(admin_a)
    page = client.get(f"/manage/buildings/{building_a.pk}/consents/").content.decode()
    assert "?before=" in page
    before = page.split("?before=")[1].split('"')[0]
    older = client.get(f"/manage/buildings/{building_a.pk}/consents/?before={before}")
    assert older.content.decode().count("<tr><td>r") == 5


def test_demo_building_gets_two_active_purposes(db):
    from consent.models import Purpose
    from portal.demo import load_demo

    load_demo()
    purposes = Purpose.objects.active().order_by("name")
    assert [(p.name, p.method) for p in purposes] == [
        ("Door access by face", rules.IDENTIFICATION),
        ("Face sign-in for staff", rules.VERIFICATION),
    ]
    for p in purposes:
        assert p.assessments.filter(approved_at__isnull=False).exists()
        assert set(p.current_notice.texts) == {"en", "zh-hans"}


def test_renewal_message_is_shown_until_read(sign_in, resident, purpose, admin_a):
    from consent import services
    from tests.factories import TEXTS

    grant(resident, purpose)
    services.publish_notice(purpose, actor=admin_a, texts=TEXTS, data_collected="More data.")
    client = sign_in(resident)
    page = client.get("/consents/").content.decode()
    assert "changed what you agreed to" in page
    assert "Your decision is needed" in page
    client.post("/consents/messages/read/")
    assert "changed what you agreed to" not in client.get("/consents/").content.decode()


def test_my_consents_api_costs_a_fixed_number_of_queries(sign_in, resident, building_a, admin_a):
    client = sign_in(resident)
    grant(resident, make_active_purpose(building_a, admin_a, name="P0"))
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/consents/")
    for n in range(1, 20):
        grant(resident, make_active_purpose(building_a, admin_a, name=f"P{n}"))
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get("/api/v1/consents/").json()) == 20
    assert len(one) == len(twenty)
