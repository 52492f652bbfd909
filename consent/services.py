"""The only writers of consent data. Each function is one transaction that writes its audit entry.

Views, the API, the demo loader and management commands call these; none writes models itself.
Refusals are raised as ConsentError(code, message) with a translated message.
"""

import hashlib
import uuid
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from consent import audit, rules, signals, ways
from consent.models import (
    LANGUAGES,
    SECTION_KEYS,
    Assessment,
    Consent,
    ConsentEvent,
    Notice,
    Notification,
    Purpose,
)
from portal import clock, names
from portal.models import Membership
from portal.rules_query import current_member

PURPOSE_FIELDS = (
    "name",
    "name_en",
    "name_zh_hans",
    "specific_purpose",
    "necessity_and_impact",
    "method",
    "retention_days",
    "until_person_leaves",
    "alternatives",
    "audience",
    "storage",
    "public_security",
)
# The kind is chosen once, at creation: a template serves only purposes of its kind.
CREATE_FIELDS = (*PURPOSE_FIELDS, "kind")
ASSESSMENT_FIELDS = (
    "lawfulness_and_necessity",
    "impact_and_mitigations",
    "security_risks",
    "protection_adequacy",
)
USER_AGENT_MAX = 300
_BATCH = 2000


class ConsentError(Exception):
    """A refused action: `code` for programs, `message` (translated) for people."""

    STATUS = {
        "invalid": 400,
        "guardian_required": 403,
        "not_guardian": 403,
        "not_allowed": 403,
        "not_member": 404,
    }

    def __init__(self, code: str, message: str, details: Mapping | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 409)


def _validated(instance) -> None:
    try:
        instance.full_clean(exclude=["building", "purpose", "current_notice"])
    except ValidationError as error:
        details = {field: [str(m) for m in msgs] for field, msgs in error.message_dict.items()}
        raise ConsentError("invalid", _("Some fields are not valid."), details) from None
    if isinstance(instance, Purpose):
        message = ways.unavailable_message(instance.alternatives, instance.building_id)
        if message is not None:
            raise ConsentError(
                "invalid", _("Some fields are not valid."), {"alternatives": [message]}
            )


def _only(changes: Mapping, allowed: tuple[str, ...]) -> dict:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ConsentError(
            "invalid",
            _("These fields cannot be changed here: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))},
        )
    return dict(changes)


def _locked_purpose(purpose: Purpose) -> Purpose:
    return Purpose.objects.select_for_update().get(pk=purpose.pk)


def _scope(purpose: Purpose) -> dict:
    return {"specific_purpose": purpose.specific_purpose, "method": purpose.method}


def has_current_assessment(purpose: Purpose) -> bool:
    """An approved assessment covers the purpose and method as they stand now."""
    approved = purpose.assessments.filter(approved_at__isnull=False)
    if purpose.needs_assessment_after is not None:
        approved = approved.filter(approved_at__gte=purpose.needs_assessment_after)
    return approved.exists()


# Purposes ---------------------------------------------------------------------------------


@transaction.atomic
def create_purpose(building, *, actor, **fields) -> Purpose:
    now = clock.now()
    purpose = Purpose(
        building=building,
        created_at=now,
        needs_assessment_after=now,
        **names.for_creation(_only(fields, CREATE_FIELDS)),
    )
    _validated(purpose)
    purpose.save()
    audit.record(
        "purpose.created",
        actor=actor,
        building=building,
        data={
            "purpose": purpose.pk,
            "method": purpose.method,
            "kind": purpose.kind,
            "audience": purpose.audience,
            "storage": purpose.storage,
        },
    )
    return purpose


@transaction.atomic
def update_purpose(purpose: Purpose, *, actor, **changes) -> Purpose:
    """Changes a draft. An active purpose changes only through a new notice version."""
    purpose = _locked_purpose(purpose)
    if purpose.status != rules.DRAFT:
        raise ConsentError(
            "not_draft",
            _(
                "Only a draft purpose can be edited. Publish a new notice version to change "
                "an active purpose."
            ),
        )
    before = _scope(purpose)
    for name, value in names.for_update(_only(changes, PURPOSE_FIELDS)).items():
        setattr(purpose, name, value)
    _validated(purpose)
    if rules.scope_changed(before, _scope(purpose)):
        purpose.needs_assessment_after = clock.now()  # an earlier approval no longer covers it
    purpose.save()
    audit.record(
        "purpose.updated",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk, "fields": sorted(changes)},
    )
    return purpose


