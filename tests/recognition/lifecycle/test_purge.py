"""Retention and purge on PostgreSQL: each lapse reason deletes exactly its templates, active
consents keep theirs, concurrent runs count each template once, withdrawal deletes before the
response, and Celery beat runs the purge through a real worker.

Templates are stored through `services.store_template` with a synthetic vector: the face model
has its own tests. Where a test needs a state that the services never leave behind (a
membership ended by an import, say), it sets that state with one queryset update, which is
exactly the case the scheduled purge exists for.
"""

import io
import os
import random
import re
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from consent import rules as consent_rules
from consent import services as consent_services
from consent.demo import DEMO_PURPOSES
from consent.models import Consent, Purpose
from portal import audit, clock
from portal.models import Membership, User
from recognition import policy
from recognition.lifecycle import crypto, services
from recognition.lifecycle.purge import (
    lapsed_by_reason,
    purge_lapsed_templates,
    recent_purges,
    summary_line,
    upcoming_lapses,
)
from recognition.models import Attempt, FaceTemplate, PurgeRecord
from recognition.signals import templates_deleted
from tests.factories import grant, make_active_purpose, make_person
from tests.paths import ARTIFACTS, REPO

VECTOR = np.random.default_rng(7).standard_normal(128).astype(np.float32)
ALL_REASONS = (*policy.LAPSE_REASONS, PurgeRecord.ATTEMPT_LOGS)


def enrol(person, purpose) -> FaceTemplate:
    grant(person, purpose)
    return services.store_template(person, purpose, VECTOR, "test-engine")


def only(**counts) -> dict:
    """The counts a purge returns when only the given reasons deleted something."""
    return {reason: counts.get(reason, 0) for reason in ALL_REASONS}


def alive(*templates) -> list[bool]:
    return [FaceTemplate.objects.filter(pk=t.pk).exists() for t in templates]


def change_notice(purpose, admin) -> None:
    """Publishes a notice that changes what people agreed to: every consent needs renewal."""
    spec = next(s for s in DEMO_PURPOSES if s["fields"]["method"] == purpose.method)
    consent_services.publish_notice(
        purpose,
        actor=admin,
        texts={"en": spec["en"], "zh-hans": spec["zh-hans"]},
        data_collected=spec["data"] + " Changed.",
    )


@pytest.fixture
def door(building_a, admin_a):
    """Door identification kept 30 days at most."""
    return make_active_purpose(
        building_a, demo=consent_rules.IDENTIFICATION, name="Lobby door", retention_days=30
    )


@pytest.fixture
def staff_sign_in(building_a, admin_a):
    """Face sign-in kept until the person withdraws or leaves, no fixed number of days."""
    return make_active_purpose(
        building_a, demo=consent_rules.VERIFICATION, retention_days=None, until_person_leaves=True
    )


# Each lapse reason, through the scheduled purge --------------------------------------------


@pytest.mark.django_db
def test_active_consents_keep_their_templates_and_the_run_is_recorded(
    resident, other_resident, staff, door, staff_sign_in
):
    kept = [enrol(resident, door), enrol(other_resident, door), enrol(staff, staff_sign_in)]
    counts = purge_lapsed_templates(trigger=PurgeRecord.SCHEDULE)
    assert counts == only()
    assert alive(*kept) == [True, True, True]
    records = PurgeRecord.objects.filter(trigger=PurgeRecord.SCHEDULE)
    assert sorted(records.values_list("reason", flat=True)) == sorted(ALL_REASONS)
    assert len({r.run_id for r in records}) == 1
    assert all(r.templates_deleted == 0 and r.building_id is None for r in records)


@pytest.mark.django_db
def test_retired_purpose_templates_are_purged(resident, other_resident, door, staff_sign_in):
    victims = [enrol(resident, door), enrol(other_resident, door)]
    survivor = enrol(resident, staff_sign_in)
    Purpose.objects.filter(pk=door.pk).update(status=consent_rules.RETIRED)
    assert purge_lapsed_templates() == only(purpose_retired=2)
    assert alive(*victims, survivor) == [False, False, True]


