"""Who may see what: tiny helpers that answer 404 for anything outside a person's reach.

A record of another resident, or of a building one does not administer, is "not found":
we do not confirm that it exists.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from consent import rules
from consent.models import Assessment, Consent, Notice, Purpose
from portal import clock
from portal.models import Building, User


def admin_building_ids(user) -> list[int]:
    return user.admin_building_ids() if user.is_authenticated else []


def admin_building_or_404(user, building_id) -> Building:
    if int(building_id) not in admin_building_ids(user):
        raise Http404
    return get_object_or_404(Building, pk=building_id)


def admin_purpose_or_404(user, purpose_id) -> Purpose:
    return get_object_or_404(
        Purpose.objects.select_related("building", "current_notice"),
        pk=purpose_id,
        building_id__in=admin_building_ids(user),
    )


def admin_notice_or_404(user, notice_id) -> Notice:
    return get_object_or_404(
        Notice.objects.select_related("purpose"),
        pk=notice_id,
        purpose__building_id__in=admin_building_ids(user),
    )


def admin_assessment_or_404(user, assessment_id) -> Assessment:
    return get_object_or_404(
        Assessment.objects.select_related("purpose"),
        pk=assessment_id,
        purpose__building_id__in=admin_building_ids(user),
    )


def subject_or_404(user, person_id=None) -> tuple[User, User | None]:
    """(the person decided about, the acting guardian or None).

    Without `person_id` a person acts for themselves; with it, only for their own ward
    while the ward is under 14.
    """
    if person_id in (None, "", str(user.pk), user.pk):
        return user, None
    ward = get_object_or_404(User, pk=person_id, guardian=user)
    if not rules.guardian_required(ward.birth_date, timezone.localdate(clock.now())):
        raise Http404
    return ward, user


def wards_of(user):
    """Wards for whom the user decides now (under 14)."""
    cutoff = rules.adult_born_on_or_before(timezone.localdate(clock.now()))
    return User.objects.filter(guardian=user, birth_date__gt=cutoff).order_by("first_name")


def own_consent_or_404(user, consent_id) -> Consent:
    """A consent of the person, or of a ward they are guardian of."""
    consent = get_object_or_404(
        Consent.objects.select_related(
            "purpose__building", "notice", "person", "granted_by", "building"
        ),
        pk=consent_id,
    )
    if consent.person_id != user.pk and consent.person.guardian_id != user.pk:
        raise Http404
    return consent