@transaction.atomic
def delete_purpose(purpose: Purpose, *, actor) -> None:
    """Deletes a draft that has no notice and no assessment (those are kept; retire instead)."""
    purpose = _locked_purpose(purpose)
    if purpose.status != rules.DRAFT or purpose.notices.exists() or purpose.assessments.exists():
        raise ConsentError(
            "not_deletable",
            _(
                "Only a draft without notices or assessments can be deleted; retire this "
                "purpose instead so its records are kept."
            ),
        )
    audit.record(
        "purpose.deleted",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk},
    )
    purpose.delete()


@transaction.atomic
def activate_purpose(purpose: Purpose, *, actor) -> Purpose:
    """Starts a purpose; refused without an approved assessment and a published notice."""
    purpose = _locked_purpose(purpose)
    if purpose.status != rules.DRAFT:
        raise ConsentError("not_draft", _("Only a draft purpose can be activated."))
    missing = rules.activation_missing(
        has_approved_assessment=has_current_assessment(purpose),
        has_published_notice=purpose.current_notice_id is not None,
    )
    if missing:
        messages = {
            "assessment": _("an approved impact assessment (PIPIA)"),
            "notice": _("a published notice"),
        }
        if purpose.assessments.filter(approved_at__isnull=False).exists():
            messages["assessment"] = _(
                "an impact assessment (PIPIA) approved since the purpose or method last changed"
            )
        raise ConsentError(
            "not_ready",
            _("This purpose cannot be activated yet. It still needs: %(missing)s.")
            % {"missing": _(", ").join(str(messages[m]) for m in missing)},
            {"missing": missing},
        )
    purpose.status = rules.ACTIVE
    purpose.activated_at = clock.now()
    purpose.save(update_fields=["status", "activated_at"])
    audit.record(
        "purpose.activated",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk, "notice": purpose.current_notice_id},
    )
    return purpose


@transaction.atomic
def retire_purpose(purpose: Purpose, *, actor) -> Purpose:
    """Ends a purpose for good. Its consents stop counting; assessments and notices are kept."""
    purpose = _locked_purpose(purpose)
    if purpose.status == rules.RETIRED:
        raise ConsentError("retired", _("This purpose is already retired."))
    purpose.status = rules.RETIRED
    purpose.retired_at = clock.now()
    purpose.save(update_fields=["status", "retired_at"])
    audit.record(
        "purpose.retired",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk},
    )
    signals.purpose_retired.send(sender=Purpose, purpose=purpose, actor=actor)
    return purpose


# Notices ----------------------------------------------------------------------------------


def _clean_texts(texts: Mapping) -> dict:
    cleaned: dict = {}
    missing = []
    for language in LANGUAGES:
        given = texts.get(language) if isinstance(texts, Mapping) else None
        given = given if isinstance(given, Mapping) else {}
        cleaned[language] = {}
        for key in SECTION_KEYS:
            value = given.get(key)
            value = value.strip() if isinstance(value, str) else ""
            if not value:
                missing.append(f"{language}.{key}")
            cleaned[language][key] = value
    if missing:
        raise ConsentError(
            "invalid",
            _("The notice needs every section in English and Simplified Chinese."),
            {"missing": missing},
        )
    return cleaned


def notice_hash(
    *, purpose_id, version, handler_name, handler_contact, terms, alternatives, texts
) -> str:
    """sha256 over the canonical JSON of everything the person is shown."""
    shown = {
        "purpose": purpose_id,
        "version": version,
        "handler": [handler_name, handler_contact],
        "terms": terms,
        "alternatives": list(alternatives),
        "texts": texts,
    }
    return hashlib.sha256(audit.canonical(shown).encode()).hexdigest()


