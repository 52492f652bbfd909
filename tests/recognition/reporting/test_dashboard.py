"""The compliance dashboard and the evidence export: distinct people across the operator,
the filing threshold and its deadline, purposes lacking an assessment or a notice, consent
figures, fallback parity (code sign-ins logged beside face ones), purges, the audit chain; a
fixed number of queries; an export that opens and holds no face data."""

import io
import json
import zipfile
from datetime import date, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent import rules as consent_rules
from consent import services as consent_services
from portal.models import AuditCheck, AuditEntry, Membership
from recognition.lifecycle import crypto
from recognition.lifecycle.purge import purge_lapsed_templates
from recognition.lifecycle.services import log_attempt, store_template
from recognition.models import Attempt, FaceTemplate, ThresholdCrossing
from recognition.reporting import filing, headcount
from tests.factories import (
    ASSESSMENT,
    PASSWORD,
    TEXTS,
    add_totp,
    current_code,
    grant,
    make_active_purpose,
    make_door,
    make_person,
    purpose_fields,
    withdraw,
)

pytestmark = pytest.mark.django_db

DASHBOARD = "/manage/dashboard/"
EVIDENCE = "/manage/evidence.zip"


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def enrol(person, purpose, seed: int):
    grant(person, purpose)
    return store_template(person, purpose, vector(seed), "test-model")


@pytest.fixture
def two_buildings(building_a, building_b, admin_a, admin_b, resident):
    """A face purpose in each building; the resident lives in both and is enrolled in both."""
    purpose_a = make_active_purpose(building_a, demo=consent_rules.VERIFICATION, kind="door_access")
    purpose_b = make_active_purpose(building_b, demo=consent_rules.VERIFICATION, kind="door_access")
    Membership.objects.create(user=resident, building=building_b, role="resident")
    enrol(resident, purpose_a, 1)
    enrol(resident, purpose_b, 2)
    return purpose_a, purpose_b


def door_attempt(device, method, result, **extra):
    """As the door API logs them: device, its building, the method and the result."""
    return log_attempt(
        channel=Attempt.DOOR,
        method=method,
        result=result,
        device=device,
        building=device.building,
        **extra,
    )


def figures(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response.context["d"], response.content.decode()


# Distinct people and the filing threshold ---------------------------------------------------


def test_a_person_with_templates_in_two_buildings_counts_once(
    client, sign_in, admin_a, two_buildings, building_b, other_resident
):
    purpose_a, _purpose_b = two_buildings
    enrol(other_resident, purpose_a, 3)
    assert FaceTemplate.objects.count() == 3
    assert headcount.people_with_face_data() == 2
    assert headcount.people_with_face_data([building_b.pk]) == 1
    sign_in(admin_a)
    d, shown = figures(client)
    assert d.filing.people == 2
    assert d.filing.state == filing.BELOW and d.filing.deadline is None
    assert "Below the filing threshold of 100000 people" in shown


@override_settings(FILING_THRESHOLD=3, FILING_WARNING_FROM=2)
def test_the_day_the_threshold_is_reached_is_recorded_by_the_enrolment(
    client, sign_in, admin_a, two_buildings, building_a, other_resident, staff
):
    purpose_a, _purpose_b = two_buildings
    assert not ThresholdCrossing.objects.exists()
    enrol(other_resident, purpose_a, 3)  # two people: a warning
    sign_in(admin_a)
    d, shown = figures(client)
    assert d.filing.state == filing.WARNING and "Prepare the filing now" in shown
    assert not ThresholdCrossing.objects.exists()

    enrol(staff, purpose_a, 4)  # three people: reached
    crossing = ThresholdCrossing.objects.get()
    assert crossing.source == ThresholdCrossing.ENROLMENT and crossing.people == 3
    entry = AuditEntry.objects.get(event="filing.threshold_reached")
    assert entry.data["threshold"] == 3 and entry.data["reached_on"] == str(crossing.reached_on)
    d, shown = figures(client)
    assert d.filing.state == filing.CROSSED
    assert d.filing.deadline == filing.filing_deadline(crossing.reached_on)
    assert "must file" in shown and d.filing.deadline.strftime("%Y-%m-%d") in shown

    withdraw(staff, purpose_a)  # falling back under it does not undo the duty
    d, _shown = figures(client)
    assert d.filing.state == filing.WARNING and d.filing.reached_on == crossing.reached_on
    assert ThresholdCrossing.objects.count() == 1


@override_settings(
    FILING_THRESHOLD=1,
    FILING_WARNING_FROM=1,
    FILING_HOLIDAYS=[date(2025, 10, d) for d in range(1, 9)],
    FILING_WORKDAYS=[date(2025, 9, 28), date(2025, 10, 11)],
)
def test_the_deadline_skips_weekends_and_listed_holidays(client, sign_in, admin_a):
    ThresholdCrossing.objects.create(
        threshold=1,
        reached_at="2025-09-26T10:00:00+08:00",
        reached_on=date(2025, 9, 26),
        people=1,
        source=ThresholdCrossing.ENROLMENT,
    )
    sign_in(admin_a)
    d, shown = figures(client)
    assert d.filing.deadline == date(2025, 11, 13)
    assert "2025-11-13" in shown and "passed" in shown


def _writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]


