"""Access cards: issued hashed by a building's admin, read at that building's doors only,
revocable at once; strangers' cards, other buildings' cards and guessed numbers open nothing."""

import pytest
from django.db import connection

from portal import rules
from portal.models import AuditEntry
from recognition.entry import cards
from recognition.entry.models import AccessCard
from recognition.models import Attempt
from tests.factories import device_headers, make_door, make_person

pytestmark = pytest.mark.django_db

CARD = "/api/v1/devices/card/"
NUMBER = "04:A2:2B:1C:9F:31"


def _read(client, key, number):
    return client.post(
        CARD, {"card": number}, content_type="application/json", **device_headers(key)
    )


def test_a_live_card_of_this_building_opens_and_is_logged_as_a_card(client, resident, admin_a):
    device, key = make_door(resident.memberships.get().building)
    cards.issue_card(resident, device.building, NUMBER, actor=admin_a)
    answer = _read(client, key, "04a22b1c9f31").json()  # separators and case do not matter
    assert answer["open"] is True and answer["method"] == "card"
    assert answer["person_id"] == resident.pk
    attempt = Attempt.objects.get(pk=answer["attempt_id"])
    assert (attempt.method, attempt.device_id, attempt.person_id) == (
        "card",
        device.pk,
        resident.pk,
    )


def test_the_number_is_never_stored(resident, admin_a, building_a):
    card = cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    assert card.last_digits == "9F31"
    with connection.cursor() as cursor:
        cursor.execute("SELECT number_hash, last_digits FROM entry_accesscard")
        stored = " ".join(" ".join(row) for row in cursor.fetchall())
    assert "04A22B1C9F31" not in stored.upper()
    entry = AuditEntry.objects.filter(event="card.issued").get()
    assert "04A22B1C" not in str(entry.data).upper()


def test_an_unknown_card_opens_nothing_and_names_nobody(client, resident, admin_a, building_a):
    _device, key = make_door(building_a)
    cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    answer = _read(client, key, "04A22B1C9F32").json()
    assert answer["open"] is False and answer["person_id"] is None
    assert "not accepted" in answer["message"]
    assert Attempt.objects.get(pk=answer["attempt_id"]).person_id is None


def test_another_buildings_card_does_not_open_this_door(client, building_a, building_b, admin_b):
    both = make_person("both", building_b, rules.RESIDENT)
    from portal.models import Membership

    Membership.objects.create(user=both, building=building_a, role=rules.RESIDENT)
    cards.issue_card(both, building_b, NUMBER, actor=admin_b)
    _device_a, key_a = make_door(building_a)
    _device_b, key_b = make_door(building_b, name="B door")
    assert _read(client, key_a, NUMBER).json()["open"] is False
    assert _read(client, key_b, NUMBER).json()["open"] is True


def test_a_revoked_card_stops_at_once(client, resident, admin_a, building_a):
    _device, key = make_door(building_a)
    card = cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    cards.revoke_card(card, actor=admin_a)
    assert _read(client, key, NUMBER).json()["open"] is False
    # The number is free again: it may be issued to someone else.
    cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    assert _read(client, key, NUMBER).json()["open"] is True


def test_a_card_of_someone_who_moved_out_opens_nothing(client, resident, admin_a, building_a):
    from portal import clock

    _device, key = make_door(building_a)
    cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    resident.memberships.update(left_at=clock.now())
    assert _read(client, key, NUMBER).json()["open"] is False


def test_guessing_card_numbers_at_a_device_is_locked_out(
    client, resident, admin_a, building_a, settings
):
    _device, key = make_door(building_a)
    cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    for guess in range(settings.SIGNIN_FREE_FAILURES * 4):
        assert _read(client, key, f"{guess:012d}").json()["open"] is False
    locked = _read(client, key, NUMBER)  # even the right card waits now
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert Attempt.objects.filter(method="card", result="throttled").count() == 1


def test_a_number_in_use_cannot_be_issued_twice(resident, other_resident, admin_a, building_a):
    cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    with pytest.raises(cards.CardRefused) as refused:
        cards.issue_card(other_resident, building_a, NUMBER, actor=admin_a)
    assert refused.value.code == "number_in_use"
    assert AccessCard.objects.count() == 1


def test_bad_card_input_is_a_clear_400(client, building_a):
    _device, key = make_door(building_a)
    response = client.post(CARD, {}, content_type="application/json", **device_headers(key))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert _read(client, key, "x" * 65).status_code == 400
    assert Attempt.objects.count() == 0


def test_card_route_needs_a_device_key(client, building_a):
    assert client.post(CARD, {"card": NUMBER}, content_type="application/json").status_code in (
        401,
        403,
    )


def test_admin_issues_and_revokes_on_the_cards_page(sign_in, admin_a, resident, building_a):
    client = sign_in(admin_a)
    page = client.get("/manage/cards/")
    assert page.status_code == 200
    membership = resident.memberships.get()
    response = client.post("/manage/cards/", {"person": membership.pk, "number": NUMBER})
    assert response.status_code == 302
    card = AccessCard.objects.get()
    assert card.person == resident and card.issued_by == admin_a
    bad = client.post("/manage/cards/", {"person": membership.pk, "number": "12"})
    assert "6 to 32 letters and digits" in bad.content.decode()
    assert AccessCard.objects.count() == 1
    client.post(f"/manage/cards/{card.pk}/revoke/")
    card.refresh_from_db()
    assert card.revoked_at is not None


def test_another_buildings_admin_cannot_issue_or_revoke(
    sign_in, admin_a, admin_b, resident, building_a
):
    card = cards.issue_card(resident, building_a, NUMBER, actor=admin_a)
    client = sign_in(admin_b)
    membership = resident.memberships.get()
    page = client.post("/manage/cards/", {"person": membership.pk, "number": "123456789"})
    assert page.status_code == 200  # not a choice on their page
    assert AccessCard.objects.count() == 1
    assert client.post(f"/manage/cards/{card.pk}/revoke/").status_code == 404
    card.refresh_from_db()
    assert card.revoked_at is None
    assert (
        client.post(
            f"/manage/buildings/{building_a.pk}/backup-codes/", {"door_backup_codes": "on"}
        ).status_code
        == 404
    )


def test_residents_and_staff_cannot_reach_the_cards_page(sign_in, resident, staff):
    assert sign_in(resident).get("/manage/cards/").status_code == 404
