"""A purpose's kind (fixed at creation), its audience and where its face data lives, with the
separate consent to face data leaving the device: rules, services, pages and the API."""

import itertools

import numpy as np
import pytest
from django.utils import translation

from consent import rules, services
from consent.demo import DEMO_PURPOSES
from consent.models import Consent, ConsentEvent, Purpose
from consent.services import ConsentError
from portal.models import AuditEntry
from recognition.lifecycle.services import FaceRefused, check_can_enrol, store_template
from recognition.models import FaceTemplate, PurgeRecord
from tests.factories import grant, make_active_purpose, make_person, purpose_fields

pytestmark = pytest.mark.django_db

VECTOR = np.ones(128, dtype=np.float32)


def _decide(client, purpose, action, **extra):
    purpose.refresh_from_db()
    data = {"action": action, "notice_hash": purpose.current_notice.text_hash, **extra}
    return client.post(f"/consents/purposes/{purpose.pk}/decide/", data, follow=True)


def _hash(purpose):
    purpose.refresh_from_db()
    return purpose.current_notice.text_hash


# Pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "method", "storage"),
    list(
        itertools.product(rules.KINDS, (rules.VERIFICATION, rules.IDENTIFICATION), rules.STORAGES)
    ),
)
def test_only_a_one_to_one_sign_in_that_leaves_the_browser_is_a_sign_in(kind, method, storage):
    problem = rules.kind_problem(kind, method, storage)
    if kind == rules.KIND_DOOR:
        assert problem is None
    elif method != rules.VERIFICATION:
        assert problem == "sign_in_needs_verification"
    elif storage == rules.STORAGE_DEVICE:
        assert problem == "sign_in_leaves_device"
    else:
        assert problem is None


def test_unknown_kind_or_storage_is_a_problem():
    assert rules.kind_problem("anything", rules.VERIFICATION, rules.STORAGE_HOSTED)
    assert rules.kind_problem(rules.KIND_DOOR, rules.VERIFICATION, "cloud")


@pytest.mark.parametrize(
    ("audience", "roles", "expected"),
    [
        (rules.AUDIENCE_RESIDENTS, {"resident"}, True),
        (rules.AUDIENCE_RESIDENTS, {"staff"}, False),
        (rules.AUDIENCE_STAFF, {"resident"}, False),
        (rules.AUDIENCE_STAFF, {"staff", "admin"}, True),
        (rules.AUDIENCE_BOTH, {"resident"}, True),
        (rules.AUDIENCE_BOTH, {"staff"}, True),
        (rules.AUDIENCE_BOTH, {"admin"}, True),  # admins work for the operator: staff
        (rules.AUDIENCE_RESIDENTS, {"admin"}, False),
        (rules.AUDIENCE_BOTH, set(), False),
    ],
)
def test_a_purpose_is_for_the_roles_of_its_audience(audience, roles, expected):
    assert rules.is_for(audience, roles) is expected
    # The SQL form (audiences of a role) says the same.
    assert any(audience in rules.audiences_for_role(role) for role in roles) is expected


@pytest.mark.parametrize(
    ("storage", "consented", "expected"),
    [
        (rules.STORAGE_DEVICE, True, "device_only"),
        (rules.STORAGE_DEVICE, False, "device_only"),
        (rules.STORAGE_ON_PREMISES, False, "no_storage_consent"),
        (rules.STORAGE_HOSTED, False, "no_storage_consent"),
        (rules.STORAGE_ON_PREMISES, True, None),
        (rules.STORAGE_HOSTED, True, None),
    ],
)
def test_the_portal_holds_face_data_only_off_the_device_with_its_own_consent(
    storage, consented, expected
):
    assert rules.storage_problem(storage, consented) == expected


