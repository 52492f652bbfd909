"""A person's decisions on a purpose: grant, refuse, withdraw, and withdraw the separate consent to
face data leaving the device. Each is one transaction with its event and its audit entry."""

import uuid
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent import rules, signals
from consent.models import (
    Consent,
    ConsentEvent,
    Notice,
    Purpose,
)
from consent.services.common import (
    ConsentError,
    Evidence,
    evidence,
)
from portal import audit, clock
from portal.audit.events import AuditEvent
from portal.models import User


def _check_actor(person: User, guardian: User | None, today: date) -> None:
    if guardian is None:
        return
    if person.guardian_id != guardian.pk:
        raise ConsentError("not_guardian", _("You are not this person's guardian."))
    if not rules.guardian_required(person.birth_date, today):
        raise ConsentError(
            "not_guardian",
            _("This person is 14 or older and decides for themselves."),
        )


def _decision_target(
    person: User, purpose: Purpose, notice_hash_shown: str
) -> tuple[Purpose, Notice]:
    purpose = Purpose.objects.select_related("current_notice", "building").get(pk=purpose.pk)
    if not Purpose.objects.for_person(person).filter(pk=purpose.pk).exists():
        raise ConsentError("not_member", _("This purpose is not offered in your buildings."))
    notice = purpose.current_notice
    if purpose.status != rules.ACTIVE or notice is None:
        raise ConsentError("purpose_not_active", _("This purpose is not active."))
    if notice_hash_shown != notice.text_hash:
        raise ConsentError(
            "notice_changed",
            _("The notice changed while you were reading it. Read the new version and decide."),
            {"current_notice_hash": notice.text_hash},
        )
    return purpose, notice


def _locked_consent(person: User, purpose: Purpose) -> Consent | None:
    # of=("self",): lock the consent row only. Without it PostgreSQL also locked the joined
    # purpose and person rows, so every decision about a purpose queued behind the others
    # and deadlocked against their foreign-key checks.
    return (
        Consent.objects.select_for_update(of=("self",))
        .select_related("purpose", "person")
        .filter(person=person, purpose=purpose)
        .first()
    )


def _record(
    consent: Consent,
    kind: str,
    event: AuditEvent,
    *,
    now: datetime,
    actor: User,
    proof: Evidence,
    storage_consent: bool | None = None,
) -> None:
    """A decision's two records, written with it: its consent event and its audit entry."""
    ConsentEvent.objects.create(
        consent=consent,
        person_id=consent.person_id,
        kind=kind,
        at=now,
        notice_id=consent.notice_id,
        actor=actor,
        storage_consent=storage_consent,
        **proof,
    )
    _audit_decision(event, consent, actor, proof)


def _audit_decision(event: AuditEvent, consent: Consent, actor: User, proof: Evidence) -> None:
    audit.record(
        event,
        actor=actor,
        person=consent.person_id,
        building=consent.purpose.building_id,
        data={
            "consent": consent.pk,
            "purpose": consent.purpose_id,
            "notice": consent.notice_id,
            "notice_hash": consent.notice_hash,
            "channel": proof["channel"],
            "granted_by": consent.granted_by_id,
            "storage_consent": consent.storage_consented_at is not None,
        },
    )


def _withdrawing(person: User, purpose: Purpose, actor: User) -> tuple[datetime, Consent | None]:
    """A withdrawal's start: now, who may act (refused unless the person or their guardian),
    and the person's consent row, locked."""
    now = clock.now()
    _guardian_acting(person, actor, timezone.localdate(now))
    return now, _locked_consent(person, purpose)


def _guardian_acting(person: User, actor: User, today: date) -> User | None:
    """The guardian deciding for `person`, or None when the person decides for themselves;
    refused when `actor` is neither."""
    if actor.pk == person.pk:
        return None
    _check_actor(person, actor, today)
    return actor


def _check_may_grant(person: User, guardian: User | None, today: date) -> None:
    if rules.age_unknown(person.birth_date, person.adult_attested_at is not None):
        raise ConsentError(
            "age_unknown",
            _(
                "Your date of birth is not recorded, so nobody can tell whether your guardian "
                "must decide. Ask your building's admin to record it. Nothing has changed."
            ),
        )
    if guardian is None and rules.guardian_required(person.birth_date, today):
        raise ConsentError(
            "guardian_required",
            _(
                "You are under 14, so your guardian must give this consent from their own "
                "account. Nothing has changed."
            ),
        )


_DECISION_EVENTS = {
    rules.GRANTED: AuditEvent.CONSENT_GRANTED,
    rules.REFUSED: AuditEvent.CONSENT_REFUSED,
}


@transaction.atomic
def grant_consent(
    person: User,
    purpose: Purpose,
    *,
    actor: User,
    channel: str,
    ip: str | None,
    user_agent: str | None,
    notice_hash: str,
    storage_consent: bool = False,
) -> Consent:
    """Records an explicit, separate grant tied to the exact notice version shown.

    `actor` is the person, or their guardian deciding for them from the guardian's own account:
    a person under 14 cannot grant for themselves. Granting what is already active under the
    same notice, with the same answer to the separate question about face data leaving the
    device, changes nothing.

    `storage_consent` is that separate answer (its own unticked box), asked only when the
    purpose's face data leaves the device. A grant without it withdraws it: whatever face data
    the portal holds for the purpose is deleted in this transaction.
    """
    return _decide(
        person,
        purpose,
        rules.GRANTED,
        actor=actor,
        proof=evidence(channel, ip, user_agent),
        notice_hash_shown=notice_hash,
        storage_consent=storage_consent,
    )