@pytest.mark.django_db
def test_templates_of_a_person_who_left_are_purged(resident, other_resident, door, building_b):
    victim = enrol(resident, door)
    survivor = enrol(other_resident, door)
    Membership.objects.create(user=resident, building=building_b, role="resident")
    # The membership ended without mark_person_left (an import from the HR system, say).
    Membership.objects.filter(user=resident, building=door.building).update(left_at=clock.now())
    assert purge_lapsed_templates() == only(person_left=1)
    assert alive(victim, survivor) == [False, True]
    record = PurgeRecord.objects.get(reason=policy.PERSON_LEFT, templates_deleted=1)
    assert record.building_id == door.building_id


@pytest.mark.django_db
def test_templates_without_a_granted_consent_are_purged(resident, other_resident, staff, door):
    withdrawn, ended, survivor = (
        enrol(resident, door),
        enrol(other_resident, door),
        enrol(staff, door),
    )
    Consent.objects.filter(person=resident).update(status=consent_rules.WITHDRAWN)
    Consent.objects.filter(person=other_resident).update(status=consent_rules.ENDED)
    assert purge_lapsed_templates() == only(withdrawn=2)
    assert alive(withdrawn, ended, survivor) == [False, False, True]


@pytest.mark.django_db
def test_templates_of_an_expired_consent_are_purged(
    resident, other_resident, door, staff_sign_in, moved_clock
):
    victim = enrol(resident, door)
    moved_clock.advance(days=20)
    survivor = enrol(other_resident, door)
    no_date = enrol(resident, staff_sign_in)
    moved_clock.advance(days=11)
    # The template's own retention ended at the same moment: it is counted once, as expiry.
    assert purge_lapsed_templates() == only(consent_expired=1)
    assert alive(victim, survivor, no_date) == [False, True, True]


@pytest.mark.django_db
def test_consent_awaiting_renewal_keeps_its_template_only_for_the_grace_period(
    resident, other_resident, admin_a, staff_sign_in, moved_clock, settings
):
    settings.RENEWAL_GRACE_DAYS = 30
    victim = enrol(resident, staff_sign_in)
    survivor = enrol(other_resident, staff_sign_in)
    change_notice(staff_sign_in, admin_a)
    grant(other_resident, staff_sign_in)  # renews at once
    moved_clock.advance(days=29)
    assert purge_lapsed_templates() == only()
    assert Consent.objects.active_for(resident, staff_sign_in) is None  # face use stopped
    moved_clock.advance(days=2)
    assert purge_lapsed_templates() == only(renewal_lapsed=1)
    assert alive(victim, survivor) == [False, True]


@pytest.mark.django_db
def test_template_retention_ends_even_while_the_consent_is_active(
    resident, other_resident, admin_a, door, moved_clock
):
    victim = enrol(resident, door)  # kept 30 days from this grant
    moved_clock.advance(days=10)
    change_notice(door, admin_a)
    grant(resident, door)  # a new grant: the consent now runs 30 days from today
    survivor = enrol(other_resident, door)
    moved_clock.advance(days=21)
    assert Consent.objects.active_for(resident, door) is not None
    assert purge_lapsed_templates() == only(retention=1)
    assert alive(victim, survivor) == [False, True]


@pytest.mark.django_db
def test_template_of_a_child_without_a_guardians_consent_is_purged(resident, other_resident, door):
    victim = enrol(resident, door)
    survivor = enrol(other_resident, door)
    # The date of birth is corrected: the person is 10, so their own consent never counted.
    User.objects.filter(pk=resident.pk).update(
        birth_date=timezone.localdate() - timedelta(days=3650)
    )
    assert purge_lapsed_templates() == only(consent_inactive=1)
    assert alive(victim, survivor) == [False, True]


