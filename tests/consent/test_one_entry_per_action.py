"""Each action writes exactly one audit entry, with its own event: a table of every writer."""

import pytest

from consent import services
from portal import accounts, backup_codes, clock, rules
from portal.audit.events import AuditEvent
from portal.models import AuditEntry
from recognition.doors import devices, locations
from recognition.rights import services as rights_services
from tests.factories import (
    ASSESSMENT,
    TEXTS,
    add_totp,
    current_code,
    grant,
    make_active_purpose,
    purpose_fields,
)
from tests.rights.data import INCIDENT_FIELDS

pytestmark = pytest.mark.django_db


def _draft(building, admin):
    return services.create_purpose(building, actor=admin, **purpose_fields())


def _assessed(building, admin):
    purpose = _draft(building, admin)
    return services.create_assessment(purpose, actor=admin, **ASSESSMENT)


def _ready(building, admin):
    assessment = _assessed(building, admin)
    services.approve_assessment(assessment, actor=admin)
    purpose = assessment.purpose
    services.publish_notice(purpose, actor=admin, texts=TEXTS, data_collected="One template.")
    return purpose


def _location(building, admin):
    return locations.create_location(building, actor=admin, name="Lobby", kind="entrance")


def _device(building, admin):
    device, _key = devices.register_device(
        _location(building, admin), "Lobby door", None, actor=admin
    )
    return device