@transaction.atomic
def publish_notice(
    purpose: Purpose,
    *,
    actor,
    texts: Mapping,
    data_collected: str,
    changes: Mapping | None = None,
) -> Notice:
    """Publishes the next immutable notice version of a purpose.

    `changes` may change the purpose's terms along with the notice (the only way to change an
    active purpose). When purpose, method, data or retention change, every active consent is
    marked renewal-needed (face use stops until the person decides again), each person gets a
    message, and `consent_renewal_needed` is sent. Changing purpose or method of an active
    purpose needs an impact assessment approved since the previous notice.
    """
    purpose = Purpose.objects.select_for_update().select_related("building").get(pk=purpose.pk)
    if purpose.status == rules.RETIRED:
        raise ConsentError("retired", _("A retired purpose gets no new notices."))
    before = _scope(purpose)
    for name, value in names.for_update(_only(changes or {}, PURPOSE_FIELDS)).items():
        setattr(purpose, name, value)
    _validated(purpose)
    texts = _clean_texts(texts)
    data_collected = (data_collected or "").strip()
    if not data_collected:
        raise ConsentError(
            "invalid", _("Say which data is collected."), {"data_collected": ["required"]}
        )
    now = clock.now()
    previous = purpose.current_notice
    terms = purpose.material_terms(data_collected)
    changed = rules.changed_terms(previous.terms if previous else None, terms)
    if (
        purpose.status == rules.ACTIVE
        and rules.assessment_must_be_redone(changed)
        and not purpose.assessments.filter(approved_at__gt=previous.published_at).exists()
    ):
        raise ConsentError(
            "assessment_outdated",
            _(
                "The purpose or method changes: approve a new impact assessment (PIPIA) "
                "before publishing this notice."
            ),
        )
    if rules.scope_changed(before, _scope(purpose)):
        # An active purpose got here only with an approval newer than the previous notice
        # (checked above), which covers this change; a draft needs a new one.
        purpose.needs_assessment_after = (
            previous.published_at if purpose.status == rules.ACTIVE and previous else now
        )
    version = (purpose.notices.aggregate(v=Max("version"))["v"] or 0) + 1
    building = purpose.building
    notice = Notice(
        purpose=purpose,
        version=version,
        handler_name=building.handler_name,
        handler_contact=building.handler_contact,
        data_collected=data_collected,
        terms=terms,
        texts=texts,
        requires_renewal=bool(changed),
        published_at=now,
        published_by=actor,
    )
    notice.text_hash = notice_hash(
        purpose_id=purpose.pk,
        version=version,
        handler_name=notice.handler_name,
        handler_contact=notice.handler_contact,
        terms=terms,
        alternatives=purpose.alternatives,
        texts=texts,
    )
    notice.save()
    purpose.current_notice = notice
    purpose.save()
    renewed = _mark_renewal_needed(purpose, notice, now) if changed else []
    audit.record(
        "notice.published",
        actor=actor,
        building=building,
        data={
            "purpose": purpose.pk,
            "notice": notice.pk,
            "version": version,
            "hash": notice.text_hash,
            "changed_terms": changed,
            "renewal_needed": len(renewed),
        },
    )
    if renewed:
        signals.consent_renewal_needed.send(sender=Notice, purpose=purpose, consent_ids=renewed)
    return notice


def _mark_renewal_needed(purpose: Purpose, notice: Notice, now) -> list[int]:
    """Set-based: one UPDATE, then events and messages inserted in batches."""
    pending = Consent.objects.filter(
        purpose=purpose, status=rules.GRANTED, renewal_needed_at__isnull=True
    )
    rows = list(pending.values_list("id", "person_id"))
    if not rows:
        return []
    pending.update(renewal_needed_at=now)
    ConsentEvent.objects.bulk_create(
        (
            ConsentEvent(
                consent_id=consent_id,
                person_id=person_id,
                kind=rules.RENEWAL_NEEDED,
                at=now,
                notice=notice,
                channel="system",
            )
            for consent_id, person_id in rows
        ),
        batch_size=_BATCH,
    )
    Notification.objects.bulk_create(
        (
            Notification(
                person_id=person_id,
                purpose=purpose,
                kind=Notification.NOTICE_CHANGED,
                created_at=now,
            )
            for _consent_id, person_id in rows
        ),
        batch_size=_BATCH,
    )
    _tell_guardians(purpose, [person_id for _consent_id, person_id in rows], now)
    return [consent_id for consent_id, _person_id in rows]


