"""Staff-assisted entry: staff of the door's building open it for one of its residents, after
checking who they are; each opening is logged as its own method with the staff member."""

import pytest

from portal.models import AuditEntry
from recognition.entry.models import AssistedOpening
from recognition.models import Attempt
from tests.factories import make_door

pytestmark = pytest.mark.django_db

OPEN = "/api/v1/reception/open/"


def _open(client, device, person, check="id_document"):
    data = {"device": device.pk, "person": person.pk, "check": check}
    return client.post(OPEN, data, content_type="application/json")


def test_staff_open_a_door_for_a_resident_and_it_is_logged(sign_in, staff, resident, building_a):
    device, _key = make_door(building_a)
    answer = _open(sign_in(staff), device, resident).json()
    assert answer["open"] is True and answer["method"] == "staff"
    attempt = Attempt.objects.get(pk=answer["attempt_id"])
    assert (attempt.channel, attempt.method, attempt.person_id) == ("door", "staff", resident.pk)
    assert attempt.device_id == device.pk
    opening = AssistedOpening.objects.get(attempt=attempt)
    assert opening.staff == staff and opening.identity_check == "id_document"
    entry = AuditEntry.objects.get(event="door.opened_by_staff")
    assert entry.actor_id == staff.pk and entry.person_id == resident.pk


def test_a_resident_cannot_open_doors_for_others(sign_in, resident, other_resident, building_a):
    device, _key = make_door(building_a)
    assert _open(sign_in(resident), device, other_resident).status_code == 404
    assert not Attempt.objects.at_doors().exists()


def test_staff_of_another_building_cannot_open_here(sign_in, building_a, building_b, resident):
    from portal import rules
    from tests.factories import make_person

    outsider = make_person("staff_b", building_b, rules.STAFF)
    device, _key = make_door(building_a)
    assert _open(sign_in(outsider), device, resident).status_code == 404
    assert not Attempt.objects.at_doors().exists()


def test_staff_cannot_open_for_a_stranger_to_the_building(sign_in, staff, building_a, building_b):
    from portal import rules
    from tests.factories import make_person

    stranger = make_person("stranger", building_b, rules.RESIDENT)
    device, _key = make_door(building_a)
    assert _open(sign_in(staff), device, stranger).status_code == 404
    assert not Attempt.objects.at_doors().exists()


def test_a_revoked_door_is_refused_clearly(sign_in, staff, resident, building_a):
    from recognition.doors import devices

    device, _key = make_door(building_a)
    devices.revoke_device(device, actor=None)
    response = _open(sign_in(staff), device, resident)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "door_revoked"
    assert not Attempt.objects.at_doors().exists()


def test_the_check_must_be_said(sign_in, staff, resident, building_a):
    device, _key = make_door(building_a)
    response = _open(sign_in(staff), device, resident, check="trust me")
    assert response.status_code == 400
    assert not Attempt.objects.at_doors().exists()


def test_anonymous_and_device_keys_cannot_use_reception(client, resident, building_a):
    from tests.factories import device_headers

    device, key = make_door(building_a)
    assert _open(client, device, resident).status_code == 403
    data = {"device": device.pk, "person": resident.pk, "check": "id_document"}
    keyed = client.post(OPEN, data, content_type="application/json", **device_headers(key))
    assert keyed.status_code == 403
    assert not Attempt.objects.at_doors().exists()


def test_reception_page_opens_and_lists_openings(sign_in, staff, resident, building_a):
    device, _key = make_door(building_a)
    client = sign_in(staff)
    page = client.get("/reception/").content.decode()
    assert "Front door" in page and "resident" in page
    data = {"device": device.pk, "person": resident.pk, "check": "known_in_person"}
    response = client.post("/reception/", data, follow=True)
    page = response.content.decode()
    assert "Front door opened for resident." in page
    assert Attempt.objects.filter(method="staff", person=resident).count() == 1


def test_reception_page_is_not_for_residents(sign_in, resident):
    assert sign_in(resident).get("/reception/").status_code == 404