@pytest.mark.django_db
def test_attempt_logs_past_their_retention_are_purged(
    resident, door, moved_clock, settings, building_a
):
    settings.ATTEMPT_RETENTION_DAYS = 180
    for _ in range(2):
        services.log_attempt(
            person=resident, purpose=door, channel=Attempt.DOOR, method=Attempt.CODE, result="match"
        )
    moved_clock.advance(days=181)
    recent = services.log_attempt(
        person=resident, purpose=door, channel=Attempt.DOOR, method=Attempt.CODE, result="match"
    )
    assert purge_lapsed_templates() == only(attempt_logs=2)
    assert list(Attempt.objects.values_list("pk", flat=True)) == [recent.pk]
    record = PurgeRecord.objects.get(reason=PurgeRecord.ATTEMPT_LOGS)
    assert (record.attempts_deleted, record.building_id) == (2, building_a.pk)


# The same rule three ways: policy, the PostgreSQL purge and the portable purge ------------


@pytest.mark.django_db
def test_purge_attributes_every_template_as_the_rule_does(
    building_a, admin_a, door, staff_sign_in, settings
):
    settings.RENEWAL_GRACE_DAYS = 30
    settings.PURGE_BATCH_SIZE = 7
    rng = random.Random(2025)
    now = clock.now()
    guardian = make_person("guardian", building_a, "resident")
    for n in range(40):
        person = make_person(f"p{n}", building_a, "resident")
        for purpose in (door, staff_sign_in):
            enrol(person, purpose)
            consent = Consent.objects.filter(person=person, purpose=purpose)
            consent.update(
                status=rng.choice(["granted"] * 4 + ["withdrawn", "refused", "ended"]),
                expires_at=rng.choice([None, now - timedelta(days=1), now + timedelta(days=5)]),
                renewal_needed_at=rng.choice(
                    [None, now - timedelta(days=10), now - timedelta(days=31)]
                ),
                granted_by=rng.choice([None, None, guardian]),
            )
            FaceTemplate.objects.filter(person=person, purpose=purpose).update(
                lapses_at=rng.choice([None, now - timedelta(hours=1), now + timedelta(days=3)])
            )
            if rng.random() < 0.1:
                consent.delete()
        if rng.random() < 0.2:
            User.objects.filter(pk=person.pk).update(birth_date=date(2020, 1, 1))
        if rng.random() < 0.15:
            Membership.objects.filter(user=person).update(left_at=now)
    Purpose.objects.filter(pk=door.pk).update(status=consent_rules.RETIRED)

    expected = only()
    adult_born_by = consent_rules.adult_born_on_or_before(timezone.localdate())
    for t in FaceTemplate.objects.select_related("purpose", "person"):
        consent = Consent.objects.filter(person=t.person, purpose=t.purpose).first()
        reason = policy.lapse_reason(
            now=clock.now(),
            renewal_grace_days=30,
            purpose_status=t.purpose.status,
            is_member=Membership.objects.current()
            .filter(user=t.person, building=t.building)
            .exists(),
            consent_status=consent.status if consent else None,
            consent_expires_at=consent.expires_at if consent else None,
            renewal_needed_at=consent.renewal_needed_at if consent else None,
            template_lapses_at=t.lapses_at,
            guardian_missing=bool(
                t.person.birth_date
                and t.person.birth_date > adult_born_by
                and consent
                and consent.granted_by_id is None
            ),
        )
        if reason:
            expected[reason] += 1
    assert sum(expected.values()) > 40 and sum(1 for n in expected.values() if n) >= 6

    with transaction.atomic():
        fast = purge_lapsed_templates(portable=False)
        transaction.set_rollback(True)
    with transaction.atomic():
        by_querysets = {reason: qs.count() for reason, qs in lapsed_by_reason(clock.now())}
        transaction.set_rollback(True)
    portable = purge_lapsed_templates(portable=True)
    assert fast == portable == expected
    assert by_querysets[policy.PURPOSE_RETIRED] == expected[policy.PURPOSE_RETIRED]
    assert not any(qs.exists() for _reason, qs in lapsed_by_reason(clock.now()))