def _tell_guardians(purpose: Purpose, person_ids: list[int], now) -> None:
    """Guardians get the renewal message of each ward they decide for (under 14)."""
    from portal.models import User

    adult_cutoff = rules.adult_born_on_or_before(timezone.localdate(now))
    wards = User.objects.filter(
        pk__in=person_ids, guardian__isnull=False, birth_date__gt=adult_cutoff
    ).values_list("pk", "guardian_id")
    Notification.objects.bulk_create(
        (
            Notification(
                person_id=guardian_id,
                ward_id=ward_id,
                purpose=purpose,
                kind=Notification.WARD_NOTICE_CHANGED,
                created_at=now,
            )
            for ward_id, guardian_id in wards.iterator()
        ),
        batch_size=_BATCH,
    )


# Impact assessments -----------------------------------------------------------------------


@transaction.atomic
def create_assessment(purpose: Purpose, *, actor, **fields) -> Assessment:
    purpose = _locked_purpose(purpose)
    if purpose.status == rules.RETIRED:
        raise ConsentError("retired", _("A retired purpose gets no new assessments."))
    assessment = Assessment(
        purpose=purpose, assessor=actor, created_at=clock.now(), **_only(fields, ASSESSMENT_FIELDS)
    )
    _validated(assessment)
    assessment.save()
    audit.record(
        "assessment.created",
        actor=actor,
        building=purpose.building_id,
        data={"purpose": purpose.pk, "assessment": assessment.pk},
    )
    return assessment


@transaction.atomic
def update_assessment(assessment: Assessment, *, actor, **changes) -> Assessment:
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.approved:
        raise ConsentError(
            "approved", _("An approved assessment cannot be changed; write a new one.")
        )
    for name, value in _only(changes, ASSESSMENT_FIELDS).items():
        setattr(assessment, name, value)
    _validated(assessment)
    assessment.save()
    audit.record(
        "assessment.updated",
        actor=actor,
        building=assessment.purpose.building_id,
        data={"assessment": assessment.pk, "fields": sorted(changes)},
    )
    return assessment


@transaction.atomic
def approve_assessment(assessment: Assessment, *, actor) -> Assessment:
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.approved:
        raise ConsentError("approved", _("This assessment is already approved."))
    now = clock.now()
    assessment.approved_by = actor
    assessment.approved_at = now
    assessment.keep_until = rules.assessment_keep_until(now)
    assessment.save(update_fields=["approved_by", "approved_at", "keep_until"])
    audit.record(
        "assessment.approved",
        actor=actor,
        building=assessment.purpose.building_id,
        data={
            "purpose": assessment.purpose_id,
            "assessment": assessment.pk,
            "keep_until": assessment.keep_until.isoformat(),
        },
    )
    return assessment


# Consents ---------------------------------------------------------------------------------


def _is_member(person, building_id) -> bool:
    return Membership.objects.current().filter(user=person, building_id=building_id).exists()


def _check_actor(person, acting_guardian, today) -> None:
    if acting_guardian is None:
        return
    if person.guardian_id != acting_guardian.pk:
        raise ConsentError("not_guardian", _("You are not this person's guardian."))
    if not rules.guardian_required(person.birth_date, today):
        raise ConsentError(
            "not_guardian",
            _("This person is 14 or older and decides for themselves."),
        )


def _decision_target(person, purpose: Purpose, notice_hash_shown: str) -> Purpose:
    purpose = Purpose.objects.select_related("current_notice", "building").get(pk=purpose.pk)
    if not Purpose.objects.for_person(person).filter(pk=purpose.pk).exists():
        raise ConsentError("not_member", _("This purpose is not offered in your buildings."))
    if purpose.status != rules.ACTIVE or purpose.current_notice is None:
        raise ConsentError("purpose_not_active", _("This purpose is not active."))
    if notice_hash_shown != purpose.current_notice.text_hash:
        raise ConsentError(
            "notice_changed",
            _("The notice changed while you were reading it. Read the new version and decide."),
            {"current_notice_hash": purpose.current_notice.text_hash},
        )
    return purpose