def test_a_get_of_the_dashboard_writes_nothing_even_over_the_threshold(
    client, sign_in, admin_a, two_buildings
):
    sign_in(admin_a)
    entries = AuditEntry.objects.count()
    with override_settings(FILING_THRESHOLD=1, FILING_WARNING_FROM=1):
        with CaptureQueriesContext(connection) as queries:
            d, shown = figures(client)
            assert client.get("/api/v1/admin/dashboard/").status_code == 200
        assert _writes(queries.captured_queries) == []
        assert not ThresholdCrossing.objects.exists()
        assert AuditEntry.objects.count() == entries
        # Nothing recorded yet: the duty counts from today, as the rule says.
        assert d.filing.state == filing.CROSSED and d.crossing is None
        assert d.filing.reached_on == timezone.localdate(d.now)
        assert "data predates" not in shown


def test_data_that_predates_the_record_is_recorded_by_the_purge_run(
    client, sign_in, admin_a, two_buildings
):
    assert not ThresholdCrossing.objects.exists()
    sign_in(admin_a)
    with override_settings(FILING_THRESHOLD=1, FILING_WARNING_FROM=1):
        purge_lapsed_templates()
        crossing = ThresholdCrossing.objects.get()
        assert crossing.source == ThresholdCrossing.CHECK and crossing.threshold == 1
        assert AuditEntry.objects.filter(event="filing.threshold_reached").count() == 1
        purge_lapsed_templates()  # recorded once
        assert ThresholdCrossing.objects.count() == 1
        d, shown = figures(client)
        assert d.filing.reached_on == crossing.reached_on and "data predates" in shown


# Purposes, assessments and consents ---------------------------------------------------------


def test_purposes_missing_an_assessment_or_a_notice_are_listed(
    client, sign_in, admin_a, building_a, resident
):
    ready = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    grant(resident, ready)
    bare = consent_services.create_purpose(
        building_a, actor=admin_a, **purpose_fields(name="No assessment yet")
    )
    consent_services.publish_notice(bare, actor=admin_a, texts=TEXTS, data_collected="One.")
    unpublished = consent_services.create_purpose(
        building_a, actor=admin_a, **purpose_fields(name="No notice yet")
    )
    consent_services.approve_assessment(
        consent_services.create_assessment(unpublished, actor=admin_a, **ASSESSMENT),
        actor=admin_a,
    )
    sign_in(admin_a)
    d, shown = figures(client)
    missing = {s.purpose.name: s.missing for s in d.not_ready}
    assert missing == {"No assessment yet": ["assessment"], "No notice yet": ["notice"]}
    assert {s.purpose.name for s in d.reviews_due} == {"No assessment yet"}
    section = shown.split('id="purposes-not-ready"')[1].split("</section>")[0]
    assert "No assessment yet" in section and "a published notice" in section


