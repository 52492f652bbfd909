"""The counts PostgreSQL keeps for the dashboard never make two writers wait on each other:
their triggers take the audit chain's lock before any count row, as every writer's audit entry
does anyway, so enrolments, withdrawals and decisions running at once never deadlock, and the
counts stay exact."""

import threading

import numpy as np
import pytest
from django.db import DatabaseError, connection

from consent import dashboard as consent_dashboard
from consent import rules as consent_rules
from portal import audit
from recognition.lifecycle.services import store_template
from recognition.models import FaceHeadcount
from recognition.reporting import headcount
from tests.factories import grant, make_active_purpose, make_person, withdraw

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER_FUNCTIONS = (
    "consent_count_insert",
    "consent_count_update",
    "consent_count_delete",
    "face_headcount_insert",
    "face_headcount_update",
    "face_headcount_delete",
)


def test_every_count_trigger_takes_the_audit_lock_first():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(%s)", [list(TRIGGER_FUNCTIONS)]
        )
        sources = dict(cursor.fetchall())
    assert set(sources) == set(TRIGGER_FUNCTIONS)
    for name, source in sources.items():
        lock = source.index(f"pg_advisory_xact_lock({audit._ADVISORY_LOCK_KEY})")
        assert lock < source.index("INSERT INTO"), name


def test_enrolments_withdrawals_and_decisions_at_once_never_deadlock(building_a):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    people = [make_person(f"c{n}", building_a, "resident") for n in range(6)]
    errors: list[Exception] = []

    def churn(person, seed):
        try:
            for round_number in range(4):
                grant(person, purpose)
                vector = np.random.default_rng(seed + round_number).standard_normal(128)
                store_template(person, purpose, vector.astype(np.float32), "test-model")
                withdraw(person, purpose)
        except DatabaseError as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=churn, args=(person, 10 * n)) for n, person in enumerate(people)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert FaceHeadcount.objects.get(pk=1).people == headcount.count_people() == 0
    ids = [purpose.pk]
    assert sorted(consent_dashboard.counted_rows(ids)) == sorted(consent_dashboard.live_rows(ids))