def _locked_consent(person, purpose) -> Consent | None:
    # of=("self",): lock the consent row only. Without it PostgreSQL also locked the joined
    # purpose and person rows, so every decision about a purpose queued behind the others
    # and deadlocked against their foreign-key checks.
    return (
        Consent.objects.select_for_update(of=("self",))
        .select_related("purpose", "person")
        .filter(person=person, purpose=purpose)
        .first()
    )


def _evidence(channel: str, ip: str | None, user_agent: str | None) -> dict:
    return {"channel": channel, "ip": ip or None, "user_agent": (user_agent or "")[:USER_AGENT_MAX]}


def _event(
    consent: Consent, kind: str, now, actor, evidence: dict, storage_consent: bool | None = None
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        consent=consent,
        person_id=consent.person_id,
        kind=kind,
        at=now,
        notice_id=consent.notice_id,
        actor=actor,
        storage_consent=storage_consent,
        **evidence,
    )


def _audit_decision(event: str, consent: Consent, actor, evidence: dict) -> None:
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
            "channel": evidence["channel"],
            "granted_by": consent.granted_by_id,
            "storage_consent": consent.storage_consented_at is not None,
        },
    )


@transaction.atomic
def grant_consent(
    person,
    purpose: Purpose,
    *,
    channel: str,
    ip: str | None,
    user_agent: str | None,
    notice_hash: str,
    acting_guardian=None,
    storage_consent: bool = False,
) -> Consent:
    """Records an explicit, separate grant tied to the exact notice version shown.

    A person under 14 cannot grant for themselves: their guardian must, from their own account.
    Granting what is already active under the same notice, with the same answer to the
    separate question about face data leaving the device, changes nothing.

    `storage_consent` is that separate answer (its own unticked box), asked only when the
    purpose's face data leaves the device. A grant without it withdraws it: whatever face data
    the portal holds for the purpose is deleted in this transaction.
    """
    now = clock.now()
    today = timezone.localdate(now)
    _check_actor(person, acting_guardian, today)
    if rules.age_unknown(person.birth_date, person.adult_attested_at is not None):
        raise ConsentError(
            "age_unknown",
            _(
                "Your date of birth is not recorded, so nobody can tell whether your guardian "
                "must decide. Ask your building's admin to record it. Nothing has changed."
            ),
        )
    if acting_guardian is None and rules.guardian_required(person.birth_date, today):
        raise ConsentError(
            "guardian_required",
            _(
                "You are under 14, so your guardian must give this consent from their own "
                "account. Nothing has changed."
            ),
        )
    purpose = _decision_target(person, purpose, notice_hash)
    notice = purpose.current_notice
    consent = _locked_consent(person, purpose)
    storage_asked = purpose.leaves_device()
    storage_consent = bool(storage_consent) and storage_asked
    had_storage_consent = consent is not None and consent.storage_consented_at is not None
    if (
        consent is not None
        and consent.notice_id == notice.pk
        and consent.state(now) == rules.STATE_ACTIVE
        and had_storage_consent == storage_consent
    ):
        return consent
    status = rules.next_status(consent.status if consent else None, rules.GRANTED)
    consent = consent or Consent(person=person, purpose=purpose, building_id=purpose.building_id)
    evidence = _evidence(channel, ip, user_agent)
    consent.notice = notice
    consent.notice_hash = notice.text_hash
    consent.status = status
    consent.decided_at = consent.granted_at = now
    consent.renewal_needed_at = None
    consent.expires_at = rules.expires_at(now, purpose.retention_days)
    consent.granted_by = acting_guardian
    consent.storage_consented_at = now if storage_consent else None
    if consent.pk is not None:
        consent.receipt_id = uuid.uuid4()  # a new receipt for each grant
    for name, value in evidence.items():
        setattr(consent, name, value)
    consent.save()
    actor = acting_guardian or person
    _event(consent, rules.GRANTED, now, actor, evidence, storage_consent if storage_asked else None)
    _audit_decision("consent.granted", consent, actor, evidence)
    if not storage_consent:
        # Withdrawn now, never given for face data kept before it was asked (a renewal after
        # the separate consent was introduced), or the purpose now keeps face data on the
        # device only: none of it may stay with the portal.
        signals.storage_consent_withdrawn.send(
            sender=Consent, person=person, purpose=purpose, consent=consent, actor=actor
        )
    signals.consent_granted.send(sender=Consent, person=person, purpose=purpose, consent=consent)
    return consent