def test_consent_figures_per_purpose(client, sign_in, admin_a, building_a, admin_b, building_b):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    people = [make_person(f"p{n}", building_a, "resident") for n in range(6)]
    for person in people[:4]:
        grant(person, purpose)
    withdraw(people[0], purpose)
    consent_services.refuse_consent(
        people[4],
        purpose,
        actor=people[4],
        channel="web",
        ip=None,
        user_agent="",
        notice_hash=purpose.current_notice.text_hash,
    )
    consent_services.mark_person_left(people[1], building_a, actor=admin_a)
    consent_services.publish_notice(
        purpose,
        actor=admin_a,
        texts=TEXTS,
        data_collected="Two templates.",  # a material change: renewal needed
    )
    other = make_active_purpose(building_b, demo=consent_rules.VERIFICATION)
    grant(make_person("b1", building_b, "resident"), other)
    sign_in(admin_a)
    d, _shown = figures(client)
    (status,) = d.purposes
    columns = [key for key, _label in d.consent_columns]
    assert dict(zip(columns, status.consent_row, strict=True)) == {
        "granted": 0,
        "renewal_needed": 2,
        "refused": 1,
        "withdrawn": 1,
        "ended": 1,
    }


# Fallback parity ----------------------------------------------------------------------------


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)  # no pause after the wrong code
def test_code_sign_ins_are_logged_as_attempts(client, staff):
    device = add_totp(staff)
    client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    client.post("/accounts/login/code/", {"code": "000000"})
    assert client.post("/accounts/login/code/", {"code": current_code(device)}).status_code == 302
    logged = list(
        Attempt.objects.filter(person=staff)
        .order_by("id")
        .values_list("channel", "method", "result")
    )
    assert logged == [
        (Attempt.SIGN_IN, Attempt.CODE, Attempt.NO_MATCH),
        (Attempt.SIGN_IN, Attempt.CODE, Attempt.MATCH),
    ]


@override_settings(SIGNIN_FREE_FAILURES=1)
def test_a_locked_code_sign_in_is_logged_as_throttled(client, staff):
    add_totp(staff)
    client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    client.post("/accounts/login/code/", {"code": "000000"})
    client.post("/accounts/login/code/", {"code": "000000"})
    results = list(Attempt.objects.filter(person=staff).values_list("result", flat=True))
    assert Attempt.THROTTLED in results


def _parity_attempts(staff, building_a, building_b):
    door_a, _key = make_door(building_a)
    door_b, _key = make_door(building_b)
    for result in (Attempt.MATCH, Attempt.MATCH, Attempt.NO_MATCH):
        door_attempt(door_a, Attempt.FACE, result)
    door_attempt(door_a, Attempt.CODE, Attempt.MATCH)
    door_attempt(door_b, Attempt.FACE, Attempt.MATCH)  # another building's door
    face = {"channel": Attempt.SIGN_IN, "method": Attempt.FACE, "person": staff}
    log_attempt(result=Attempt.MATCH, **face)
    log_attempt(result=Attempt.REJECTED, **face)
    log_attempt(channel=Attempt.ENROLMENT, method=Attempt.FACE, result="enrolled", person=staff)
    outsider = make_person("outsider", building_b, "resident")
    code = {"channel": Attempt.SIGN_IN, "method": Attempt.CODE}
    log_attempt(result=Attempt.MATCH, person=outsider, **code)
    return door_a


EXPECTED_PARITY = {
    # Portal sign-ins count across the portal: the staff member's, the admin's own and an
    # outsider's code sign-ins. Doors count for the admin's buildings only.
    (Attempt.SIGN_IN, Attempt.FACE): (1, 1),
    (Attempt.SIGN_IN, Attempt.CODE): (3, 0),
    (Attempt.DOOR, Attempt.FACE): (2, 1),
    (Attempt.DOOR, Attempt.CODE): (1, 0),
    (Attempt.SIGN_IN, Attempt.PASSWORD): (0, 0),
    (Attempt.SIGN_IN, Attempt.PASSKEY): (0, 0),
    (Attempt.DOOR, Attempt.CARD): (0, 0),
    (Attempt.DOOR, Attempt.STAFF): (0, 0),
}


