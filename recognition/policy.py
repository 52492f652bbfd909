"""Pure rules of face processing: where a face device may stand, what counts as a match,
when a template lapses. No ORM, no face engine; explicit inputs.

The query forms of the same rules (SQL and querysets, for the purge, the door check and the
deadlines shown) sit beside this module in `recognition/policy_query.py`, each under the pure
form's name; tests/recognition/test_policy_query.py proves them equal."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from consent import rules as consent_rules

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


PUBLIC_AREA_NEEDS = _(
    "A public area needs a recorded public-security justification and a confirmation that a "
    "prominent sign is up."
)


def public_area_missing(
    location_type: str, security_justification: str, sign_confirmed: bool
) -> tuple[str, ...]:
    """What a public area still lacks before it may be recorded, or host a face device
    (Measures art. 13, PIPL art. 26): the names of the missing fields, in the order a form
    shows them; empty when nothing is missing or the place is not a public area.

    >>> public_area_missing(PUBLIC_AREA, "  ", False)
    ('security_justification', 'sign_confirmed')
    >>> public_area_missing(PUBLIC_AREA, "Exit B", True), public_area_missing(LOBBY, "", False)
    ((), ())
    """
    if location_type != PUBLIC_AREA:
        return ()
    missing = []
    if not security_justification.strip():
        missing.append("security_justification")
    if not sign_confirmed:
        missing.append("sign_confirmed")
    return tuple(missing)


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
    if public_area_missing(location_type, security_justification, sign_confirmed):
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


def public_area_purpose_problem(location_type: str, serves_public_security: bool | None) -> str:
    """A face device in a public area may serve only a purpose marked for public security;
    "" when allowed (`serves_public_security` is None for a device without a face purpose).

    >>> public_area_purpose_problem(ENTRANCE, False), public_area_purpose_problem(PUBLIC_AREA, None)
    ('', '')
    """
    if location_type == PUBLIC_AREA and serves_public_security is False:
        return str(
            _(
                "A face device in a public area may serve only a purpose for public security "
                "(Measures art. 13, PIPL art. 26)."
            )
        )
    return ""


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


def door_match(
    candidates: list[tuple[int, float]], threshold: float, margin: float = 0.0
) -> int | None:
    """1:N at a door: the one person whose template is within the threshold, else None.

    `candidates` are (person id, distance) pairs of usable templates. When two different
    people are within the threshold the door cannot tell who is in front of it, so it opens
    for neither: both still have their codes. Nor does it open when another person comes
    within `margin` of the best one, even beyond the threshold: a face that close to two
    people is not told apart reliably.

    >>> door_match([(7, 0.03), (9, 0.20)], 0.056)
    7
    >>> door_match([(7, 0.03), (9, 0.05)], 0.056) is None
    True
    >>> door_match([(7, 0.08)], 0.056) is None
    True
    >>> door_match([(7, 0.03), (9, 0.065)], 0.056, margin=0.01)
    7
    >>> door_match([(7, 0.05), (9, 0.058)], 0.056, margin=0.01) is None
    True
    """
    closest: dict[int, float] = {}
    for person, distance in candidates:
        closest[person] = min(distance, closest.get(person, distance))
    if not closest:
        return None
    person, best = min(closest.items(), key=lambda item: item[1])
    if not is_match(best, threshold):
        return None
    reach = max(threshold, best + margin)
    if any(other != person and d <= reach for other, d in closest.items()):
        return None
    return person


def retention_over(template_lapses_at: datetime | None, now: datetime) -> bool:
    """Whether a template's own retention period has ended (`lapses_at`, set at enrolment to
    `consent_rules.expires_at` of the consent's grant; None: no fixed date, it lapses with the
    consent or when the person leaves).

    >>> from datetime import UTC
    >>> day = datetime(2026, 3, 1, tzinfo=UTC)
    >>> retention_over(day, day), retention_over(None, day), retention_over(day, day - timedelta(1))
    (True, False, False)
    """
    return template_lapses_at is not None and template_lapses_at <= now


# Why a template lapses, in the order a template is attributed to its first matching reason.
PURPOSE_RETIRED = "purpose_retired"
PERSON_LEFT = "person_left"
WITHDRAWN = "withdrawn"
CONSENT_EXPIRED = "consent_expired"
RENEWAL_LAPSED = "renewal_lapsed"
RETENTION = "retention"
CONSENT_INACTIVE = "consent_inactive"
LAPSE_REASONS = (
    PURPOSE_RETIRED,
    PERSON_LEFT,
    WITHDRAWN,
    CONSENT_EXPIRED,
    RENEWAL_LAPSED,
    RETENTION,
    CONSENT_INACTIVE,
)


def lapse_reason(
    *,
    now: datetime,
    renewal_grace_days: int,
    purpose_status: str,
    is_member: bool,
    consent_status: str | None,
    consent_expires_at: datetime | None = None,
    renewal_needed_at: datetime | None = None,
    template_lapses_at: datetime | None = None,
    guardian_missing: bool = False,
) -> str | None:
    """Why a template must be deleted now, or None while it may be kept.

    A template may be kept only while its purpose is active, its person is still a member of
    the template's building, and the person's consent for the purpose is granted, not expired,
    not awaiting renewal for longer than the grace period, and given by a guardian when the
    person is under 14; and while its own retention period runs. `consent_status` is None
    when there is no consent at all.

    >>> from datetime import UTC
    >>> now = datetime(2026, 1, 31, tzinfo=UTC)
    >>> lapse_reason(now=now, renewal_grace_days=30, purpose_status="active", is_member=True,
    ...              consent_status="granted", renewal_needed_at=datetime(2026, 1, 2, tzinfo=UTC))
    >>> lapse_reason(now=now, renewal_grace_days=30, purpose_status="active", is_member=True,
    ...              consent_status="granted", renewal_needed_at=datetime(2026, 1, 1, tzinfo=UTC))
    'renewal_lapsed'
    """
    if purpose_status == consent_rules.RETIRED:
        return PURPOSE_RETIRED
    if not is_member:
        return PERSON_LEFT
    if consent_status != consent_rules.GRANTED:
        return WITHDRAWN
    if consent_expires_at is not None and consent_expires_at <= now:
        return CONSENT_EXPIRED
    if renewal_needed_at is not None and renewal_needed_at <= now - timedelta(
        days=renewal_grace_days
    ):
        return RENEWAL_LAPSED
    if retention_over(template_lapses_at, now):
        return RETENTION
    if purpose_status != consent_rules.ACTIVE or guardian_missing:
        return CONSENT_INACTIVE
    return None


def template_deadline(
    *,
    template_lapses_at: datetime | None,
    consent_expires_at: datetime | None,
    renewal_needed_at: datetime | None,
    renewal_grace_days: int,
) -> tuple[datetime | None, str | None]:
    """(when, why) a template will lapse by the calendar, if nothing else happens first.

    (None, None) means no date is fixed: it lapses when the person withdraws or leaves, or
    the purpose is retired. Ties go to the reason the purge would record.

    >>> from datetime import UTC
    >>> day = datetime(2026, 3, 1, tzinfo=UTC)
    >>> template_deadline(template_lapses_at=day, consent_expires_at=day,
    ...                   renewal_needed_at=None, renewal_grace_days=30)[1]
    'consent_expired'
    """
    candidates = [
        (consent_expires_at, CONSENT_EXPIRED),
        (
            renewal_needed_at + timedelta(days=renewal_grace_days) if renewal_needed_at else None,
            RENEWAL_LAPSED,
        ),
        (template_lapses_at, RETENTION),
    ]
    dated = [(when, LAPSE_REASONS.index(why), why) for when, why in candidates if when]
    if not dated:
        return None, None
    when, _order, why = min(dated)
    return when, why