@transaction.atomic
def refuse_consent(
    person,
    purpose: Purpose,
    *,
    channel: str,
    ip: str | None,
    user_agent: str | None,
    notice_hash: str,
    acting_guardian=None,
) -> Consent:
    """Records a "no". The person is not asked again until the notice changes.

    Refusing a renewal of a granted consent stops it like a withdrawal does.
    """
    now = clock.now()
    _check_actor(person, acting_guardian, timezone.localdate(now))
    purpose = _decision_target(person, purpose, notice_hash)
    notice = purpose.current_notice
    consent = _locked_consent(person, purpose)
    previous = consent.status if consent else None
    status = rules.next_status(previous, rules.REFUSED)
    consent = consent or Consent(person=person, purpose=purpose, building_id=purpose.building_id)
    evidence = _evidence(channel, ip, user_agent)
    consent.notice = notice
    consent.notice_hash = notice.text_hash
    consent.status = status
    consent.decided_at = consent.refused_at = now
    consent.renewal_needed_at = None
    consent.granted_by = None
    consent.storage_consented_at = None
    for name, value in evidence.items():
        setattr(consent, name, value)
    consent.save()
    actor = acting_guardian or person
    _event(consent, rules.REFUSED, now, actor, evidence)
    _audit_decision("consent.refused", consent, actor, evidence)
    if previous == rules.GRANTED:
        signals.consent_withdrawn.send(
            sender=Consent, person=person, purpose=purpose, consent=consent, actor=actor
        )
    return consent


@transaction.atomic
def withdraw_consent(
    person,
    purpose: Purpose,
    *,
    actor,
    channel: str = "web",
    ip: str | None = None,
    user_agent: str | None = None,
) -> Consent:
    """One action, no approval, effective before it returns.

    `consent_withdrawn` is sent inside this transaction so face data for the purpose is
    deleted in it too. The person themselves, or their guardian while they are under 14, may
    withdraw. Past processing stays lawful and logged.
    """
    now = clock.now()
    if actor.pk != person.pk:
        _check_actor(person, actor, timezone.localdate(now))
    consent = _locked_consent(person, purpose)
    if consent is None or consent.status != rules.GRANTED:
        raise ConsentError("not_granted", _("There is no consent to withdraw."))
    status = rules.next_status(consent.status, rules.WITHDRAWN)
    evidence = _evidence(channel, ip, user_agent)
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
    _event(consent, rules.WITHDRAWN, now, actor, evidence)
    _audit_decision("consent.withdrawn", consent, actor, evidence)
    signals.consent_withdrawn.send(
        sender=Consent, person=person, purpose=consent.purpose, consent=consent, actor=actor
    )
    return consent


@transaction.atomic
def withdraw_storage_consent(
    person,
    purpose: Purpose,
    *,
    actor,
    channel: str = "web",
    ip: str | None = None,
    user_agent: str | None = None,
) -> Consent:
    """Withdraws only the separate consent to face data leaving the device (Measures art. 8).

    The consent to the purpose stays; the face data the portal holds for it is deleted in this
    transaction (`storage_consent_withdrawn`), and none is kept until the person agrees again.
    """
    if actor.pk != person.pk:
        _check_actor(person, actor, timezone.localdate(clock.now()))
    now = clock.now()
    consent = _locked_consent(person, purpose)
    if consent is None or consent.storage_consented_at is None:
        raise ConsentError(
            "not_granted",
            _("There is no consent to face data leaving the device to withdraw."),
        )
    consent.status = rules.next_status(consent.status, rules.STORAGE_WITHDRAWN)
    consent.storage_consented_at = None
    consent.save(update_fields=["status", "storage_consented_at"])
    evidence = _evidence(channel, ip, user_agent)
    _event(consent, rules.STORAGE_WITHDRAWN, now, actor, evidence, False)
    _audit_decision("consent.storage_withdrawn", consent, actor, evidence)
    signals.storage_consent_withdrawn.send(
        sender=Consent, person=person, purpose=consent.purpose, consent=consent, actor=actor
    )
    return consent