def _parity(d) -> dict:
    return {(r.channel, r.method): (r.accepted, r.refused) for r in d.parity}


def test_parity_counts_face_and_non_face_per_channel(
    client, sign_in, admin_a, staff, building_a, building_b
):
    _parity_attempts(staff, building_a, building_b)
    sign_in(staff)  # a code sign-in
    client.post("/accounts/logout/")
    sign_in(admin_a)  # and the admin's own
    d, shown = figures(client)
    assert _parity(d) == EXPECTED_PARITY
    door_face = next(r for r in d.parity if (r.channel, r.method) == ("door", "face"))
    assert door_face.failure_rate == pytest.approx(1 / 3)
    assert "33.3 %" in shown


def test_parity_counts_every_way_in(client, sign_in, admin_a, staff, resident, building_a):
    """Password-only and passkey sign-ins, card and staff-assisted openings each count."""
    from recognition.entry import cards, reception

    door, key = make_door(building_a)
    assert (
        client.post("/accounts/login/", {"username": "resident", "password": PASSWORD})["Location"]
        == "/"
    )  # a resident without a second factor: password only
    client.post("/accounts/logout/")
    log_attempt(channel=Attempt.SIGN_IN, method=Attempt.PASSKEY, result=Attempt.MATCH)
    cards.issue_card(resident, building_a, "12345678", actor=admin_a)
    assert cards.open_with_card(door, "12345678")["open"]
    assert not cards.open_with_card(door, "87654321")["open"]
    reception.open_for_person(door, resident, "id_document", actor=staff)
    sign_in(admin_a)
    d, shown = figures(client)
    got = _parity(d)
    assert got[(Attempt.SIGN_IN, Attempt.PASSWORD)] == (1, 0)
    assert got[(Attempt.SIGN_IN, Attempt.PASSKEY)] == (1, 0)
    assert got[(Attempt.DOOR, Attempt.CARD)] == (1, 1)
    assert got[(Attempt.DOOR, Attempt.STAFF)] == (1, 0)
    for label in ("password only", "passkey", "access card", "opened by staff"):
        assert label in shown


def test_tallied_days_and_live_minutes_add_up_to_the_same_figures(
    client, sign_in, admin_a, staff, building_a, building_b, moved_clock
):
    from portal import clock
    from recognition.models import AttemptTally
    from recognition.reporting import tally

    door_a = _parity_attempts(staff, building_a, building_b)
    sign_in(staff)
    client.post("/accounts/logout/")
    sign_in(admin_a)
    since = tally.window_start(clock.now(), 30)
    live_devices = tally.device_counts([door_a.pk], since)
    later = clock.now() + tally.SETTLE + timedelta(seconds=1)
    first = tally.tally_attempts(now=later)
    assert first["attempts"] == 10  # enrolments are not counted
    assert tally.tally_attempts(now=later) == {"rows": 0, "attempts": 0}  # nothing twice
    assert AttemptTally.objects.filter(channel=Attempt.SIGN_IN).exclude(building_id=0).count() == 0
    d, _shown = figures(client)
    assert _parity(d) == EXPECTED_PARITY
    assert tally.device_counts([door_a.pk], since) == live_devices
    assert live_devices[door_a.pk] == {"face": 3, "code": 1, "refused": 1}

    # Attempts after the mark are counted live, then tallied on top of the same day's row.
    moved_clock.advance(seconds=5)
    door_attempt(door_a, Attempt.CODE, Attempt.NO_MATCH)
    d, _shown = figures(client)
    assert _parity(d)[(Attempt.DOOR, Attempt.CODE)] == (1, 1)
    tally.tally_attempts(now=clock.now() + tally.SETTLE + timedelta(seconds=2))
    d, _shown = figures(client)
    assert _parity(d)[(Attempt.DOOR, Attempt.CODE)] == (1, 1)
    assert tally.device_counts([door_a.pk], since)[door_a.pk]["code"] == 2