# Deletion at once, and what the purge announces -------------------------------------------


@pytest.mark.django_db
def test_deletions_are_announced_inside_their_transaction(resident, other_resident, door):
    heard = []

    def listener(sender, pairs, reasons, **kwargs):
        heard.append((reasons, pairs, connection.in_atomic_block))

    enrol(resident, door)
    enrol(other_resident, door)
    templates_deleted.connect(listener)
    try:
        Consent.objects.filter(person=resident).update(status=consent_rules.WITHDRAWN)
        purge_lapsed_templates()
        consent_services.withdraw_consent(other_resident, door, actor=other_resident)
    finally:
        templates_deleted.disconnect(listener)
    pair = {(door.building_id, door.pk)}
    assert heard == [({policy.WITHDRAWN}, pair, True), ({policy.WITHDRAWN}, pair, True)]


@pytest.mark.django_db
def test_retiring_a_purpose_or_a_person_leaving_deletes_at_once(
    resident, other_resident, admin_a, door, staff_sign_in
):
    enrol(resident, door)
    enrol(other_resident, door)
    enrol(other_resident, staff_sign_in)
    consent_services.retire_purpose(door, actor=admin_a)
    assert not FaceTemplate.objects.filter(purpose=door).exists()
    consent_services.mark_person_left(other_resident, door.building, actor=admin_a)
    assert not FaceTemplate.objects.exists()
    assert not Membership.objects.current().filter(user=other_resident).exists()
    records = PurgeRecord.objects.filter(trigger=PurgeRecord.REQUEST)
    assert sorted(records.values_list("reason", "templates_deleted", "building_id")) == [
        (policy.PERSON_LEFT, 1, door.building_id),
        (policy.PURPOSE_RETIRED, 2, door.building_id),
    ]
    assert purge_lapsed_templates() == only()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("via", ["page", "api"])
def test_withdrawal_deletes_templates_before_the_response_returns(
    via, sign_in, client, resident, door, staff_sign_in
):
    gone, kept = enrol(resident, door), enrol(resident, staff_sign_in)
    sign_in(resident)
    if via == "page":
        response = client.post(f"/consents/purposes/{door.pk}/decide/", {"action": "withdraw"})
        assert response.status_code == 302
    else:
        response = client.post(f"/api/v1/purposes/{door.pk}/withdraw/", {}, "application/json")
        assert response.status_code == 200, response.content
    assert alive(gone, kept) == [False, True]
    record = PurgeRecord.objects.get(trigger=PurgeRecord.REQUEST)
    assert (record.reason, record.templates_deleted, record.building_id) == (
        policy.WITHDRAWN,
        1,
        door.building_id,
    )


# Concurrent runs ---------------------------------------------------------------------------


def _lapsed_population(building, purpose, *, no_consent: int, gone: int) -> int:
    """Templates stored for people with no consent (withdrawn) and for people who are no
    longer members (person left), bulk-inserted; returns how many."""
    ciphertext = crypto.fernet().encrypt(VECTOR.astype("<f4").tobytes())  # never decrypted
    now = clock.now()
    people = User.objects.bulk_create(User(username=f"bulk{n}") for n in range(no_consent + gone))
    Membership.objects.bulk_create(
        Membership(
            user=person, building=building, role="resident", left_at=now if n < gone else None
        )
        for n, person in enumerate(people)
    )
    FaceTemplate.objects.bulk_create(
        FaceTemplate(
            person=person,
            purpose=purpose,
            building=building,
            model_id="test-engine",
            ciphertext=ciphertext,
            created_at=now,
        )
        for person in people
    )
    return len(people)


