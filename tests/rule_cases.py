"""Generated cases for the parity tests of the rules: real PostgreSQL rows, each made through
the services (a grant, an enrolment) and then moved by a seeded random generator to one of the
states the rules tell apart, boundary instants included (a date exactly at `now`, a renewal
exactly at the end of its grace period, a person 14 today or tomorrow).

The parity tests (tests/portal/test_rules_query.py, tests/consent/test_rules_query.py,
tests/recognition/test_policy_query.py) then judge every row with the pure form and with each
query form, and demand the same answer.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from consent import rules as consent_rules
from consent.models import Consent, Purpose
from portal.models import Building, Membership, User
from recognition.lifecycle.services import store_template
from recognition.models import FaceTemplate
from tests.factories import grant, make_active_purpose, make_person

GRACE_DAYS = 30


@dataclass
class Cases:
    now: datetime
    grace_days: int
    buildings: list[Building]
    purposes: list[Purpose]
    people: list[User]


def _instants(now: datetime, grace: timedelta) -> dict[str, list]:
    second = timedelta(seconds=1)
    return {
        "expires_at": [None, None, now - timedelta(days=1), now, now + second, now + timedelta(5)],
        "renewal_needed_at": [
            None,
            None,
            now,
            now - grace + second,
            now - grace,
            now - grace - second,
        ],
        "lapses_at": [None, None, now - timedelta(hours=1), now, now + second, now + timedelta(3)],
        "left_at": [None, None, None, now - timedelta(days=2), now + timedelta(days=1)],
    }


def generate(building_a, building_b, *, seed: int, people: int = 36) -> Cases:
    """People in one or both buildings, each granted and enrolled in every purpose of their
    buildings, then moved at random: consent status and dates, guardian, birth date,
    membership ended, template retention, purpose retired or back to draft."""
    rng = random.Random(seed)
    now = timezone.now()
    grace = timedelta(days=GRACE_DAYS)
    when = _instants(now, grace)
    purposes = [
        make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION, kind="door_access"),
        make_active_purpose(building_b, demo=consent_rules.IDENTIFICATION, kind="door_access"),
        make_active_purpose(building_a, demo=consent_rules.VERIFICATION),  # back to draft below
        make_active_purpose(building_b, demo=consent_rules.VERIFICATION),  # retired below
    ]
    guardian = make_person("guardian", building_a, "resident")
    adult_born_by = consent_rules.adult_born_on_or_before(timezone.localdate(now))
    births = [
        None,
        None,
        adult_born_by - timedelta(days=9000),
        adult_born_by,  # 14 today: an adult
        adult_born_by + timedelta(days=1),  # 14 tomorrow: a child today
        adult_born_by + timedelta(days=2000),
    ]
    made = []
    for n in range(people):
        homes = rng.choice([[building_a], [building_b], [building_a, building_b]])
        person = make_person(f"case{n}", homes[0], "resident")
        for extra in homes[1:]:
            Membership.objects.create(user=person, building=extra, role="staff")
        for purpose in purposes:
            if purpose.building not in homes:
                continue
            grant(person, purpose)
            vector = np.random.default_rng(rng.randrange(2**32)).standard_normal(128)
            store_template(person, purpose, vector.astype(np.float32), "test-model")
            Consent.objects.filter(person=person, purpose=purpose).update(
                status=rng.choice(
                    [consent_rules.GRANTED] * 5
                    + [consent_rules.WITHDRAWN, consent_rules.REFUSED, consent_rules.ENDED]
                ),
                expires_at=rng.choice(when["expires_at"]),
                renewal_needed_at=rng.choice(when["renewal_needed_at"]),
                granted_by=rng.choice([None, None, guardian]),
            )
            FaceTemplate.objects.filter(person=person, purpose=purpose).update(
                lapses_at=rng.choice(when["lapses_at"])
            )
            if rng.random() < 0.08:
                Consent.objects.filter(person=person, purpose=purpose).delete()
        User.objects.filter(pk=person.pk).update(birth_date=rng.choice(births))
        for membership in Membership.objects.filter(user=person):
            membership.left_at = rng.choice(when["left_at"])
            membership.save(update_fields=["left_at"])
        made.append(person)
    Purpose.objects.filter(pk=purposes[2].pk).update(status=consent_rules.DRAFT)
    Purpose.objects.filter(pk=purposes[3].pk).update(status=consent_rules.RETIRED)
    return Cases(now, GRACE_DAYS, [building_a, building_b], purposes, made)