def test_the_beat_task_tallies(building_a, staff):
    from recognition.tasks import tally_attempts

    log_attempt(channel=Attempt.SIGN_IN, method=Attempt.CODE, result=Attempt.MATCH, person=staff)
    assert tally_attempts()["attempts"] == 0  # too fresh: left to the next run


# Purges and the audit chain -----------------------------------------------------------------


def test_purges_show_the_last_and_next_run_and_counts_per_reason(
    client, sign_in, admin_a, resident, building_a
):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    enrol(resident, purpose, 5)
    withdraw(resident, purpose)  # deleted at once: a purge record, reason withdrawn
    sign_in(admin_a)
    d, shown = figures(client)
    assert d.purges.last_run is None and d.purges.late
    assert "has not run yet" in shown
    purge_lapsed_templates(trigger="schedule")
    d, shown = figures(client)
    assert d.purges.last_run is not None and not d.purges.late
    assert d.purges.next_run > d.purges.last_run
    counts = {row["reason"]: row["templates"] for row in d.purges.per_reason}
    assert counts["withdrawn"] == 1 and counts["retention"] == 0


def test_the_audit_chain_is_checked_on_request_and_shown(client, sign_in, admin_a, building_a):
    make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    sign_in(admin_a)
    d, shown = figures(client)
    assert d.audit.check is None and "not been checked yet" in shown
    response = client.post("/manage/dashboard/audit-check/", follow=True)
    assert "The audit chain is intact" in response.content.decode()
    check = AuditCheck.objects.get()
    assert check.intact and check.trigger == AuditCheck.PAGE
    assert check.entries == AuditEntry.objects.count()
    d, shown = figures(client)
    assert d.audit.intact and not d.audit.unchecked_entries
    assert "Intact when checked" in shown


def test_the_scheduled_and_manual_checks_keep_their_result(building_a, admin_a):
    from django.core.management import call_command

    from portal.tasks import check_audit_chain

    make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    assert check_audit_chain()["intact"] is True
    call_command("verify_audit_chain")
    assert list(AuditCheck.objects.order_by("id").values_list("trigger", flat=True)) == [
        AuditCheck.SCHEDULE,
        AuditCheck.MANUAL,
    ]


# A fixed number of queries ------------------------------------------------------------------


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    return len(queries)


def test_the_dashboard_costs_a_fixed_number_of_queries(
    client, sign_in, admin_a, building_a, building_b, resident
):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    enrol(resident, purpose, 6)
    sign_in(admin_a)
    client.get(DASHBOARD)  # warm: the crossing check and the session are as later
    small = _dashboard_queries(client)

    for n in range(6):
        extra = make_active_purpose(
            building_a, demo=consent_rules.VERIFICATION, name=f"Purpose {n}"
        )
        for m in range(3):
            person = make_person(f"p{n}-{m}", building_a, "resident")
            enrol(person, extra, 100 + 10 * n + m)
            if m == 0:
                withdraw(person, extra)
    consent_services.create_purpose(building_a, actor=admin_a, **purpose_fields(name="Draft"))
    for n in range(3):
        device, _key = make_door(building_a, name=f"Door {n}")
        door_attempt(device, Attempt.CODE, Attempt.MATCH)
    purge_lapsed_templates(trigger="schedule")
    consent_services.mark_person_left(resident, building_a, actor=admin_a)
    from portal.audit import check_chain

    check_chain(AuditCheck.MANUAL)
    large = _dashboard_queries(client)
    assert large == small
    assert large <= 20, large


def test_the_dashboard_never_shows_face_data(client, sign_in, admin_a, two_buildings):
    sign_in(admin_a)
    _d, shown = figures(client)
    for word in ("embedding", "distance", "ciphertext", "test-model"):
        assert word not in shown.lower()