def _run_purges_in_threads(count: int) -> list[dict]:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(purge_lapsed_templates())
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == count
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_purges_delete_and_count_each_template_once(
    building_a, resident, other_resident, door, settings
):
    settings.PURGE_BATCH_SIZE = 15
    kept = [enrol(resident, door), enrol(other_resident, door)]
    _lapsed_population(building_a, door, no_consent=300, gone=120)
    results = _run_purges_in_threads(3)
    assert sum(r[policy.WITHDRAWN] for r in results) == 300
    assert sum(r[policy.PERSON_LEFT] for r in results) == 120
    assert sum(sum(r.values()) for r in results) == 420
    assert list(FaceTemplate.objects.order_by("pk")) == kept
    records = PurgeRecord.objects.filter(trigger=PurgeRecord.MANUAL)
    assert sum(records.values_list("templates_deleted", flat=True)) == 420
    assert len(set(records.values_list("run_id", flat=True))) == 3


@pytest.mark.django_db(transaction=True)
def test_purge_skips_rows_another_transaction_holds_and_a_later_run_takes_them(
    building_a, door, settings
):
    settings.PURGE_BATCH_SIZE = 10
    _lapsed_population(building_a, door, no_consent=60, gone=0)
    held = list(FaceTemplate.objects.order_by("pk").values_list("pk", flat=True)[::2])
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            list(FaceTemplate.objects.select_for_update().filter(pk__in=held))
            locked.set()
            release.wait(timeout=60)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        first = purge_lapsed_templates()
        assert time.monotonic() - started < 10  # did not wait for the lock
    finally:
        release.set()
        holder.join(timeout=30)
    assert first == only(withdrawn=30)
    assert set(FaceTemplate.objects.values_list("pk", flat=True)) == set(held)
    assert purge_lapsed_templates() == only(withdrawn=30)
    assert not FaceTemplate.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_template_enrolled_again_during_the_run_is_spared(
    resident, other_resident, door, staff_sign_in, settings
):
    """Lapsing is final for the data that lapsed, but not for a fresh enrolment in its row."""
    settings.PURGE_BATCH_SIZE = 1
    first, second = enrol(resident, staff_sign_in), enrol(other_resident, door)
    lapsed = clock.now() - timedelta(minutes=1)
    FaceTemplate.objects.filter(pk__in=[first.pk, second.pk]).update(lapses_at=lapsed)

    def enrol_again(**kwargs):
        # Another request, in its own connection, right after the first batch committed.
        worker = threading.Thread(
            target=lambda: (
                services.store_template(other_resident, door, VECTOR, "test-engine"),
                connection.close(),
            )
        )
        worker.start()
        worker.join(timeout=30)

    def enrol_again_meanwhile(sender, **kwargs):
        templates_deleted.disconnect(enrol_again_meanwhile)
        transaction.on_commit(enrol_again)

    templates_deleted.connect(enrol_again_meanwhile)
    try:
        counts = purge_lapsed_templates()
    finally:
        templates_deleted.disconnect(enrol_again_meanwhile)
    assert counts == only(retention=1)
    assert alive(first, second) == [False, True]
    second.refresh_from_db()
    assert second.lapses_at > clock.now()


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_while_a_purge_batch_runs_never_deadlocks(resident, door):
    """Every writer of face data takes the audit chain's lock before any template row (the
    count triggers need it too); a purge batch that locked rows first could deadlock with a
    withdrawal deleting the same template."""
    template = enrol(resident, door)
    FaceTemplate.objects.filter(pk=template.pk).update(lapses_at=clock.now() - timedelta(minutes=1))
    holding, errors = threading.Event(), []

    def withdraw_holding_the_audit_lock():
        try:
            with transaction.atomic():
                audit.record("person.invited")  # a consent writer, between its audit entry and
                holding.set()  # the deletion of the person's templates
                time.sleep(1.5)
                consent_services.withdraw_consent(resident, door, actor=resident)
        except DatabaseError as error:
            errors.append(error)
        finally:
            connection.close()

    writer = threading.Thread(target=withdraw_holding_the_audit_lock)
    writer.start()
    try:
        assert holding.wait(timeout=10)
        counts = purge_lapsed_templates()
    except DatabaseError as error:
        errors.append(error)
        counts = None
    finally:
        writer.join(timeout=60)
    assert not errors, errors
    assert counts == only()  # the withdrawal deleted it first; the purge found nothing left
    assert not FaceTemplate.objects.exists()
    assert sum(PurgeRecord.objects.values_list("templates_deleted", flat=True)) == 1


