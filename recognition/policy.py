"""Pure rules of face processing: where a face device may stand, what counts as a match,
when a template lapses. No ORM, no face engine; explicit inputs."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

# Location types. The private ones may never host a face device (Measures art. 8 / 12).
PUBLIC_AREA = "public_area"
ENTRANCE = "entrance"
LOBBY = "lobby"
OFFICE = "office"
HOTEL_GUEST_ROOM = "hotel_guest_room"
PUBLIC_BATHROOM = "public_bathroom"
TOILET = "toilet"
BATHHOUSE = "bathhouse"
CHANGING_ROOM = "changing_room"
OTHER_PRIVATE = "other_private"

LOCATION_TYPES = [
    (ENTRANCE, _("building entrance or door")),
    (LOBBY, _("lobby or reception")),
    (OFFICE, _("office or workplace area")),
    (PUBLIC_AREA, _("public area (street, square, public passage)")),
    (HOTEL_GUEST_ROOM, _("hotel guest room")),
    (PUBLIC_BATHROOM, _("public bathroom")),
    (TOILET, _("toilet")),
    (BATHHOUSE, _("bathhouse")),
    (CHANGING_ROOM, _("changing room")),
    (OTHER_PRIVATE, _("other private space")),
]
PROHIBITED_LOCATION_TYPES = frozenset(
    {HOTEL_GUEST_ROOM, PUBLIC_BATHROOM, TOILET, BATHHOUSE, CHANGING_ROOM, OTHER_PRIVATE}
)
PROHIBITION_RULE = _(
    "Security Management Measures for the Application of Facial Recognition Technology, "
    "Article 8: no face recognition equipment in hotel guest rooms, public bathrooms, "
    "bathhouses, changing rooms, toilets or other places that may infringe privacy."
)


@dataclass(frozen=True)
class Placement:
    allowed: bool
    reason: str = ""


def face_device_placement(
    location_type: str, *, security_justification: str = "", sign_confirmed: bool = False
) -> Placement:
    """May a face device stand at a location of this type?"""
    if location_type in PROHIBITED_LOCATION_TYPES:
        return Placement(False, str(PROHIBITION_RULE))
    if location_type == PUBLIC_AREA and not (security_justification.strip() and sign_confirmed):
        return Placement(
            False,
            str(
                _(
                    "A face device in a public area needs a recorded public-security "
                    "justification and a prominent sign."
                )
            ),
        )
    return Placement(True)


def is_match(distance: float, threshold: float) -> bool:
    """A probe matches a template when the distance is at or below the threshold."""
    return distance <= threshold


def best_match(distances: dict[int, float], threshold: float) -> tuple[int | None, float | None]:
    """The closest template id within the threshold (1:N), or (None, closest distance)."""
    if not distances:
        return None, None
    best_id = min(distances, key=distances.__getitem__)
    best = distances[best_id]
    return (best_id if is_match(best, threshold) else None), best


def template_lapses_at(granted_at: datetime, retention_days: int | None) -> datetime | None:
    """When a template made under a consent granted at `granted_at` must be gone by retention.

    None means no fixed date: it lapses with the consent or when the person leaves.
    """
    if retention_days is None:
        return None
    return granted_at + timedelta(days=retention_days)
