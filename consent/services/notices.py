"""Notices: immutable versions of what a person is shown before deciding; a material change asks
every granted consent to be renewed."""

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from consent import rules, signals
from consent.models import (
    LANGUAGES,
    SECTION_KEYS,
    Consent,
    ConsentEvent,
    Notice,
    Notification,
    Purpose,
)
from consent.services.common import (
    BATCH,
    PURPOSE_FIELDS,
    ConsentError,
    only,
    scope,
    validated,
)
from portal import audit, clock, names
from portal.models import User


def _clean_texts(texts: object) -> dict[str, dict[str, str]]:
    cleaned: dict[str, dict[str, str]] = {}
    missing = []
    for language in LANGUAGES:
        found = texts.get(language) if isinstance(texts, Mapping) else None
        given = found if isinstance(found, Mapping) else {}
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
    *,
    purpose_id: int,
    version: int,
    handler_name: str,
    handler_contact: str,
    terms: Mapping[str, object],
    alternatives: Iterable[str],
    texts: Mapping[str, Mapping[str, str]],
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
    actor: User,
    texts: object,
    data_collected: str,
    changes: Mapping[str, object] | None = None,
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
    before = scope(purpose)
    for name, value in names.for_update(only(changes or {}, PURPOSE_FIELDS)).items():
        setattr(purpose, name, value)
    validated(purpose)
    cleaned = _clean_texts(texts)
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
        and previous is not None  # a first notice changes no terms
        and not purpose.assessments.filter(approved_at__gt=previous.published_at).exists()
    ):
        raise ConsentError(
            "assessment_outdated",
            _(
                "The purpose or method changes: approve a new impact assessment (PIPIA) "
                "before publishing this notice."
            ),
        )
    if rules.scope_changed(before, scope(purpose)):
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
        texts=cleaned,
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
        texts=cleaned,
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


def _mark_renewal_needed(purpose: Purpose, notice: Notice, now: datetime) -> list[int]:
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
        batch_size=BATCH,
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
        batch_size=BATCH,
    )
    _tell_guardians(purpose, [person_id for _consent_id, person_id in rows], now)
    return [consent_id for consent_id, _person_id in rows]


def _tell_guardians(purpose: Purpose, person_ids: list[int], now: datetime) -> None:
    """Guardians get the renewal message of each ward they decide for (under 14)."""
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
        batch_size=BATCH,
    )