def _test_database_env(**extra) -> dict:
    from django.conf import settings

    db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_DATABASE_URL=f"postgres://{user}@{host}:{port}/{db['NAME']}",
        TEST_REDIS_URL=settings.REDIS_URL,
        **extra,
    )


def _parse_summary(line: str) -> dict:
    counts = {reason: int(n) for reason, n in re.findall(r"(\w+) (\d+)[,)]", line)}
    counts[PurgeRecord.ATTEMPT_LOGS] = int(re.search(r"and (\d+) attempt log rows", line)[1])
    return counts


@pytest.mark.django_db(transaction=True)
def test_two_purge_commands_at_once_count_each_template_once(building_a, door):
    _lapsed_population(building_a, door, no_consent=400, gone=100)
    env = _test_database_env(PURGE_BATCH_SIZE="10")
    command = [sys.executable, "manage.py", "purge_biometrics"]
    processes = [
        subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    assert [len(out.strip().splitlines()) for out in outputs] == [1, 1]
    runs = [_parse_summary(out) for out in outputs]
    assert sum(r[policy.WITHDRAWN] for r in runs) == 400
    assert sum(r[policy.PERSON_LEFT] for r in runs) == 100
    assert not FaceTemplate.objects.exists()


@pytest.mark.django_db
def test_command_prints_one_line_of_counts_per_reason(resident, other_resident, door):
    enrol(resident, door)
    enrol(other_resident, door)
    Consent.objects.filter(person=resident).update(status=consent_rules.WITHDRAWN)
    Purpose.objects.filter(pk=door.pk).update(status=consent_rules.RETIRED)
    out = io.StringIO()
    call_command("purge_biometrics", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert lines[0] == summary_line(only(purpose_retired=2))
    assert lines[0].startswith("Purged 2 face templates (purpose_retired 2, person_left 0,")
    assert _parse_summary(lines[0]) == only(purpose_retired=2)


# What residents and admins see ------------------------------------------------------------


@pytest.mark.django_db
def test_my_data_shows_when_each_template_lapses(
    sign_in, client, resident, door, staff_sign_in, admin_a
):
    enrol(resident, door)
    enrol(resident, staff_sign_in)
    lapses = Consent.objects.get(person=resident, purpose=door).expires_at
    sign_in(resident)
    page = client.get("/my-data/").content.decode()
    section = page[page.index('id="data-face_templates"') :]
    section = section[: section.index("</section>")]
    assert "until you withdraw or leave" in section
    assert "when your consent expires" in section
    assert f'datetime="{timezone.localtime(lapses).isoformat()}"' in section
    rows = client.get("/my-data.json").json()["sections"]["face_templates"]["rows"]
    by_purpose = {row["purpose"]: row for row in rows}
    assert by_purpose[staff_sign_in.name]["lapses_at"] is None
    assert by_purpose[door.name]["lapses_at"] is not None
    assert "ciphertext" not in str(rows)


@pytest.mark.django_db
def test_upcoming_lapses_are_counted_per_day_purpose_and_reason(
    resident, other_resident, staff, admin_a, door, staff_sign_in, moved_clock, settings
):
    settings.RENEWAL_GRACE_DAYS = 30
    enrol(resident, door)  # consent expires in 30 days
    enrol(other_resident, door)
    enrol(staff, staff_sign_in)  # no date
    moved_clock.advance(days=20)
    change_notice(door, admin_a)  # renewal needed: lapses in 30 days unless renewed
    rows = upcoming_lapses([door.building_id], days=15)
    assert [(r["purpose_id"], r["reason"], r["templates"]) for r in rows] == [
        (door.pk, policy.CONSENT_EXPIRED, 2)
    ]
    expires = Consent.objects.get(person=resident, purpose=door).expires_at
    assert rows[0]["day"] == timezone.localtime(expires).date()
    assert upcoming_lapses([door.building_id + 1000], days=15) == []
    moved_clock.advance(days=-20)
    assert upcoming_lapses([door.building_id], days=5) == []


@pytest.mark.django_db
def test_admins_see_upcoming_and_past_purges_of_their_buildings_only(
    sign_in, client, resident, admin_a, admin_b, building_b, door
):
    enrol(resident, door)
    stranger = make_person("stranger", building_b, "resident")
    other_door = make_active_purpose(building_b, demo=consent_rules.IDENTIFICATION, name="B door")
    enrol(stranger, other_door)
    consent_services.withdraw_consent(stranger, other_door, actor=stranger)
    Consent.objects.filter(person=resident).update(status=consent_rules.WITHDRAWN)
    purge_lapsed_templates(trigger=PurgeRecord.SCHEDULE)
    enrol(make_person("newcomer", door.building, "resident"), door)

    assert [r.building_id for r in recent_purges([door.building_id])] == [door.building_id]
    sign_in(admin_a)
    page = client.get("/face/purges/").content.decode()
    assert "Lobby door" in page and "consent expired" in page
    assert "consent withdrawn or refused" in page and "scheduled purge" in page
    assert "B door" not in page and "Building B" not in page
    assert "The scheduled purge last ran at" in page
    assert 'href="/face/purges/"' in page

    client.logout()
    sign_in(resident)
    assert client.get("/face/purges/").status_code == 404


def test_the_scheduled_purge_has_its_own_time_limit_not_the_face_tasks(settings):
    from recognition import tasks

    assert tasks.purge_lapsed.time_limit == settings.PURGE_TIME_LIMIT
    assert tasks.purge_lapsed.time_limit > settings.CELERY_TASK_TIME_LIMIT
    assert tasks.purge_lapsed.soft_time_limit < tasks.purge_lapsed.time_limit


# Celery beat and a real worker -------------------------------------------------------------


@pytest.fixture
def celery_beat_process(celery_worker_process, tmp_path):
    """`celery -A portal beat`, scheduling the purge every 2 seconds, for one test."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "celery-beat.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "beat",
            "--schedule",
            str(tmp_path / "celerybeat-schedule"),
            "--max-interval",
            "1",
            "--loglevel",
            "INFO",
        ],
        cwd=REPO,
        env=_test_database_env(PURGE_INTERVAL_SECONDS="2"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_purges_a_lapsed_template_through_the_worker(
    celery_beat_process, resident, other_resident, door
):
    victim, survivor = enrol(resident, door), enrol(other_resident, door)
    FaceTemplate.objects.filter(pk=victim.pk).update(lapses_at=clock.now() - timedelta(minutes=1))
    deadline = time.monotonic() + 60
    while FaceTemplate.objects.filter(pk=victim.pk).exists():
        assert celery_beat_process.poll() is None, "beat exited; see test-artifacts"
        assert time.monotonic() < deadline, "the scheduled purge did not run in time"
        time.sleep(0.5)
    assert alive(survivor) == [True]
    record = PurgeRecord.objects.get(reason=policy.RETENTION, templates_deleted=1)
    assert (record.trigger, record.building_id) == (PurgeRecord.SCHEDULE, door.building_id)
