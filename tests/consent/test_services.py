"""The consent lifecycle on PostgreSQL, through the services."""

from datetime import date

import pytest

from consent import rules, services, signals
from consent.models import Consent, ConsentEvent, Notification
from consent.services import ConsentError
from portal import clock
from portal import signals as portal_signals
from tests.factories import (
    ASSESSMENT,
    TEXTS,
    grant,
    make_active_purpose,
    make_person,
    purpose_fields,
    refuse,
)

pytestmark = pytest.mark.django_db


def test_grant_withdraw_grant_again(resident, purpose):
    first = grant(resident, purpose)
    assert Consent.objects.active_for(resident, purpose) == first
    services.withdraw_consent(resident, purpose, actor=resident)
    assert Consent.objects.active_for(resident, purpose) is None
    again = grant(resident, purpose)
    assert again.pk == first.pk  # one row per person and purpose
    assert Consent.objects.active_for(resident, purpose) == again
    kinds = list(
        ConsentEvent.objects.filter(consent=again).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == [rules.GRANTED, rules.WITHDRAWN, rules.GRANTED]


def test_grant_records_the_notice_shown_and_evidence(resident, purpose):
    consent = grant(resident, purpose)
    assert consent.notice == purpose.current_notice
    assert consent.notice_hash == purpose.current_notice.text_hash
    assert (consent.channel, consent.ip, consent.user_agent) == ("web", "127.0.0.1", "pytest")
    assert consent.granted_at == consent.decided_at


def test_grant_with_an_old_notice_hash_is_refused(resident, purpose):
    with pytest.raises(ConsentError) as error:
        services.grant_consent(
            resident,
            purpose,
            actor=resident,
            channel="web",
            ip=None,
            user_agent="",
            notice_hash="0" * 64,
        )
    assert error.value.code == "notice_changed"
    assert not Consent.objects.exists()


def test_withdrawal_is_announced_inside_the_transaction(resident, purpose):
    from django.db import connection

    seen = []

    def receiver(sender, person, purpose, consent, **kwargs):
        seen.append((person, purpose.pk, consent.status, connection.in_atomic_block))

    signals.consent_withdrawn.connect(receiver)
    try:
        grant(resident, purpose)
        services.withdraw_consent(resident, purpose, actor=resident)
    finally:
        signals.consent_withdrawn.disconnect(receiver)
    assert seen == [(resident, purpose.pk, rules.WITHDRAWN, True)]


def test_a_failing_withdrawal_receiver_rolls_the_withdrawal_back(resident, purpose):
    def receiver(**kwargs):
        raise RuntimeError("templates could not be deleted")

    grant(resident, purpose)
    signals.consent_withdrawn.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            services.withdraw_consent(resident, purpose, actor=resident)
    finally:
        signals.consent_withdrawn.disconnect(receiver)
    assert Consent.objects.active_for(resident, purpose) is not None


def test_withdrawing_nothing_is_refused(resident, purpose):
    with pytest.raises(ConsentError) as error:
        services.withdraw_consent(resident, purpose, actor=resident)
    assert error.value.code == "not_granted"


def test_refusal_is_recorded_and_not_asked_again_until_the_notice_changes(
    resident, purpose, admin_a
):
    consent = refuse(resident, purpose)
    assert consent.status == rules.REFUSED
    state = consent.state()
    assert not rules.needs_decision(state, consent.notice_id, purpose.current_notice_id)
    # A wording fix is a new version: the question may be asked again, consents stay valid.
    notice = services.publish_notice(
        purpose, actor=admin_a, texts=TEXTS, data_collected="One template. "
    )
    assert not notice.requires_renewal
    assert rules.needs_decision(state, consent.notice_id, notice.pk)


def test_notice_change_forces_renewal_and_tells_the_person(
    resident, other_resident, purpose, admin_a
):
    granted = grant(resident, purpose)
    refuse(other_resident, purpose)
    told = []
    signals.consent_renewal_needed.connect(receiver := lambda **kw: told.append(kw["consent_ids"]))
    try:
        notice = services.publish_notice(
            purpose, actor=admin_a, texts=TEXTS, data_collected="One template and door logs."
        )
    finally:
        signals.consent_renewal_needed.disconnect(receiver)
    assert notice.requires_renewal and notice.version == 2
    assert told == [[granted.pk]]
    assert Consent.objects.active_for(resident, purpose) is None
    granted.refresh_from_db()
    assert granted.state() == rules.STATE_RENEWAL_NEEDED
    assert Notification.objects.filter(person=resident, purpose=purpose).count() == 1
    assert not Notification.objects.filter(person=other_resident).exists()
    renewed = grant(resident, purpose)
    assert renewed.notice == notice
    assert Consent.objects.active_for(resident, purpose) == renewed


def test_wording_change_keeps_consents_active(resident, purpose, admin_a):
    grant(resident, purpose)
    texts = {lang: {**t, "rights": "Clearer wording."} for lang, t in TEXTS.items()}
    services.publish_notice(purpose, actor=admin_a, texts=texts, data_collected="One template.")
    assert Consent.objects.active_for(resident, purpose) is not None


def test_method_change_on_an_active_purpose_needs_a_new_assessment(purpose, admin_a, moved_clock):
    with pytest.raises(ConsentError) as error:
        services.publish_notice(
            purpose,
            actor=admin_a,
            texts=TEXTS,
            data_collected="One template.",
            changes={"method": rules.VERIFICATION},
        )
    assert error.value.code == "assessment_outdated"
    moved_clock.advance(seconds=1)
    assessment = services.create_assessment(purpose, actor=admin_a, **ASSESSMENT)
    services.approve_assessment(assessment, actor=admin_a)
    notice = services.publish_notice(
        purpose,
        actor=admin_a,
        texts=TEXTS,
        data_collected="One template.",
        changes={"method": rules.VERIFICATION},
    )
    purpose.refresh_from_db()
    assert purpose.method == rules.VERIFICATION and notice.requires_renewal


def test_activation_refused_without_assessment(building_a, admin_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    services.publish_notice(purpose, actor=admin_a, texts=TEXTS, data_collected="x")
    with pytest.raises(ConsentError) as error:
        services.activate_purpose(purpose, actor=admin_a)
    assert error.value.code == "not_ready"
    assert error.value.details == {"missing": ["assessment"]}
    assert "impact assessment" in error.value.message


def test_activation_refused_without_notice(building_a, admin_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    assessment = services.create_assessment(purpose, actor=admin_a, **ASSESSMENT)
    with pytest.raises(ConsentError) as error:
        services.activate_purpose(purpose, actor=admin_a)
    assert error.value.details == {"missing": ["assessment", "notice"]}
    services.approve_assessment(assessment, actor=admin_a)
    with pytest.raises(ConsentError) as error:
        services.activate_purpose(purpose, actor=admin_a)
    assert error.value.details == {"missing": ["notice"]}
    assert "published notice" in error.value.message


def test_purpose_without_alternative_is_refused(building_a, admin_a):
    with pytest.raises(ConsentError) as error:
        services.create_purpose(building_a, actor=admin_a, **purpose_fields(alternatives=[]))
    assert "alternatives" in error.value.details


def test_purpose_without_retention_rule_is_refused(building_a, admin_a):
    with pytest.raises(ConsentError) as error:
        services.create_purpose(
            building_a,
            actor=admin_a,
            **purpose_fields(retention_days=None, until_person_leaves=False),
        )
    assert "retention_days" in error.value.details


def test_only_drafts_are_edited(purpose, admin_a):
    with pytest.raises(ConsentError) as error:
        services.update_purpose(purpose, actor=admin_a, name="Other")
    assert error.value.code == "not_draft"


def test_notice_needs_both_languages(building_a, admin_a):
    purpose = services.create_purpose(building_a, actor=admin_a, **purpose_fields())
    with pytest.raises(ConsentError) as error:
        services.publish_notice(
            purpose, actor=admin_a, texts={"en": TEXTS["en"]}, data_collected="x"
        )
    assert "zh-hans.purpose" in error.value.details["missing"]


def test_minor_without_guardian_is_refused_and_guardian_grant_counts(building_a, purpose):
    guardian = make_person("parent", building_a, "resident")
    today = clock.now().date()
    minor = make_person(
        "child", building_a, "resident", birth_date=date(today.year - 10, 1, 1), guardian=guardian
    )
    with pytest.raises(ConsentError) as error:
        grant(minor, purpose)
    assert error.value.code == "guardian_required"
    assert "guardian" in error.value.message
    assert not Consent.objects.filter(person=minor).exists()
    consent = grant(minor, purpose, actor=guardian)
    assert consent.granted_by == guardian
    assert Consent.objects.active_for(minor, purpose) == consent
    # The minor can still say no on their own.
    services.withdraw_consent(minor, purpose, actor=minor)
    assert Consent.objects.active_for(minor, purpose) is None


def test_someone_else_cannot_act_as_guardian(building_a, resident, purpose):
    today = clock.now().date()
    minor = make_person("child", building_a, "resident", birth_date=date(today.year - 9, 5, 5))
    with pytest.raises(ConsentError) as error:
        grant(minor, purpose, actor=resident)
    assert error.value.code == "not_guardian"


def test_guardian_does_not_decide_for_a_ward_of_14(building_a, purpose):
    guardian = make_person("parent", building_a, "resident")
    today = clock.now().date()
    teen = make_person(
        "teen", building_a, "resident", birth_date=date(today.year - 15, 1, 1), guardian=guardian
    )
    with pytest.raises(ConsentError):
        grant(teen, purpose, actor=guardian)
    assert grant(teen, purpose).granted_by is None


def test_minor_consent_without_guardian_grant_is_not_active(building_a, resident, purpose):
    consent = grant(resident, purpose)
    today = clock.now().date()
    resident.birth_date = date(today.year - 12, 1, 1)  # the birth date was corrected later
    resident.save()
    assert Consent.objects.active_for(resident, purpose) is None
    consent.refresh_from_db()
    assert consent.state() == rules.STATE_AWAITING_GUARDIAN


def test_consent_expires_by_retention_days(resident, purpose, moved_clock):
    grant(resident, purpose)
    moved_clock.advance(days=364)
    assert Consent.objects.active_for(resident, purpose) is not None
    moved_clock.advance(days=2)
    assert Consent.objects.active_for(resident, purpose) is None


def test_retired_purpose_has_no_active_consents(resident, purpose, admin_a):
    grant(resident, purpose)
    seen = []
    signals.purpose_retired.connect(receiver := lambda **kw: seen.append(kw["purpose"].pk))
    try:
        services.retire_purpose(purpose, actor=admin_a)
    finally:
        signals.purpose_retired.disconnect(receiver)
    assert seen == [purpose.pk]
    assert Consent.objects.active_for(resident, purpose) is None


def test_outsider_cannot_consent(building_b, purpose):
    outsider = make_person("outsider", building_b, "resident")
    with pytest.raises(ConsentError) as error:
        grant(outsider, purpose)
    assert error.value.code == "not_member"


def test_person_left_ends_memberships_and_consents(resident, purpose, building_a, admin_a):
    grant(resident, purpose)
    seen = []
    portal_signals.person_left.connect(receiver := lambda **kw: seen.append(kw["building"]))
    try:
        ended = services.mark_person_left(resident, building_a, actor=admin_a)
    finally:
        portal_signals.person_left.disconnect(receiver)
    assert ended == 1 and seen == [building_a]
    assert Consent.objects.active_for(resident, purpose) is None
    assert not resident.memberships.current().exists()


def test_active_queryset_works_as_a_subquery(
    resident, other_resident, purpose, building_a, admin_a
):
    from django.db.models import Exists, OuterRef

    from portal.models import User

    second = make_active_purpose(building_a, admin_a, name="Face sign-in")
    grant(resident, purpose)
    grant(other_resident, second)
    active = Consent.objects.active().filter(person_id=OuterRef("pk"), purpose=purpose)
    assert list(User.objects.filter(Exists(active))) == [resident]