@pytest.mark.parametrize(
    ("kind", "same_building", "expected"),
    [
        (rules.KIND_DOOR, True, None),
        (rules.KIND_DOOR, False, "other_building"),
        (rules.KIND_SIGN_IN, True, "not_door"),
        (rules.KIND_SIGN_IN, False, "other_building"),
    ],
)
def test_a_door_serves_only_door_purposes_of_its_building(kind, same_building, expected):
    problem = rules.device_binding_problem(
        purpose_kind=kind, purpose_building_id=1, device_building_id=1 if same_building else 2
    )
    assert problem == expected


def test_a_storage_change_is_a_material_change():
    old = rules.material_terms(
        specific_purpose="Door",
        method=rules.IDENTIFICATION,
        data_collected="One template.",
        retention_days=None,
        until_person_leaves=True,
        storage=rules.STORAGE_ON_PREMISES,
    )
    new = {**old, "storage": rules.STORAGE_HOSTED}
    assert rules.changed_terms(old, new) == ["storage"]
    assert rules.notice_change_requires_renewal(old, new)


# Kind fixed at creation ---------------------------------------------------------------------


def test_the_kind_cannot_be_changed_after_creation(building_a, admin_a):
    draft = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    with pytest.raises(ConsentError) as error:
        services.update_purpose(draft, actor=admin_a, kind=rules.KIND_SIGN_IN)
    assert error.value.code == "invalid"
    active = make_active_purpose(building_a, admin_a, name="Active door")
    with pytest.raises(ConsentError):
        services.publish_notice(
            active,
            actor=admin_a,
            texts={},
            data_collected="x",
            changes={"kind": rules.KIND_SIGN_IN},
        )
    assert set(Purpose.objects.values_list("kind", flat=True)) == {rules.KIND_DOOR}


