"""Locations of a building, the only writers of them, each change audited.

A location records where devices stand and what kind of place it is. Any kind can be
recorded (a changing room, to document that no device is there), but only an allowed one
hosts a device (`recognition.doors.devices` refuses the rest); a public area needs its
public-security justification and a prominent sign recorded first.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portal import audit, names
from portal.refusals import Refused
from recognition import policy
from recognition.models import Location

FIELDS = ("name", "name_en", "name_zh_hans", "kind", "security_justification", "sign_confirmed")


class LocationRefused(Refused):
    """A location change the rules refuse; `message` is for the admin, `field` the culprit."""

    def __init__(self, code: str, message, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


def _check(location: Location) -> None:
    if location.kind not in dict(policy.LOCATION_TYPES):
        raise LocationRefused("invalid", _("Choose a type of place."), "kind")
    if not location.name.strip():
        raise LocationRefused("invalid", _("Give the location a name."), "name")
    missing = policy.public_area_missing(
        location.kind, location.security_justification, location.sign_confirmed
    )
    if missing:
        raise LocationRefused("public_area", policy.PUBLIC_AREA_NEEDS, missing[0])


def _record(event: str, location: Location, actor) -> None:
    audit.record(
        event,
        actor=actor,
        building=location.building_id,
        data={
            "location": location.pk,
            "kind": location.kind,
            "justification_recorded": bool(location.security_justification.strip()),
            "sign_confirmed": location.sign_confirmed,
        },
    )


@transaction.atomic
def create_location(building, *, actor, **fields) -> Location:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown location fields: {sorted(unknown)}")
    location = Location(building=building, **names.for_creation(fields))
    _check(location)
    location.save()
    _record("location.created", location, actor)
    return location


@transaction.atomic
def update_location(location: Location, *, actor, **changes) -> Location:
    """Changes a location. A location with devices in service must stay one that may host
    them: revoke its devices before recording it as a private space."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown location fields: {sorted(unknown)}")
    location = Location.objects.select_for_update().get(pk=location.pk)
    for name, value in names.for_update(changes).items():
        setattr(location, name, value)
    _check(location)
    placement = location.placement()
    if not placement.allowed and location.devices.filter(revoked_at__isnull=True).exists():
        raise LocationRefused(
            "devices_present",
            _(
                "Devices in service stand here, and this kind of place may not host one: "
                "revoke them first. %(reason)s"
            )
            % {"reason": placement.reason},
            "kind",
        )
    location.save()
    _record("location.updated", location, actor)
    return location
