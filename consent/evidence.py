"""Consent's part of the evidence export: the handler, every purpose with its notices and
impact assessments, as plain JSON-able rows. Three queries; no person appears by name."""

from collections import defaultdict

from django.utils import timezone

from consent.models import Assessment, Notice, Purpose
from portal.models import Building


def when(value):
    if value is None:
        return None
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).isoformat()
    return value.isoformat()


def handler_details(building_ids) -> list[dict]:
    return [
        {
            "building_id": b.pk,
            "building": b.name,
            "address": b.address,
            "handler": b.handler_name,
            "handler_contact": b.handler_contact,
        }
        for b in Building.objects.filter(pk__in=list(building_ids)).order_by("name")
    ]


def _notice(notice: Notice) -> dict:
    return {
        "id": notice.pk,
        "version": notice.version,
        "published_at": when(notice.published_at),
        "published_by": notice.published_by.username if notice.published_by_id else None,
        "handler": notice.handler_name,
        "handler_contact": notice.handler_contact,
        "data_collected": notice.data_collected,
        "terms": notice.terms,
        "requires_renewal": notice.requires_renewal,
        "fingerprint_sha256": notice.text_hash,
        "texts": notice.texts,
    }


def _assessment(assessment: Assessment) -> dict:
    return {
        "id": assessment.pk,
        "written_at": when(assessment.created_at),
        "assessor": assessment.assessor.username if assessment.assessor_id else None,
        "approved_at": when(assessment.approved_at),
        "approved_by": assessment.approved_by.username if assessment.approved_by_id else None,
        "keep_until": when(assessment.keep_until),
        "lawfulness_and_necessity": assessment.lawfulness_and_necessity,
        "impact_and_mitigations": assessment.impact_and_mitigations,
        "security_risks": assessment.security_risks,
        "protection_adequacy": assessment.protection_adequacy,
    }


def purposes_register(building_ids) -> list[dict]:
    """Every purpose of the buildings with all its notice versions and assessments."""
    building_ids = list(building_ids)
    purposes = list(
        Purpose.objects.for_buildings(building_ids)
        .select_related("building")
        .order_by("building__name", "name", "id")
    )
    notices = defaultdict(list)
    for notice in Notice.objects.filter(purpose__building_id__in=building_ids).select_related(
        "published_by"
    ):
        notices[notice.purpose_id].append(_notice(notice))
    assessments = defaultdict(list)
    for assessment in Assessment.objects.filter(
        purpose__building_id__in=building_ids
    ).select_related("assessor", "approved_by"):
        assessments[assessment.purpose_id].append(_assessment(assessment))
    return [
        {
            "id": p.pk,
            "building_id": p.building_id,
            "building": p.building.name,
            "name": p.name,
            "status": p.status,
            "method": p.method,
            "kind": p.kind,
            "audience": p.audience,
            "face_data_kept": p.storage,
            "specific_purpose": p.specific_purpose,
            "necessity_and_impact": p.necessity_and_impact,
            "retention_days": p.retention_days,
            "until_person_leaves": p.until_person_leaves,
            "non_face_alternatives": p.alternatives,
            "public_security": p.public_security,
            "created_at": when(p.created_at),
            "activated_at": when(p.activated_at),
            "retired_at": when(p.retired_at),
            "current_notice_id": p.current_notice_id,
            "needs_assessment_approved_after": when(p.needs_assessment_after),
            "notices": notices.get(p.pk, []),
            "assessments": assessments.get(p.pk, []),
        }
        for p in purposes
    ]