@transaction.atomic
def mark_person_left(person, building, *, actor) -> int:
    """The person left the building or job: memberships end and their consents there end.

    Sends `person_left` inside the transaction (recognition deletes their face data there).
    Returns how many consents ended.
    """
    now = clock.now()
    Membership.objects.current().filter(user=person, building=building).update(left_at=now)
    consents = list(
        Consent.objects.select_for_update()
        .filter(person=person, building=building)
        .exclude(status=rules.ENDED)
    )
    evidence = _evidence("system", None, None)
    for consent in consents:
        consent.status = rules.next_status(consent.status, rules.ENDED)
        consent.decided_at = consent.ended_at = now
        consent.renewal_needed_at = None
        consent.storage_consented_at = None
    Consent.objects.bulk_update(
        consents,
        ["status", "decided_at", "ended_at", "renewal_needed_at", "storage_consented_at"],
    )
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            consent=consent,
            person_id=person.pk,
            kind=rules.ENDED,
            at=now,
            notice_id=consent.notice_id,
            actor=actor,
            **evidence,
        )
        for consent in consents
    )
    audit.record(
        "person.left",
        actor=actor,
        person=person,
        building=building,
        data={"consents_ended": [c.pk for c in consents]},
    )
    signals.person_left.send(sender=Membership, person=person, building=building, actor=actor)
    return len(consents)


@transaction.atomic
def mark_notifications_read(person) -> int:
    return Notification.objects.unread().filter(person=person).update(read_at=clock.now())


# People -----------------------------------------------------------------------------------

INVITABLE_ROLES = ("resident", "staff")


@transaction.atomic
def invite_person(
    building,
    *,
    actor,
    role: str,
    username: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    birth_date=None,
    guardian_username: str = "",
    adult_attested: bool = False,
):
    """Adds a resident or staff member to a building; returns the person.

    A new account gets no password: the person sets one through a link the admin hands over
    (the admin never knows it). A former member of this building who comes back gets their
    membership again under their old account. Admins are not made here.
    """
    from portal.models import User

    if role not in INVITABLE_ROLES:
        raise ConsentError("invalid", _("Only residents and staff members can be invited here."))
    guardian = None
    if guardian_username:
        guardian = (
            User.objects.filter(
                current_member("memberships__"),
                username=guardian_username,
                memberships__building=building,
            )
            .distinct()
            .first()
        )
        if guardian is None:
            raise ConsentError(
                "invalid",
                _("The guardian must be a current member of this building."),
                {"guardian": [_("No current member of this building has this username.")]},
            )
    existing = User.objects.filter(username__iexact=username).first()
    returning = existing is not None
    if existing is not None:
        if (
            existing.username != username
            or not existing.memberships.filter(building=building).exists()
        ):
            raise ConsentError(
                "username_taken",
                _("This username is taken. Choose another one."),
                {"username": [_("This username is taken.")]},
            )
        if existing.memberships.current().filter(building=building, role=role).exists():
            raise ConsentError(
                "already_member", _("This person is already a member of this building.")
            )
        person = existing
        Membership.objects.update_or_create(
            user=person, building=building, role=role, defaults={"left_at": None}
        )
    else:
        if birth_date is None and not adult_attested:
            raise ConsentError(
                "invalid",
                _("Enter the date of birth, or confirm that this person is an adult."),
                {"birth_date": [_("Enter the date of birth or confirm an adult.")]},
            )
        person = User(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            birth_date=birth_date,
            guardian=guardian,
            adult_attested_at=clock.now() if birth_date is None else None,
            adult_attested_by=actor if birth_date is None else None,
        )
        person.set_unusable_password()
        try:
            person.full_clean(exclude=["password"])
        except ValidationError as error:
            details = {f: [str(m) for m in msgs] for f, msgs in error.message_dict.items()}
            raise ConsentError("invalid", _("Some fields are not valid."), details) from None
        person.save()
        Membership.objects.create(user=person, building=building, role=role)
    audit.record(
        "person.invited",
        actor=actor,
        person=person,
        building=building,
        data={
            "role": role,
            "returning": returning,
            "adult_attested": not returning and birth_date is None,
        },
    )
    return person
