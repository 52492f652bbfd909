"""Staff-assisted entry: a building's staff open a door for a named resident, after checking
who the person is, in person. Each opening is an attempt of its own method ("staff") at that
door, with the staff member and how they checked, and an audit entry naming both people.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portal import audit, rules
from portal.models import Membership, User
from portal.refusals import Refused
from recognition.doors import door
from recognition.entry.models import AssistedOpening
from recognition.models import Attempt, Device

STAFF_ROLES = (rules.STAFF, rules.ADMIN)


class OpeningRefused(Refused):
    """A door opening for someone else that the rules refuse; `message` is for the staff member."""


def staff_building_ids(user) -> list[int]:
    """Buildings where this person may open doors for others: staff and admins."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(
        user.memberships.current()
        .filter(role__in=STAFF_ROLES)
        .values_list("building_id", flat=True)
        .distinct()
    )


def doors_for(user):
    return (
        Device.objects.filter(building_id__in=staff_building_ids(user), revoked_at__isnull=True)
        .select_related("building", "location")
        .order_by("building__name", "name")
    )


def residents_for(user, building_ids=None):
    ids = staff_building_ids(user)
    if building_ids is not None:
        ids = [i for i in ids if i in building_ids]
    member_ids = (
        Membership.objects.current().filter(building_id__in=ids).values_list("user_id", flat=True)
    )
    return User.objects.filter(pk__in=member_ids, is_active=True).order_by(
        "last_name", "first_name", "username"
    )


def open_for_person(device: Device, person: User, check: str, *, actor) -> dict:
    """Opens `device` for `person`; refused unless `actor` is staff or admin of the door's
    building, the door is not revoked, and the person currently belongs to that building."""
    staff = actor
    if check not in dict(AssistedOpening.CHECK_CHOICES):
        raise OpeningRefused("not_checked", _("Say how you checked who the person is."))
    if device.building_id not in staff_building_ids(staff):
        raise OpeningRefused("not_staff_here", _("You are not staff of this building."))
    if device.revoked_at is not None:
        raise OpeningRefused("door_revoked", _("This door device is revoked."))
    if not door.is_member(person.pk, device.building_id):
        raise OpeningRefused(
            "not_a_resident", _("This person does not belong to the building of this door.")
        )
    with transaction.atomic():
        attempt = door._door_attempt(
            device,
            method=Attempt.STAFF,
            result=Attempt.MATCH,
            person_id=person.pk,
            detail=check,
        )
        AssistedOpening.objects.create(attempt=attempt, staff=staff, identity_check=check)
        audit.record(
            "door.opened_by_staff",
            actor=staff,
            person=person,
            building=device.building_id,
            data={"device": device.pk, "attempt": attempt.pk, "check": check},
        )
    return door.answer(attempt)
