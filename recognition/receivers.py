"""Consent and portal tell, recognition deletes: receivers run in the sender's transaction."""

from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from consent.mydata import collect_personal_data
from consent.signals import consent_withdrawn, purpose_retired, storage_consent_withdrawn
from portal.signals import person_left
from recognition.doors import identify, snapshots
from recognition.engine import broker
from recognition.lifecycle.purge import face_template_items
from recognition.lifecycle.services import delete_templates
from recognition.models import Attempt, FaceTemplate, PurgeRecord
from recognition.signals import templates_deleted


@receiver(consent_withdrawn, dispatch_uid="recognition.delete_on_withdrawal")
def delete_on_withdrawal(sender, person, purpose, **kwargs) -> None:
    delete_templates(
        FaceTemplate.objects.filter(person=person, purpose=purpose),
        reason=PurgeRecord.WITHDRAWN,
        trigger="request",
        actor=person,
        building=purpose.building,
    )


@receiver(storage_consent_withdrawn, dispatch_uid="recognition.delete_on_storage_withdrawal")
def delete_on_storage_withdrawal(sender, person, purpose, **kwargs) -> None:
    """Without the separate consent to face data leaving the device, the portal keeps none."""
    delete_templates(
        FaceTemplate.objects.filter(person=person, purpose=purpose),
        reason=PurgeRecord.WITHDRAWN,
        trigger="request",
        actor=kwargs.get("actor", person),
        building=purpose.building,
    )


@receiver(purpose_retired, dispatch_uid="recognition.delete_on_retirement")
def delete_on_retirement(sender, purpose, **kwargs) -> None:
    delete_templates(
        FaceTemplate.objects.filter(purpose=purpose),
        reason=PurgeRecord.PURPOSE_RETIRED,
        trigger="request",
        actor=kwargs.get("actor"),
        building=purpose.building,
    )


@receiver(person_left, dispatch_uid="recognition.delete_on_leaving")
def delete_on_leaving(sender, person, building, **kwargs) -> None:
    delete_templates(
        FaceTemplate.objects.filter(person=person, building=building),
        reason=PurgeRecord.PERSON_LEFT,
        trigger="request",
        actor=kwargs.get("actor"),
        building=building,
    )


@receiver(templates_deleted, dispatch_uid="recognition.refresh_door_galleries")
def refresh_door_galleries(sender, pairs, **kwargs) -> None:
    """Workers holding these templates for door identification reload before their next
    answer: the generation moves in the deleting transaction, which also deletes the
    galleries' snapshots and their keys; once it commits, every worker process is told to drop
    the deleted rows at once."""
    identify.bump(pairs)
    snapshots.discard(pairs)  # and no snapshot holds them from the commit on
    broker.announce_deleted(pairs)  # every worker process drops them from memory


@receiver(collect_personal_data, dispatch_uid="recognition.personal_data")
def personal_data(sender, person, **kwargs) -> list[dict]:
    templates = face_template_items(person)
    attempts = (
        Attempt.objects.filter(person=person)
        .select_related("purpose", "device")
        .order_by("-created_at")[:200]
    )
    return [
        {
            "key": "face_templates",
            "title": _("Face data (encrypted templates, no photos)"),
            "template": "recognition/_my_face_templates.html",
            "items": templates,
            "rows": [
                {
                    "purpose": item["purpose"],
                    "building": item["building"],
                    "model": item["model"],
                    "enrolled_at": item["enrolled_at"].isoformat(),
                    "lapses_at": item["lapses_at"].isoformat() if item["lapses_at"] else None,
                    "lapses": str(item["lapses"]),
                }
                for item in templates
            ],
        },
        {
            "key": "face_attempts",
            "title": _("Who used my face: sign-in and door attempts"),
            "rows": [
                {
                    "time": a.created_at.isoformat(),
                    "where": a.device.name if a.device else a.get_channel_display(),
                    "method": a.method_label(),
                    "result": a.get_result_display(),
                    "purpose": a.purpose.name if a.purpose else None,
                }
                for a in attempts
            ],
        },
    ]
