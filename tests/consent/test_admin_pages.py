"""Building admins' pages for purposes, notices, assessments and people: the whole lifecycle
through the pages, activation refused without an approved assessment, assessment reviews,
inviting and marking people as left, and nothing of another building, in pages or the API."""

from datetime import timedelta

import numpy as np
import pytest
from django.test import override_settings

from consent import rules, services
from consent.models import Assessment, Consent, Notice, Purpose
from portal.models import AuditEntry, Membership, User
from recognition.lifecycle.services import store_template
from recognition.models import FaceTemplate
from tests.factories import (
    ASSESSMENT,
    TEXTS,
    grant,
    make_active_purpose,
    make_person,
    purpose_fields,
)

pytestmark = pytest.mark.django_db

PURPOSE_FORM = {
    "name": "Lobby door by face",
    "specific_purpose": "Open the lobby door.",
    "necessity_and_impact": "Hands-free entry for residents who want it.",
    "method": rules.IDENTIFICATION,
    "kind": rules.KIND_DOOR,
    "audience": rules.AUDIENCE_BOTH,
    "storage": rules.STORAGE_ON_PREMISES,
    "retention_days": "365",
    "until_person_leaves": "on",
    "alternatives": ["staff_assisted", "door_code"],
}


def notice_form(**extra) -> dict:
    data = {"data_collected": "One encrypted face template.", **extra}
    for language, texts in TEXTS.items():
        for key, text in texts.items():
            data[f"{language.replace('-', '_')}__{key}"] = text
    return data


def page(response) -> str:
    return response.content.decode()


# The lifecycle through the pages ------------------------------------------------------------


def test_a_purpose_goes_from_draft_to_active_through_the_pages(
    client, sign_in, admin_a, building_a
):
    sign_in(admin_a)
    response = client.post("/manage/purposes/new/", {"building": building_a.pk, **PURPOSE_FORM})
    assert response.status_code == 302, page(response)
    purpose = Purpose.objects.get(name="Lobby door by face")
    assert purpose.status == rules.DRAFT and purpose.alternatives == ["staff_assisted", "door_code"]
    detail = page(client.get(f"/manage/purposes/{purpose.pk}/"))
    assert "Before it can be activated" in detail

    # Activation without an approved assessment (and without a notice) is refused.
    refused = page(client.post(f"/manage/purposes/{purpose.pk}/activate/", follow=True))
    assert "cannot be activated yet" in refused and "impact assessment" in refused
    purpose.refresh_from_db()
    assert purpose.status == rules.DRAFT

    response = client.post(f"/manage/purposes/{purpose.pk}/notices/new/", notice_form())
    assert response.status_code == 302, page(response)
    assert Notice.objects.filter(purpose=purpose, version=1).exists()
    refused = page(client.post(f"/manage/purposes/{purpose.pk}/activate/", follow=True))
    assert "cannot be activated yet" in refused
    assert Purpose.objects.get(pk=purpose.pk).status == rules.DRAFT

    response = client.post(f"/manage/purposes/{purpose.pk}/assessments/new/", ASSESSMENT)
    assert response.status_code == 302, page(response)
    assessment = Assessment.objects.get(purpose=purpose)
    refused = page(client.post(f"/manage/purposes/{purpose.pk}/activate/", follow=True))
    assert "cannot be activated yet" in refused  # written, but not approved
    client.post(f"/manage/assessments/{assessment.pk}/approve/")
    assessment.refresh_from_db()
    assert assessment.approved and assessment.approved_by == admin_a

    done = page(client.post(f"/manage/purposes/{purpose.pk}/activate/", follow=True))
    assert "Purpose activated" in done
    assert Purpose.objects.get(pk=purpose.pk).status == rules.ACTIVE