# (name, set-up(building, admin, resident) -> thing, action(thing, building, admin, resident))
ACTIONS = [
    (
        AuditEvent.PURPOSE_CREATED,
        lambda b, a, r: None,
        lambda _, b, a, r: _draft(b, a),
    ),
    (
        AuditEvent.PURPOSE_UPDATED,
        lambda b, a, r: _draft(b, a),
        lambda p, b, a, r: services.update_purpose(p, actor=a, name="Lobby door by face"),
    ),
    (
        AuditEvent.PURPOSE_DELETED,
        lambda b, a, r: _draft(b, a),
        lambda p, b, a, r: services.delete_purpose(p, actor=a),
    ),
    (
        AuditEvent.ASSESSMENT_CREATED,
        lambda b, a, r: _draft(b, a),
        lambda p, b, a, r: services.create_assessment(p, actor=a, **ASSESSMENT),
    ),
    (
        AuditEvent.ASSESSMENT_UPDATED,
        lambda b, a, r: _assessed(b, a),
        lambda s, b, a, r: services.update_assessment(
            s, actor=a, protection_adequacy="Adequate, reviewed."
        ),
    ),
    (
        AuditEvent.ASSESSMENT_APPROVED,
        lambda b, a, r: _assessed(b, a),
        lambda s, b, a, r: services.approve_assessment(s, actor=a),
    ),
    (
        AuditEvent.NOTICE_PUBLISHED,
        lambda b, a, r: services.approve_assessment(_assessed(b, a), actor=a).purpose,
        lambda p, b, a, r: services.publish_notice(p, actor=a, texts=TEXTS, data_collected="One."),
    ),
    (
        AuditEvent.PURPOSE_ACTIVATED,
        lambda b, a, r: _ready(b, a),
        lambda p, b, a, r: services.activate_purpose(p, actor=a),
    ),
    (
        AuditEvent.PURPOSE_RETIRED,
        lambda b, a, r: make_active_purpose(b, a),
        lambda p, b, a, r: services.retire_purpose(p, actor=a),
    ),
    (
        AuditEvent.CONSENT_GRANTED,
        lambda b, a, r: make_active_purpose(b, a),
        lambda p, b, a, r: grant(r, p),
    ),
    (
        AuditEvent.CONSENT_REFUSED,
        lambda b, a, r: make_active_purpose(b, a),
        lambda p, b, a, r: services.refuse_consent(
            r,
            p,
            actor=r,
            channel="web",
            ip=None,
            user_agent="",
            notice_hash=p.current_notice.text_hash,
        ),
    ),
    (
        AuditEvent.CONSENT_WITHDRAWN,
        lambda b, a, r: grant(r, make_active_purpose(b, a)).purpose,
        lambda p, b, a, r: services.withdraw_consent(
            r, p, actor=r, channel="web", ip=None, user_agent=""
        ),
    ),
    (
        AuditEvent.PERSON_INVITED,
        lambda b, a, r: None,
        lambda _, b, a, r: services.invite_person(
            b, actor=a, role=rules.RESIDENT, username="newcomer", adult_attested=True
        ),
    ),
    (
        AuditEvent.PERSON_LEFT,
        lambda b, a, r: None,
        lambda _, b, a, r: services.mark_person_left(r, b, actor=a),
    ),
    (
        AuditEvent.LOCATION_CREATED,
        lambda b, a, r: None,
        lambda _, b, a, r: _location(b, a),
    ),
    (
        AuditEvent.LOCATION_UPDATED,
        lambda b, a, r: _location(b, a),
        lambda loc, b, a, r: locations.update_location(loc, actor=a, name="Main lobby"),
    ),
    (
        AuditEvent.DEVICE_REGISTERED,
        lambda b, a, r: _location(b, a),
        lambda loc, b, a, r: devices.register_device(loc, "Lobby door", None, actor=a),
    ),
    (
        AuditEvent.DEVICE_KEY_ROTATED,
        lambda b, a, r: _device(b, a),
        lambda d, b, a, r: devices.rotate_device_key(d, actor=a),
    ),
    (
        AuditEvent.DEVICE_REVOKED,
        lambda b, a, r: _device(b, a),
        lambda d, b, a, r: devices.revoke_device(d, actor=a),
    ),
    (
        AuditEvent.FIRST_ADMIN_CREATED,
        lambda b, a, r: None,
        lambda _, b, a, r: accounts.create_first_admin(
            username="first", building_name="New", handler_name="H", handler_contact="c"
        ),
    ),
    (
        AuditEvent.MEMBER_CREATED,
        lambda b, a, r: None,
        lambda _, b, a, r: accounts.create_member_with_authenticator(
            b, role=rules.STAFF, username="new_staff"
        ),
    ),
    (
        AuditEvent.TOTP_KEYS_ROTATED,
        lambda b, a, r: add_totp(r),
        lambda _, b, a, r: accounts.rotate_totp_keys(),
    ),
    (
        AuditEvent.TOTP_STARTED,
        lambda b, a, r: None,
        lambda _, b, a, r: accounts.start_authenticator(r, actor=r),
    ),
    (
        AuditEvent.TOTP_CONFIRMED,
        lambda b, a, r: accounts.start_authenticator(r, actor=r),
        lambda d, b, a, r: accounts.confirm_authenticator(r, current_code(d), actor=r),
    ),
    (
        AuditEvent.BACKUP_CODES_GENERATED,
        lambda b, a, r: add_totp(r),
        lambda _, b, a, r: backup_codes.generate_backup_codes(r),
    ),
    (
        AuditEvent.INCIDENT_RECORDED,
        lambda b, a, r: grant(r, make_active_purpose(b, a)).purpose,
        lambda p, b, a, r: rights_services.record_incident(
            b, actor=a, purposes=[p], found_at=clock.now(), **INCIDENT_FIELDS
        ),
    ),
    (
        AuditEvent.INCIDENT_REPORTED,
        lambda b, a, r: rights_services.record_incident(
            b, actor=a, purposes=[], found_at=clock.now(), **INCIDENT_FIELDS
        ),
        lambda i, b, a, r: rights_services.mark_incident_reported(i, actor=a),
    ),
    (
        AuditEvent.REQUEST_FILED,
        lambda b, a, r: None,
        lambda _, b, a, r: rights_services.file_request(r, building=b, kind="access"),
    ),
    (
        AuditEvent.REQUEST_ANSWERED,
        lambda b, a, r: rights_services.file_request(r, building=b, kind="access"),
        lambda q, b, a, r: rights_services.answer_request(
            q, actor=a, status="answered", answer="Attached."
        ),
    ),
    (
        AuditEvent.PROFILE_CORRECTED,
        lambda b, a, r: None,
        lambda _, b, a, r: rights_services.correct_profile(r, first_name="Li"),
    ),
    (
        AuditEvent.PERSON_AGE_RECORDED,
        lambda b, a, r: None,
        lambda _, b, a, r: rights_services.record_age(r, actor=a, building=b, adult_attested=True),
    ),
    (
        AuditEvent.FILING_RECORDED,
        lambda b, a, r: None,
        lambda _, b, a, r: rights_services.record_filing(
            actor=a,
            kind="initial",
            duty_arose_on=clock.now().date(),
            filed_on=clock.now().date(),
            reference="R1",
            authority="Office",
        ),
    ),
    (
        AuditEvent.ACCOUNT_DELETED,
        lambda b, a, r: None,
        lambda _, b, a, r: rights_services.delete_account(r, actor=r),
    ),
]


@pytest.mark.parametrize(("event", "set_up", "act"), ACTIONS, ids=[a[0].value for a in ACTIONS])
def test_each_action_writes_exactly_its_one_entry(
    event, set_up, act, building_a, admin_a, resident
):
    thing = set_up(building_a, admin_a, resident)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    act(thing, building_a, admin_a, resident)
    written = list(AuditEntry.objects.filter(id__gt=before).values_list("event", flat=True))
    assert written == [event.value]
