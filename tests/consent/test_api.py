"""The consent API: residents reach only their own records, admins only their buildings."""

from datetime import date

import pytest

from consent import rules
from consent.models import Assessment, Consent, Notice, Purpose
from portal import clock
from tests.factories import ASSESSMENT, TEXTS, grant, make_person, purpose_fields

pytestmark = pytest.mark.django_db


def _hash(purpose):
    purpose.refresh_from_db()
    return purpose.current_notice.text_hash


def test_resident_lists_grants_and_withdraws(sign_in, client, resident, purpose):
    sign_in(resident)
    rows = client.get("/api/v1/consents/").json()
    assert [r["state"] for r in rows] == [rules.NOT_ASKED]
    assert rows[0]["needs_decision"] is True
    assert rows[0]["notice"]["texts"]["zh-hans"]["rights"] == "rights text (zh)"
    url = f"/api/v1/purposes/{purpose.pk}/grant/"
    refused = client.post(url, {"notice_hash": _hash(purpose), "agree": False}, "application/json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid"
    granted = client.post(url, {"notice_hash": _hash(purpose), "agree": True}, "application/json")
    assert granted.status_code == 200, granted.content
    assert granted.json()["state"] == rules.STATE_ACTIVE
    consent_id = granted.json()["id"]
    detail = client.get(f"/api/v1/consents/{consent_id}/").json()
    assert [e["kind"] for e in detail["events"]] == [rules.GRANTED]
    receipt = client.get(f"/api/v1/consents/{consent_id}/receipt/").json()
    assert receipt["consentReceiptID"] == granted.json()["receipt_id"]
    withdrawn = client.post(f"/api/v1/purposes/{purpose.pk}/withdraw/", {}, "application/json")
    assert withdrawn.json()["status"] == rules.WITHDRAWN
    assert Consent.objects.active_for(resident, purpose) is None
    again = client.post(f"/api/v1/purposes/{purpose.pk}/withdraw/", {}, "application/json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_granted"


def test_stale_notice_is_refused_with_the_current_hash(sign_in, client, resident, purpose):
    sign_in(resident)
    response = client.post(
        f"/api/v1/purposes/{purpose.pk}/grant/",
        {"notice_hash": "f" * 64, "agree": True},
        "application/json",
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "notice_changed"
    assert error["details"]["current_notice_hash"] == _hash(purpose)


def test_refuse_through_the_api(sign_in, client, resident, purpose):
    sign_in(resident)
    response = client.post(
        f"/api/v1/purposes/{purpose.pk}/refuse/",
        {"notice_hash": _hash(purpose)},
        "application/json",
    )
    assert response.json()["status"] == rules.REFUSED
    row = client.get("/api/v1/consents/").json()[0]
    assert row["needs_decision"] is False


def test_minor_via_api_is_refused_and_guardian_on_behalf_accepted(
    sign_in, client, building_a, purpose
):
    today = clock.now().date()
    guardian = make_person("parent", building_a, "resident")
    minor = make_person(
        "child", building_a, "resident", birth_date=date(today.year - 10, 1, 1), guardian=guardian
    )
    body = {"notice_hash": _hash(purpose), "agree": True}
    sign_in(minor)
    response = client.post(f"/api/v1/purposes/{purpose.pk}/grant/", body, "application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "guardian_required"
    client.post("/accounts/logout/")
    sign_in(guardian)
    response = client.post(
        f"/api/v1/purposes/{purpose.pk}/grant/",
        {**body, "on_behalf_of": minor.pk},
        "application/json",
    )
    assert response.status_code == 200
    assert response.json()["granted_by"] == "parent"
    assert client.get(f"/api/v1/consents/?person={minor.pk}").json()[0]["state"] == "active"


def test_every_resident_endpoint_refuses_another_residents_records(
    sign_in, client, resident, other_resident, purpose, purpose_b
):
    theirs = grant(other_resident, purpose)
    sign_in(resident)
    body = {"notice_hash": _hash(purpose), "agree": True}
    for url in (f"/api/v1/consents/{theirs.pk}/", f"/api/v1/consents/{theirs.pk}/receipt/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/consents/?person={other_resident.pk}").status_code == 404
    for action in ("grant", "refuse", "withdraw"):
        response = client.post(
            f"/api/v1/purposes/{purpose.pk}/{action}/",
            {**body, "on_behalf_of": other_resident.pk},
            "application/json",
        )
        assert response.status_code == 404, action
        # A purpose of a building the resident does not live in.
        response = client.post(
            f"/api/v1/purposes/{purpose_b.pk}/{action}/",
            {"notice_hash": _hash(purpose_b), "agree": True},
            "application/json",
        )
        assert response.status_code == 404, action
    assert Consent.objects.active_for(other_resident, purpose) == theirs
    data = client.get("/api/v1/my-data/").json()
    assert data["person"] == "resident"
    assert data["sections"]["consents"]["rows"] == []


def test_resident_cannot_use_admin_endpoints(sign_in, client, resident, purpose):
    sign_in(resident)
    assert client.get("/api/v1/admin/purposes/").json() == []
    assert client.get(f"/api/v1/admin/purposes/{purpose.pk}/").status_code == 404
    assert client.post(f"/api/v1/admin/purposes/{purpose.pk}/retire/").status_code == 404


def test_admin_builds_a_purpose_through_the_api(sign_in, client, admin_a, building_a, resident):
    sign_in(admin_a)
    created = client.post(
        "/api/v1/admin/purposes/",
        {**purpose_fields(), "building": building_a.pk},
        "application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    activate = client.post(f"/api/v1/admin/purposes/{pk}/activate/")
    assert activate.status_code == 409
    assert activate.json()["error"]["code"] == "not_ready"
    assert activate.json()["error"]["details"]["missing"] == ["assessment", "notice"]
    assert "impact assessment" in activate.json()["error"]["message"]
    patched = client.patch(
        f"/api/v1/admin/purposes/{pk}/", {"name": "Lobby door"}, "application/json"
    )
    assert patched.json()["name"] == "Lobby door"
    assessment = client.post(
        f"/api/v1/admin/purposes/{pk}/assessments/", ASSESSMENT, "application/json"
    ).json()
    approved = client.post(f"/api/v1/admin/assessments/{assessment['id']}/approve/").json()
    assert approved["approved"] is True and approved["keep_until"]
    notice = client.post(
        f"/api/v1/admin/purposes/{pk}/notices/",
        {"data_collected": "One template.", "texts": TEXTS},
        "application/json",
    )
    assert notice.status_code == 201, notice.content
    assert client.get(f"/api/v1/admin/notices/{notice.json()['id']}/").json()["version"] == 1
    assert client.post(f"/api/v1/admin/purposes/{pk}/activate/").json()["status"] == "active"
    patched = client.patch(f"/api/v1/admin/purposes/{pk}/", {"name": "x"}, "application/json")
    assert patched.status_code == 409
    grant(resident, Purpose.objects.get(pk=pk))
    listed = client.get(f"/api/v1/admin/buildings/{building_a.pk}/consents/").json()
    assert [c["person"] for c in listed["results"]] == ["resident"]
    assert "next" in listed
    left = client.post(f"/api/v1/admin/buildings/{building_a.pk}/people/{resident.pk}/left/")
    assert left.json() == {"consents_ended": 1}
    assert client.post(f"/api/v1/admin/purposes/{pk}/retire/").json()["status"] == "retired"


def test_admin_purpose_without_alternatives_is_refused(sign_in, client, admin_a, building_a):
    sign_in(admin_a)
    response = client.post(
        "/api/v1/admin/purposes/",
        {**purpose_fields(alternatives=[]), "building": building_a.pk},
        "application/json",
    )
    assert response.status_code == 400
    assert "alternatives" in response.json()["error"]["details"]


def test_every_admin_endpoint_refuses_another_buildings(
    sign_in, client, admin_b, building_a, resident, purpose
):
    grant(resident, purpose)
    notice = Notice.objects.get(purpose=purpose)
    assessment = Assessment.objects.get(purpose=purpose)
    sign_in(admin_b)
    gets = [
        f"/api/v1/admin/purposes/{purpose.pk}/",
        f"/api/v1/admin/purposes/{purpose.pk}/notices/",
        f"/api/v1/admin/purposes/{purpose.pk}/assessments/",
        f"/api/v1/admin/notices/{notice.pk}/",
        f"/api/v1/admin/assessments/{assessment.pk}/",
        f"/api/v1/admin/buildings/{building_a.pk}/consents/",
    ]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    posts = [
        ("/api/v1/admin/purposes/", {**purpose_fields(), "building": building_a.pk}),
        (f"/api/v1/admin/purposes/{purpose.pk}/activate/", {}),
        (f"/api/v1/admin/purposes/{purpose.pk}/retire/", {}),
        (f"/api/v1/admin/purposes/{purpose.pk}/notices/", {"data_collected": "x", "texts": TEXTS}),
        (f"/api/v1/admin/purposes/{purpose.pk}/assessments/", ASSESSMENT),
        (f"/api/v1/admin/assessments/{assessment.pk}/approve/", {}),
        (f"/api/v1/admin/buildings/{building_a.pk}/people/{resident.pk}/left/", {}),
    ]
    for url, body in posts:
        assert client.post(url, body, "application/json").status_code == 404, url
    assert (
        client.patch(
            f"/api/v1/admin/purposes/{purpose.pk}/", {"name": "x"}, "application/json"
        ).status_code
        == 404
    )
    assert (
        client.patch(
            f"/api/v1/admin/assessments/{assessment.pk}/",
            {"security_risks": "x"},
            "application/json",
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/admin/purposes/{purpose.pk}/").status_code == 404
    assert client.get("/api/v1/admin/purposes/").json() == []
    purpose.refresh_from_db()
    assert purpose.status == rules.ACTIVE
    assert Consent.objects.active_for(resident, purpose) is not None


def test_consent_api_is_in_the_openapi_schema(sign_in, client, resident):
    sign_in(resident)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json() if response["Content-Type"].endswith("json") else None
    text = response.content.decode()
    for path in (
        "/api/v1/consents/",
        "/api/v1/purposes/{id}/grant/",
        "/api/v1/purposes/{id}/withdraw/",
        "/api/v1/admin/purposes/{id}/activate/",
        "/api/v1/admin/buildings/{id}/consents/",
        "/api/v1/my-data/",
    ):
        assert path in (schema["paths"] if schema else text), path