# The evidence export ------------------------------------------------------------------------


EXPECTED_FILES = {
    "README.txt",
    "manifest.json",
    "handler.json",
    "purposes.json",
    "purposes.csv",
    "notices.csv",
    "assessments.csv",
    "locations.csv",
    "devices.csv",
    "consent_figures.csv",
    "fallback_parity.csv",
    "fallback_parity_daily.csv",
    "purge_records.csv",
    "audit_chain.json",
    "filing.json",
    "incidents.json",
    "requests.csv",
    "audit_checkpoints.json",
    "filings.json",
}


def test_the_export_opens_and_holds_no_embedding(
    client, sign_in, admin_a, two_buildings, other_resident, building_a
):
    purpose_a, purpose_b = two_buildings
    enrol(other_resident, purpose_a, 7)
    device, key = make_door(building_a, purpose_a)
    door_attempt(device, Attempt.FACE, Attempt.MATCH, distance=0.0123456789)
    sign_in(admin_a)
    response = client.get(EVIDENCE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    body = response.content
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert set(archive.namelist()) == EXPECTED_FILES
    members = {name: archive.read(name) for name in archive.namelist()}

    manifest = json.loads(members["manifest.json"])
    import hashlib

    for name, info in manifest["files"].items():
        assert hashlib.sha256(members[name]).hexdigest() == info["sha256"]

    stored = list(FaceTemplate.objects.values_list("ciphertext", "person_id"))
    assert len(stored) == 3
    secrets = [bytes(c) for c, _person in stored]
    secrets += [crypto.decrypt_embedding(c, p).astype("<f4").tobytes() for c, p in stored]
    secrets += [vector(seed).astype("<f4").tobytes() for seed in (1, 2, 7)]
    secrets += [key.encode(), device.key_hash.encode(), device.key_hash.split("$")[1].encode()]
    everything = [body, *members.values()]
    for secret in secrets:
        for blob in everything:
            assert secret not in blob
            assert secret[:32] not in blob
    for name, blob in members.items():
        text = blob.decode("utf-8-sig")
        assert "0.0123456789" not in text
        if name != "README.txt":  # which says that no distance is in it
            assert "distance" not in text.lower()

    filing_json = json.loads(members["filing.json"])
    assert filing_json["people_with_stored_face_data"] == 2
    assert filing_json["threshold"] == 100_000 and filing_json["state"] == "below"
    audit = json.loads(members["audit_chain.json"])
    assert audit["intact"] is True and audit["entries_checked_intact"] > 0
    purposes = json.loads(members["purposes.json"])
    assert [p["id"] for p in purposes] == [purpose_a.pk]  # nothing of building B
    assert purposes[0]["notices"][0]["texts"]["zh-hans"]
    assert purposes[0]["assessments"][0]["approved_at"]
    handler = json.loads(members["handler.json"])
    assert [h["handler"] for h in handler] == ["A Property Co."]
    assert b"Front door" in members["devices.csv"]
    assert "B Property Co." not in b"".join(members.values()).decode("utf-8", "replace")
    assert AuditCheck.objects.filter(trigger=AuditCheck.EXPORT, intact=True).exists()


def test_the_export_is_for_admins_only(client, sign_in, resident, admin_b, building_a):
    sign_in(resident)
    assert client.get(EVIDENCE).status_code == 404


def test_the_dashboard_api_gives_the_same_figures_for_my_buildings_only(
    client, sign_in, admin_a, two_buildings, resident
):
    purpose_a, purpose_b = two_buildings
    sign_in(admin_a)
    body = client.get("/api/v1/admin/dashboard/").json()
    assert body["filing"]["people"] == 1 and body["filing"]["state"] == "below"
    assert [p["id"] for p in body["purposes"]] == [purpose_a.pk]
    assert body["purposes"][0]["consents"]["granted"] == 1
    assert body["purposes"][0]["missing"] == [] and body["purposes"][0]["review"] is None
    assert {(r["channel"], r["method"]) for r in body["parity"]} == {
        ("sign_in", "face"),
        ("sign_in", "code"),
        ("sign_in", "password"),
        ("sign_in", "passkey"),
        ("door", "face"),
        ("door", "code"),
        ("door", "card"),
        ("door", "staff"),
    }
    assert "embedding" not in json.dumps(body) and "distance" not in json.dumps(body)
    client.post("/accounts/logout/")
    sign_in(resident)
    response = client.get("/api/v1/admin/dashboard/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_counts_kept_by_the_database_match_a_live_count(admin_a, building_a, building_b):
    from consent import dashboard as consent_dashboard
    from consent.models import Consent, ConsentCount

    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    other = make_active_purpose(building_b, demo=consent_rules.VERIFICATION)
    people = [make_person(f"c{n}", building_a, "resident") for n in range(8)]
    for person in people:
        grant(person, purpose)
    withdraw(people[0], purpose)
    consent_services.mark_person_left(people[1], building_a, actor=admin_a)
    consent_services.publish_notice(  # one set-based UPDATE marks six for renewal
        purpose, actor=admin_a, texts=TEXTS, data_collected="Changed."
    )
    grant(people[2], purpose)  # renewed
    people[3].delete()  # cascades to the consent row
    ids = [purpose.pk, other.pk]
    counted = sorted(consent_dashboard.counted_rows(ids))
    assert counted == sorted(consent_dashboard.live_rows(ids))
    assert counted == [
        (purpose.pk, "ended", False, 1),
        (purpose.pk, "granted", False, 1),
        (purpose.pk, "granted", True, 4),
        (purpose.pk, "withdrawn", False, 1),
    ]
    # A bulk write outside the services is counted too: the triggers see every statement.
    Consent.objects.filter(purpose=purpose, status="granted").update(renewal_needed_at=None)
    assert sorted(consent_dashboard.counted_rows(ids)) == sorted(consent_dashboard.live_rows(ids))
    assert not ConsentCount.objects.filter(count__lt=0).exists()


def test_the_headcount_kept_by_the_database_matches_a_live_count(
    two_buildings, resident, other_resident, staff, building_a, moved_clock
):
    from recognition.models import FaceHeadcount, FacePerson

    purpose_a, purpose_b = two_buildings

    def kept() -> int:
        return FaceHeadcount.objects.get(pk=1).people

    assert kept() == headcount.count_people() == 1  # the resident, enrolled in A and B
    store_template(resident, purpose_a, vector(9), "test-model")  # replaced: an UPDATE
    assert kept() == 1 and FacePerson.objects.get(person_id=resident.pk).templates == 2
    enrol(other_resident, purpose_a, 10)
    enrol(staff, purpose_a, 11)
    assert kept() == headcount.count_people() == 3
    withdraw(resident, purpose_a)  # one of two templates: still a person with face data
    assert kept() == 3
    withdraw(resident, purpose_b)
    assert kept() == headcount.count_people() == 2
    assert not FacePerson.objects.filter(person_id=resident.pk).exists()
    consent_services.mark_person_left(staff, building_a, actor=None)
    other_resident.delete()  # cascades to the template
    assert kept() == headcount.count_people() == 0
    assert headcount.people_with_face_data() == 0


def test_the_purge_keeps_the_headcount_exact(two_buildings, moved_clock):
    from recognition.models import FaceHeadcount

    purpose_a, _purpose_b = two_buildings
    people = [make_person(f"h{n}", purpose_a.building, "resident") for n in range(4)]
    for n, person in enumerate(people):
        enrol(person, purpose_a, 20 + n)
    assert FaceHeadcount.objects.get(pk=1).people == 5
    moved_clock.advance(days=4000)  # every consent and retention period has run out
    deleted = purge_lapsed_templates(trigger="schedule")
    assert sum(v for k, v in deleted.items() if k != "attempt_logs") == 6
    assert FaceHeadcount.objects.get(pk=1).people == headcount.count_people() == 0