def test_the_api_refuses_a_kind_change_and_changes_nothing(client, sign_in, admin_a, building_a):
    draft = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    sign_in(admin_a)
    response = client.patch(
        f"/api/v1/admin/purposes/{draft.pk}/",
        {"kind": rules.KIND_SIGN_IN, "name": "Renamed"},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    draft.refresh_from_db()
    assert draft.kind == rules.KIND_DOOR and draft.name == "Door access by face"


def test_the_edit_page_does_not_offer_the_kind(client, sign_in, admin_a, building_a):
    draft = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    sign_in(admin_a)
    page = client.get(f"/manage/purposes/{draft.pk}/edit/").content.decode()
    assert 'name="storage"' in page and 'name="audience"' in page
    assert 'name="kind"' not in page
    assert 'name="kind"' in client.get("/manage/purposes/new/").content.decode()


def test_a_sign_in_purpose_must_be_one_to_one_and_leave_the_browser(building_a, admin_a):
    for fields, field in (
        ({"method": rules.IDENTIFICATION}, "method"),
        ({"method": rules.VERIFICATION, "storage": rules.STORAGE_DEVICE}, "storage"),
    ):
        with pytest.raises(ConsentError) as error:
            services.create_purpose(
                building_a, actor=admin_a, **purpose_fields(kind=rules.KIND_SIGN_IN, **fields)
            )
        assert field in error.value.details
    assert not Purpose.objects.exists()


def test_the_create_api_needs_a_kind(client, sign_in, admin_a, building_a):
    sign_in(admin_a)
    fields = purpose_fields()
    del fields["kind"]
    response = client.post(
        "/api/v1/admin/purposes/", {"building": building_a.pk, **fields}, "application/json"
    )
    assert response.status_code == 400 and "kind" in response.json()["error"]["details"]
    assert not Purpose.objects.exists()


# Audience -----------------------------------------------------------------------------------


@pytest.fixture
def staff_only(building_a, admin_a):
    return make_active_purpose(
        building_a,
        admin_a,
        name="Face sign-in for staff",
        kind=rules.KIND_SIGN_IN,
        method=rules.VERIFICATION,
        audience=rules.AUDIENCE_STAFF,
    )


def test_a_resident_is_never_asked_about_a_staff_purpose(
    client, sign_in, resident, staff, staff_only
):
    sign_in(resident)
    page = client.get("/consents/").content.decode()
    assert "Face sign-in for staff" not in page
    assert client.get("/api/v1/consents/").json() == []
    response = client.post(
        f"/api/v1/purposes/{staff_only.pk}/grant/",
        {"notice_hash": _hash(staff_only), "agree": True},
        "application/json",
    )
    assert response.status_code == 404
    decided = _decide(client, staff_only, "grant", agree="on")
    assert decided.status_code == 404
    with pytest.raises(ConsentError) as error:
        grant(resident, staff_only)
    assert error.value.code == "not_member"
    assert not Consent.objects.exists()

    sign_in(staff)
    rows = client.get("/api/v1/consents/").json()
    assert [r["purpose"]["name"] for r in rows] == ["Face sign-in for staff"]
    assert rows[0]["needs_decision"] is True


def test_staff_are_not_asked_about_a_residents_purpose(client, sign_in, staff, building_a, admin_a):
    make_active_purpose(building_a, admin_a, name="Lobby door", audience=rules.AUDIENCE_RESIDENTS)
    sign_in(staff)
    assert "Lobby door" not in client.get("/consents/").content.decode()
    assert client.get("/api/v1/consents/").json() == []


def test_enrolment_is_refused_for_a_purpose_not_for_the_person(
    resident, building_a, admin_a, staff_only
):
    grant(resident, make_active_purpose(building_a, admin_a))  # a purpose for them is fine
    with pytest.raises(FaceRefused):
        check_can_enrol(resident, staff_only)


def test_a_decision_made_before_the_audience_narrowed_stays_withdrawable(
    client, sign_in, resident, purpose, admin_a
):
    grant(resident, purpose)
    services.publish_notice(
        purpose,
        actor=admin_a,
        texts=purpose.current_notice.texts,
        data_collected=purpose.current_notice.data_collected,
        changes={"audience": rules.AUDIENCE_STAFF},
    )
    sign_in(resident)
    page = client.get("/consents/").content.decode()
    assert 'value="withdraw"' in page and 'name="agree"' not in page
    withdrawn = client.post(f"/api/v1/purposes/{purpose.pk}/withdraw/", {}, "application/json")
    assert withdrawn.json()["status"] == rules.WITHDRAWN
    # A new notice would ask again a person it is for; not this one.
    services.publish_notice(
        purpose, actor=admin_a, texts=purpose.current_notice.texts, data_collected="Changed."
    )
    rows = client.get("/api/v1/consents/").json()
    assert [r["needs_decision"] for r in rows] == [False]
    assert 'name="agree"' not in client.get("/consents/").content.decode()


# Where face data lives: the notice ----------------------------------------------------------


def test_the_notice_has_its_own_section_on_where_face_data_lives(
    client, sign_in, resident, purpose
):
    sign_in(resident)
    page = client.get("/consents/").content.decode()
    assert "Where your face data is kept" in page
    assert "the operator&#x27;s own servers" in page
    zh = client.get("/consents/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Where your face data is kept" not in zh
    assert purpose.current_notice.terms["storage"] == rules.STORAGE_ON_PREMISES


def test_a_device_only_notice_says_nothing_leaves_the_device(building_a, admin_a):
    purpose = make_active_purpose(building_a, admin_a, storage=rules.STORAGE_DEVICE)
    with translation.override("en"):
        sections = {str(h): str(t) for h, t in purpose.current_notice.sections("en")}
    assert "not sent over any network" in sections["Where your face data is kept"]


def test_a_storage_change_asks_everyone_again(resident, purpose, admin_a):
    grant(resident, purpose)
    notice = services.publish_notice(
        purpose,
        actor=admin_a,
        texts=purpose.current_notice.texts,
        data_collected=purpose.current_notice.data_collected,
        changes={"storage": rules.STORAGE_HOSTED},
    )
    assert notice.requires_renewal and notice.terms["storage"] == rules.STORAGE_HOSTED
    assert Consent.objects.active_for(resident, purpose) is None


def test_the_demo_notices_tell_where_face_data_goes():
    for spec in DEMO_PURPOSES:
        for language in ("en", "zh-hans"):
            text = " ".join(spec[language].values())
            assert "never leaves the portal" not in text
            assert "不离开本系统" not in text
        assert spec["fields"]["storage"] == rules.STORAGE_ON_PREMISES
        assert spec["fields"]["kind"] in rules.KINDS
    audiences = {s["fields"]["name"]: s["fields"]["audience"] for s in DEMO_PURPOSES}
    assert audiences == {
        "Face sign-in for staff": rules.AUDIENCE_STAFF,
        "Door access by face": rules.AUDIENCE_RESIDENTS,
    }


# Where face data lives: the separate consent ------------------------------------------------


def test_the_separate_box_is_its_own_and_unticked(client, sign_in, resident, purpose):
    page = sign_in(resident).get("/consents/").content.decode()
    box = page.split('name="storage_consent"')[1].split(">")[0]
    assert "checked" not in box and "required" not in box
    assert page.index('name="agree"') < page.index('name="storage_consent"')


def test_a_grant_without_the_separate_box_keeps_no_face_data(client, sign_in, resident, purpose):
    page = _decide(sign_in(resident), purpose, "grant", agree="on").content.decode()
    assert "Consent given" in page and "no face data is kept" in page
    consent = Consent.objects.get()
    assert consent.status == rules.GRANTED and consent.storage_consented_at is None
    assert ConsentEvent.objects.get().storage_consent is False
    with pytest.raises(FaceRefused) as refused:
        store_template(resident, purpose, VECTOR, "test-model")
    assert refused.value.code == "no_storage_consent"
    assert not FaceTemplate.objects.exists()
    # The page now asks for the separate consent alone, without offering a refusal.
    page = client.get("/consents/").content.decode()
    assert 'name="storage_consent"' in page and 'value="refuse"' not in page


def test_the_separate_consent_is_recorded_with_its_evidence(client, sign_in, resident, purpose):
    client = sign_in(resident)
    _decide(client, purpose, "grant", agree="on", storage_consent="on")
    consent = Consent.objects.get()
    assert consent.storage_consented_at == consent.granted_at
    event = ConsentEvent.objects.get()
    assert event.storage_consent is True and event.channel == "web" and event.ip
    entry = AuditEntry.objects.filter(event="consent.granted").get()
    assert entry.data["storage_consent"] is True
    store_template(resident, purpose, VECTOR, "test-model")
    assert FaceTemplate.objects.filter(person=resident).exists()


def test_withdrawing_only_the_separate_consent_deletes_the_template(
    client, sign_in, resident, purpose
):
    grant(resident, purpose)
    store_template(resident, purpose, VECTOR, "test-model")
    client = sign_in(resident)
    assert 'value="withdraw_storage"' in client.get("/consents/").content.decode()
    page = client.post(
        f"/consents/purposes/{purpose.pk}/decide/", {"action": "withdraw_storage"}, follow=True
    ).content.decode()
    assert "Face data for it has been deleted" in page
    assert not FaceTemplate.objects.exists()
    consent = Consent.objects.get()
    assert consent.status == rules.GRANTED and consent.storage_consented_at is None
    assert consent.events.order_by("-id").first().kind == rules.STORAGE_WITHDRAWN
    assert AuditEntry.objects.filter(event="consent.storage_withdrawn").count() == 1
    record = PurgeRecord.objects.get()
    assert record.reason == PurgeRecord.WITHDRAWN and record.templates_deleted == 1
    with pytest.raises(FaceRefused):
        store_template(resident, purpose, VECTOR, "test-model")


def test_a_grant_without_the_box_after_one_with_it_withdraws_it(resident, purpose, admin_a):
    grant(resident, purpose)
    store_template(resident, purpose, VECTOR, "test-model")
    grant(resident, purpose, storage_consent=False)
    assert not FaceTemplate.objects.exists()
    assert Consent.objects.get().storage_consented_at is None


def test_the_api_records_and_withdraws_the_separate_consent(client, sign_in, resident, purpose):
    sign_in(resident)
    url = f"/api/v1/purposes/{purpose.pk}/"
    body = {"notice_hash": _hash(purpose), "agree": True, "storage_consent": True}
    granted = client.post(url + "grant/", body, "application/json").json()
    assert granted["storage_consented_at"] is not None
    store_template(resident, purpose, VECTOR, "test-model")
    detail = client.get(f"/api/v1/consents/{granted['id']}/").json()
    assert detail["events"][0]["storage_consent"] is True
    withdrawn = client.post(url + "withdraw-storage/", {}, "application/json")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == rules.GRANTED
    assert withdrawn.json()["storage_consented_at"] is None
    assert not FaceTemplate.objects.exists()
    again = client.post(url + "withdraw-storage/", {}, "application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_granted"


def test_nobody_else_can_withdraw_a_persons_separate_consent(
    client, sign_in, resident, other_resident, purpose, building_b, admin_b
):
    grant(resident, purpose)
    store_template(resident, purpose, VECTOR, "test-model")
    outsider = make_person("outsider", building_b, "resident")
    for attacker in (other_resident, outsider):
        sign_in(attacker)
        response = client.post(
            f"/api/v1/purposes/{purpose.pk}/withdraw-storage/",
            {"on_behalf_of": resident.pk},
            "application/json",
        )
        assert response.status_code == 404
        client.post(f"/consents/purposes/{purpose.pk}/decide/", {"action": "withdraw_storage"})
    assert FaceTemplate.objects.filter(person=resident).count() == 1
    assert Consent.objects.get(person=resident).storage_consented_at is not None


def test_a_device_only_purpose_asks_no_separate_consent_and_keeps_nothing(
    client, sign_in, resident, building_a, admin_a
):
    purpose = make_active_purpose(building_a, admin_a, storage=rules.STORAGE_DEVICE)
    client = sign_in(resident)
    assert 'name="storage_consent"' not in client.get("/consents/").content.decode()
    _decide(client, purpose, "grant", agree="on", storage_consent="on")
    assert Consent.objects.get().storage_consented_at is None
    assert ConsentEvent.objects.get().storage_consent is None
    with pytest.raises(FaceRefused) as refused:
        store_template(resident, purpose, VECTOR, "test-model")
    assert refused.value.code == "device_only"


def test_a_renewal_without_the_box_deletes_a_template_kept_from_before(resident, purpose, admin_a):
    """A template kept from before the separate consent was asked (the migration marks such
    consents for renewal) does not survive a renewal that leaves the box unticked."""
    grant(resident, purpose)
    store_template(resident, purpose, VECTOR, "test-model")
    Consent.objects.filter(person=resident).update(storage_consented_at=None)
    services.publish_notice(
        purpose,
        actor=admin_a,
        texts=purpose.current_notice.texts,
        data_collected="Changed.",
    )
    assert FaceTemplate.objects.exists()  # kept through the renewal grace period
    grant(resident, purpose, storage_consent=False)
    assert not FaceTemplate.objects.exists()


def test_moving_face_data_onto_the_device_leaves_none_with_the_portal(resident, purpose, admin_a):
    grant(resident, purpose)
    store_template(resident, purpose, VECTOR, "test-model")
    services.publish_notice(
        purpose,
        actor=admin_a,
        texts=purpose.current_notice.texts,
        data_collected=purpose.current_notice.data_collected,
        changes={"storage": rules.STORAGE_DEVICE},
    )
    assert Consent.objects.active_for(resident, purpose) is None  # asked again
    grant(resident, purpose)  # the renewal: no separate question, nothing kept here
    assert Consent.objects.active_for(resident, purpose) is not None
    assert not FaceTemplate.objects.exists()