def test_the_notice_form_needs_both_languages(client, sign_in, admin_a, building_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    sign_in(admin_a)
    data = notice_form()
    data["zh_hans__rights"] = ""
    response = client.post(f"/manage/purposes/{purpose.pk}/notices/new/", data)
    assert response.status_code == 200
    assert not Notice.objects.exists()


def test_an_active_purpose_changes_only_with_a_notice_and_asks_for_renewal(
    client, sign_in, admin_a, resident, purpose
):
    grant(resident, purpose)
    sign_in(admin_a)
    assert "Only a draft" in page(client.get(f"/manage/purposes/{purpose.pk}/edit/", follow=True))
    form = notice_form(
        **{
            "terms-name": purpose.name,
            "terms-specific_purpose": purpose.specific_purpose,
            "terms-necessity_and_impact": purpose.necessity_and_impact,
            "terms-method": purpose.method,
            "terms-audience": purpose.audience,
            "terms-storage": purpose.storage,
            "terms-retention_days": "30",
            "terms-until_person_leaves": "on",
            "terms-alternatives": purpose.alternatives,
        }
    )
    response = client.post(f"/manage/purposes/{purpose.pk}/notices/new/", form, follow=True)
    assert "decide again" in page(response)
    purpose.refresh_from_db()
    assert purpose.retention_days == 30 and purpose.current_notice.version == 2
    assert Consent.objects.get(person=resident).renewal_needed_at is not None


def test_an_approved_assessment_is_read_only(client, sign_in, admin_a, purpose):
    assessment = purpose.assessments.get()
    sign_in(admin_a)
    shown = page(client.get(f"/manage/assessments/{assessment.pk}/"))
    assert "Approved on" in shown and "<textarea" not in shown
    assert client.post(f"/manage/assessments/{assessment.pk}/", ASSESSMENT).status_code == 404


def test_a_draft_assessment_is_edited(client, sign_in, admin_a, building_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    assessment = services.create_assessment(purpose, actor=admin_a, **ASSESSMENT)
    sign_in(admin_a)
    client.post(
        f"/manage/assessments/{assessment.pk}/", {**ASSESSMENT, "security_risks": "Reviewed."}
    )
    assessment.refresh_from_db()
    assert assessment.security_risks == "Reviewed." and not assessment.approved


def test_retiring_needs_the_box_ticked(client, sign_in, admin_a, purpose):
    sign_in(admin_a)
    client.post(f"/manage/purposes/{purpose.pk}/retire/")
    assert Purpose.objects.get(pk=purpose.pk).status == rules.ACTIVE
    client.post(f"/manage/purposes/{purpose.pk}/retire/", {"confirm": "on"})
    assert Purpose.objects.get(pk=purpose.pk).status == rules.RETIRED


def test_a_draft_without_records_is_deleted(client, sign_in, admin_a, building_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    sign_in(admin_a)
    client.post(f"/manage/purposes/{purpose.pk}/delete/")
    assert not Purpose.objects.filter(pk=purpose.pk).exists()


# Assessment reviews -------------------------------------------------------------------------


def test_changing_the_method_after_approval_needs_a_new_assessment(
    client, sign_in, admin_a, building_a
):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    services.approve_assessment(
        services.create_assessment(purpose, actor=admin_a, **ASSESSMENT), actor=admin_a
    )
    services.publish_notice(purpose, actor=admin_a, texts=TEXTS, data_collected="One template.")
    sign_in(admin_a)
    client.post(
        f"/manage/purposes/{purpose.pk}/edit/", {**PURPOSE_FORM, "method": rules.VERIFICATION}
    )
    purpose.refresh_from_db()
    assert purpose.method == rules.VERIFICATION
    detail = page(client.get(f"/manage/purposes/{purpose.pk}/"))
    assert "approved since the purpose or method last changed" not in detail
    assert "covering the current purpose and method" in detail
    refused = page(client.post(f"/manage/purposes/{purpose.pk}/activate/", follow=True))
    assert "approved since the purpose or method last changed" in refused
    assert Purpose.objects.get(pk=purpose.pk).status == rules.DRAFT

    client.post(f"/manage/purposes/{purpose.pk}/assessments/new/", ASSESSMENT)
    client.post(f"/manage/assessments/{purpose.assessments.first().pk}/approve/")
    client.post(f"/manage/purposes/{purpose.pk}/activate/")
    assert Purpose.objects.get(pk=purpose.pk).status == rules.ACTIVE


def test_a_name_change_keeps_the_assessment(admin_a, building_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    services.approve_assessment(
        services.create_assessment(purpose, actor=admin_a, **ASSESSMENT), actor=admin_a
    )
    services.publish_notice(purpose, actor=admin_a, texts=TEXTS, data_collected="One template.")
    services.update_purpose(
        purpose, actor=admin_a, name="Renamed", specific_purpose=" Open the lobby door. "
    )
    assert services.activate_purpose(purpose, actor=admin_a).status == rules.ACTIVE


def test_a_changed_active_purpose_is_covered_by_the_assessment_it_required(
    admin_a, purpose, moved_clock
):
    moved_clock.advance(seconds=1)
    services.approve_assessment(
        services.create_assessment(purpose, actor=admin_a, **ASSESSMENT), actor=admin_a
    )
    services.publish_notice(
        purpose,
        actor=admin_a,
        texts=TEXTS,
        data_collected="One template.",
        changes={"method": rules.VERIFICATION},
    )
    purpose.refresh_from_db()
    latest = purpose.assessments.order_by("-approved_at").first().approved_at
    assert (
        rules.assessment_review(
            latest_approved_at=latest,
            needs_assessment_after=purpose.needs_assessment_after,
            now=latest,
            review_days=365,
        )
        is None
    )


@override_settings(ASSESSMENT_REVIEW_DAYS=30)
def test_an_old_assessment_is_due_for_review(client, sign_in, admin_a, purpose, moved_clock):
    sign_in(admin_a)
    assert "Review due" not in page(client.get("/manage/purposes/"))
    moved_clock.advance(days=31)
    listing = page(client.get("/manage/purposes/"))
    assert "Review due" in listing and "older than the review period" in listing
    assert "due for review" in page(client.get(f"/manage/purposes/{purpose.pk}/"))


@pytest.mark.parametrize(
    ("approved", "after", "age_days", "expected"),
    [
        (None, None, 0, rules.REVIEW_MISSING),
        (0, 0, 0, None),
        (0, 1, 0, rules.REVIEW_SCOPE_CHANGED),  # changed after the approval
        (1, 0, 0, None),
        (0, None, 364, None),
        (0, None, 365, rules.REVIEW_AGE),
        (0, 1, 400, rules.REVIEW_SCOPE_CHANGED),  # the change is reported first
    ],
)
def test_assessment_review_rule(approved, after, age_days, expected):
    from portal import clock

    base = clock.now()
    approved_at = None if approved is None else base + timedelta(seconds=approved)
    after_at = None if after is None else base + timedelta(seconds=after)
    now = base + timedelta(days=age_days)
    assert (
        rules.assessment_review(
            latest_approved_at=approved_at,
            needs_assessment_after=after_at,
            now=now,
            review_days=365,
        )
        == expected
    )


# People -------------------------------------------------------------------------------------


def test_inviting_makes_an_account_without_password_and_a_link_to_set_one(
    client, sign_in, admin_a, building_a
):
    sign_in(admin_a)
    response = client.post(
        "/manage/people/invite/",
        {
            "building": building_a.pk,
            "role": "staff",
            "username": "newcomer",
            "first_name": "Li",
            "adult_attested": "on",
        },
    )
    assert response.status_code == 200
    person = User.objects.get(username="newcomer")
    assert not person.has_usable_password()
    assert Membership.objects.current().filter(user=person, building=building_a, role="staff")
    assert AuditEntry.objects.filter(event="person.invited", person_id=person.pk).exists()
    link = page(response).split('id="set-password-link">')[1].split("<")[0]
    assert link.startswith("http://testserver/accounts/set-password/")

    client.post("/accounts/logout/")
    form = client.get(link, follow=True)
    assert "Set your password" in page(form) and "not valid" not in page(form)
    password = "a long new password 42"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
        follow=True,
    )
    assert "Password set" in page(done)
    assert client.login(username="newcomer", password=password)
    client.logout()
    assert "not valid" in page(client.get(link, follow=True))  # used once


def test_a_taken_username_is_refused(client, sign_in, admin_a, building_a, admin_b):
    sign_in(admin_a)
    response = client.post(
        "/manage/people/invite/",
        {"building": building_a.pk, "role": "resident", "username": "ADMIN_B"},
    )
    assert "taken" in page(response)
    assert not Membership.objects.filter(user=admin_b, building=building_a).exists()


def test_a_person_who_left_can_be_invited_back(admin_a, building_a, resident):
    services.mark_person_left(resident, building_a, actor=admin_a)
    services.invite_person(building_a, actor=admin_a, role="resident", username="resident")
    assert Membership.objects.current().filter(user=resident, building=building_a).exists()
    resident.refresh_from_db()
    assert resident.has_usable_password()  # their own account, unchanged


def test_a_child_is_invited_with_a_guardian_of_the_building(admin_a, building_a, resident):
    from portal import clock

    born = clock.now().date().replace(year=clock.now().year - 9)
    child = services.invite_person(
        building_a,
        actor=admin_a,
        role="resident",
        username="child",
        birth_date=born,
        guardian_username="resident",
    )
    assert child.guardian == resident
    with pytest.raises(services.ConsentError):
        services.invite_person(
            building_a, actor=admin_a, role="resident", username="kid", guardian_username="nobody"
        )


def test_admins_are_not_made_through_invitations(admin_a, building_a):
    with pytest.raises(services.ConsentError):
        services.invite_person(building_a, actor=admin_a, role="admin", username="boss")


def test_the_person_page_shows_consent_status_and_never_face_data(
    client, sign_in, admin_a, resident, purpose, building_a
):
    grant(resident, purpose)
    store_template(resident, purpose, np.linspace(-1, 1, 128, dtype=np.float32), "test-model")
    sign_in(admin_a)
    shown = page(client.get(f"/manage/buildings/{building_a.pk}/people/{resident.pk}/"))
    assert purpose.name in shown and "consent given" in shown
    for word in ("template", "embedding", "distance", "test-model"):
        assert word not in shown.lower()


def test_marking_a_person_as_left_ends_consents_and_deletes_face_data(
    client, sign_in, admin_a, resident, purpose, building_a
):
    grant(resident, purpose)
    store_template(resident, purpose, np.ones(128, dtype=np.float32), "test-model")
    sign_in(admin_a)
    url = f"/manage/buildings/{building_a.pk}/people/{resident.pk}/left/"
    client.post(url)  # not confirmed: nothing happens
    assert FaceTemplate.objects.filter(person=resident).exists()
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "Recorded as left" in page(response)
    assert not Membership.objects.current().filter(user=resident, building=building_a).exists()
    assert Consent.objects.get(person=resident).status == rules.ENDED
    assert not FaceTemplate.objects.filter(person=resident).exists()


def test_the_people_list_pages_and_filters(client, sign_in, admin_a, building_a, building_b):
    from consent import admin_views

    for n in range(admin_views.PEOPLE_PAGE_SIZE + 3):
        make_person(f"p{n:03d}", building_a, "resident")
    make_person("elsewhere", building_b, "resident")
    sign_in(admin_a)
    first = page(client.get("/manage/people/"))
    assert "elsewhere" not in first and "?before=" in first
    assert "p000" not in first  # newest first: the oldest are on the next page
    before = first.split("?before=")[1].split("&")[0]
    second = page(client.get(f"/manage/people/?before={before}"))
    assert "p000" in second
    found = page(client.get("/manage/people/?q=p00&role=resident"))
    assert "p001" in found and "p010" not in found


# Another building's objects: not found, in pages and in the API ----------------------------


@pytest.fixture
def b_world(building_b, admin_b):
    """Building B's purpose (active), a draft with an assessment, a resident."""
    purpose = make_active_purpose(building_b, admin_b, name="B door")
    draft = services.create_purpose(building_b, actor=admin_b, **purpose_fields(name="B draft"))
    assessment = services.create_assessment(draft, actor=admin_b, **ASSESSMENT)
    person = make_person("b_resident", building_b, "resident")
    grant(person, purpose)
    return {"purpose": purpose, "draft": draft, "assessment": assessment, "person": person}


def test_an_admin_of_building_a_sees_nothing_of_building_b(client, sign_in, admin_a, b_world):
    purpose, draft = b_world["purpose"], b_world["draft"]
    assessment, person = b_world["assessment"], b_world["person"]
    building_id = purpose.building_id
    sign_in(admin_a)
    assert "B door" not in page(client.get("/manage/purposes/"))
    assert "b_resident" not in page(client.get("/manage/people/"))
    assert "b_resident" not in page(client.get("/manage/people/?former=1"))
    for url in (
        f"/manage/purposes/{purpose.pk}/",
        f"/manage/purposes/{draft.pk}/edit/",
        f"/manage/purposes/{purpose.pk}/notices/new/",
        f"/manage/notices/{purpose.current_notice_id}/",
        f"/manage/purposes/{draft.pk}/assessments/new/",
        f"/manage/assessments/{assessment.pk}/",
        f"/manage/buildings/{building_id}/people/{person.pk}/",
        f"/manage/buildings/{building_id}/consents/",
    ):
        assert client.get(url).status_code == 404, url


def test_an_admin_of_building_a_changes_nothing_of_building_b(client, sign_in, admin_a, b_world):
    purpose, draft = b_world["purpose"], b_world["draft"]
    assessment, person = b_world["assessment"], b_world["person"]
    building_id = purpose.building_id
    entries = AuditEntry.objects.count()
    sign_in(admin_a)
    posts = [
        (f"/manage/purposes/{draft.pk}/edit/", PURPOSE_FORM),
        (f"/manage/purposes/{draft.pk}/delete/", {}),
        (f"/manage/purposes/{draft.pk}/activate/", {}),
        (f"/manage/purposes/{purpose.pk}/retire/", {"confirm": "on"}),
        (f"/manage/purposes/{purpose.pk}/notices/new/", notice_form()),
        (f"/manage/purposes/{draft.pk}/assessments/new/", ASSESSMENT),
        (f"/manage/assessments/{assessment.pk}/", ASSESSMENT),
        (f"/manage/assessments/{assessment.pk}/approve/", {}),
        (f"/manage/buildings/{building_id}/people/{person.pk}/left/", {"confirm": "on"}),
        (f"/manage/buildings/{building_id}/people/{person.pk}/password-link/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    # A building outside the admin's is not a choice in the forms.
    response = client.post("/manage/purposes/new/", {"building": building_id, **PURPOSE_FORM})
    assert response.status_code == 200 and not Purpose.objects.filter(name=PURPOSE_FORM["name"])
    response = client.post(
        "/manage/people/invite/", {"building": building_id, "role": "resident", "username": "x"}
    )
    assert response.status_code == 200 and not User.objects.filter(username="x").exists()

    assert AuditEntry.objects.count() == entries
    purpose.refresh_from_db()
    draft.refresh_from_db()
    assessment.refresh_from_db()
    assert purpose.status == rules.ACTIVE and purpose.current_notice.version == 1
    assert draft.status == rules.DRAFT and draft.name == "B draft"
    assert not assessment.approved
    assert Membership.objects.current().filter(user=person, building_id=building_id).exists()


def test_the_admin_api_of_building_a_reaches_nothing_of_building_b(
    client, sign_in, admin_a, b_world
):
    purpose, draft = b_world["purpose"], b_world["draft"]
    assessment, person = b_world["assessment"], b_world["person"]
    building_id = purpose.building_id
    sign_in(admin_a)
    listed = client.get("/api/v1/admin/purposes/").json()
    assert all(p["building"] != building_id for p in listed)
    gets = [
        f"/api/v1/admin/purposes/{purpose.pk}/",
        f"/api/v1/admin/purposes/{purpose.pk}/notices/",
        f"/api/v1/admin/notices/{purpose.current_notice_id}/",
        f"/api/v1/admin/purposes/{draft.pk}/assessments/",
        f"/api/v1/admin/assessments/{assessment.pk}/",
        f"/api/v1/admin/buildings/{building_id}/consents/",
    ]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    posts = [
        f"/api/v1/admin/purposes/{draft.pk}/activate/",
        f"/api/v1/admin/purposes/{purpose.pk}/retire/",
        f"/api/v1/admin/assessments/{assessment.pk}/approve/",
        f"/api/v1/admin/buildings/{building_id}/people/{person.pk}/left/",
    ]
    for url in posts:
        assert client.post(url).status_code == 404, url
    assert (
        client.patch(
            f"/api/v1/admin/purposes/{draft.pk}/", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/admin/purposes/{draft.pk}/").status_code == 404
    created = client.post(
        "/api/v1/admin/purposes/",
        {**purpose_fields(), "building": building_id},
        content_type="application/json",
    )
    assert created.status_code == 404
    assert Purpose.objects.get(pk=draft.pk).name == "B draft"
    assert Purpose.objects.get(pk=purpose.pk).status == rules.ACTIVE


def test_residents_and_staff_reach_no_admin_page(client, sign_in, resident):
    sign_in(resident)
    for url in (
        "/manage/purposes/",
        "/manage/purposes/new/",
        "/manage/people/",
        "/manage/people/invite/",
        "/manage/dashboard/",
        "/manage/locations/",
        "/manage/devices/",
        "/manage/evidence.zip",
    ):
        assert client.get(url).status_code == 404, url
