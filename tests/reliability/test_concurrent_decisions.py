"""Many people deciding about the same purpose at once: nobody waits on anybody else's
decision, and no decision fails with a deadlock (the load benchmark found both: locking a
consent also locked its purpose and person rows)."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from consent import rules as consent_rules
from consent.models import Consent, Purpose
from consent.services import decisions
from portal.models import User
from tests.factories import grant, make_active_purpose, make_person, withdraw

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(work) -> list:
    out: list = []

    def run():
        try:
            out.append(work())
        except Exception as error:  # reported by the test
            out.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return out


def test_locking_a_consent_leaves_its_purpose_and_person_free(building_a, resident):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    grant(resident, purpose)
    with transaction.atomic():
        assert decisions._locked_consent(resident, purpose) is not None

        def lock_the_others():
            with transaction.atomic():
                Purpose.objects.select_for_update(nowait=True).get(pk=purpose.pk)
                User.objects.select_for_update(nowait=True).get(pk=resident.pk)
            return "free"

        assert _in_thread(lock_the_others) == ["free"]


def test_many_people_granting_and_withdrawing_at_once_never_deadlock(building_a):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    people = [make_person(f"p{i}", building_a, "resident") for i in range(6)]
    errors: list[Exception] = []

    def decide(person):
        try:
            for _ in range(6):
                grant(person, Purpose.objects.get(pk=purpose.pk))
                withdraw(person, purpose)
        except DatabaseError as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert set(Consent.objects.values_list("status", flat=True)) == {"withdrawn"}