@transaction.atomic
def refuse_consent(
    person: User,
    purpose: Purpose,
    *,
    actor: User,
    channel: str,
    ip: str | None,
    user_agent: str | None,
    notice_hash: str,
) -> Consent:
    """Records a "no". The person is not asked again until the notice changes.

    Refusing a renewal of a granted consent stops it like a withdrawal does.
    """
    return _decide(
        person,
        purpose,
        rules.REFUSED,
        actor=actor,
        proof=evidence(channel, ip, user_agent),
        notice_hash_shown=notice_hash,
    )


def _decide(
    person: User,
    purpose: Purpose,
    decision: str,
    *,
    actor: User,
    proof: Evidence,
    notice_hash_shown: str,
    storage_consent: bool = False,
) -> Consent:
    """The one path of a yes or a no on the notice version shown: who may decide, what is
    offered, the locked row, its event, its audit entry and the signals."""
    now = clock.now()
    today = timezone.localdate(now)
    granting = decision == rules.GRANTED
    guardian = _guardian_acting(person, actor, today)
    if granting:
        _check_may_grant(person, guardian, today)
    purpose, notice = _decision_target(person, purpose, notice_hash_shown)
    consent = _locked_consent(person, purpose)
    previous = consent.status if consent else None
    storage_asked = granting and purpose.leaves_device()
    storage_consent = bool(storage_consent) and storage_asked
    if (
        granting
        and consent is not None
        and consent.notice_id == notice.pk
        and consent.state(now) == rules.STATE_ACTIVE
        and (consent.storage_consented_at is not None) == storage_consent
    ):
        return consent
    status = rules.next_status(previous, decision)
    consent = consent or Consent(person=person, purpose=purpose, building_id=purpose.building_id)
    consent.notice = notice
    consent.notice_hash = notice.text_hash
    consent.status = status
    consent.decided_at = now
    consent.renewal_needed_at = None
    if granting:
        consent.granted_at = now
        consent.expires_at = rules.expires_at(now, purpose.retention_days)
        consent.granted_by = guardian
        consent.storage_consented_at = now if storage_consent else None
        if consent.pk is not None:
            consent.receipt_id = uuid.uuid4()  # a new receipt for each grant
    else:
        consent.refused_at = now
        consent.granted_by = None
        consent.storage_consented_at = None
    for name, value in proof.items():
        setattr(consent, name, value)
    consent.save()
    _record(
        consent,
        decision,
        _DECISION_EVENTS[decision],
        now=now,
        actor=actor,
        proof=proof,
        storage_consent=storage_consent if storage_asked else None,
    )
    if granting:
        if not storage_consent:
            # Withdrawn now, never given for face data kept before it was asked (a renewal
            # after the separate consent was introduced), or the purpose now keeps face data on
            # the device only: none of it may stay with the portal.
            signals.storage_consent_withdrawn.send(
                sender=Consent, person=person, purpose=purpose, consent=consent, actor=actor
            )
        signals.consent_granted.send(
            sender=Consent, person=person, purpose=purpose, consent=consent
        )
    elif previous == rules.GRANTED:
        signals.consent_withdrawn.send(
            sender=Consent, person=person, purpose=purpose, consent=consent, actor=actor
        )
    return consent


@transaction.atomic
def withdraw_consent(
    person: User,
    purpose: Purpose,
    *,
    actor: User,
    channel: str = "web",
    ip: str | None = None,
    user_agent: str | None = None,
) -> Consent:
    """One action, no approval, effective before it returns.

    `consent_withdrawn` is sent inside this transaction so face data for the purpose is
    deleted in it too. The person themselves, or their guardian while they are under 14, may
    withdraw. Past processing stays lawful and logged.
    """
    now, consent = _withdrawing(person, purpose, actor)
    if consent is None or consent.status != rules.GRANTED:
        raise ConsentError("not_granted", _("There is no consent to withdraw."))
    status = rules.next_status(consent.status, rules.WITHDRAWN)
    proof = evidence(channel, ip, user_agent)
    consent.status = status
    consent.decided_at = consent.withdrawn_at = now
    consent.renewal_needed_at = None
    consent.storage_consented_at = None
    consent.save(
        update_fields=[
            "status",
            "decided_at",
            "withdrawn_at",
            "renewal_needed_at",
            "storage_consented_at",
        ]
    )
    _record(
        consent, rules.WITHDRAWN, AuditEvent.CONSENT_WITHDRAWN, now=now, actor=actor, proof=proof
    )
    signals.consent_withdrawn.send(
        sender=Consent, person=person, purpose=consent.purpose, consent=consent, actor=actor
    )
    return consent


@transaction.atomic
def withdraw_storage_consent(
    person: User,
    purpose: Purpose,
    *,
    actor: User,
    channel: str = "web",
    ip: str | None = None,
    user_agent: str | None = None,
) -> Consent:
    """Withdraws only the separate consent to face data leaving the device (Measures art. 8).

    The consent to the purpose stays; the face data the portal holds for it is deleted in this
    transaction (`storage_consent_withdrawn`), and none is kept until the person agrees again.
    """
    now, consent = _withdrawing(person, purpose, actor)
    if consent is None or consent.storage_consented_at is None:
        raise ConsentError(
            "not_granted",
            _("There is no consent to face data leaving the device to withdraw."),
        )
    consent.status = rules.next_status(consent.status, rules.STORAGE_WITHDRAWN)
    consent.storage_consented_at = None
    consent.save(update_fields=["status", "storage_consented_at"])
    proof = evidence(channel, ip, user_agent)
    _record(
        consent,
        rules.STORAGE_WITHDRAWN,
        AuditEvent.STORAGE_WITHDRAWN,
        now=now,
        actor=actor,
        proof=proof,
        storage_consent=False,
    )
    signals.storage_consent_withdrawn.send(
        sender=Consent, person=person, purpose=consent.purpose, consent=consent, actor=actor
    )
    return consent
