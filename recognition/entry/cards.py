"""Access cards: issued to a person by an admin of their building, revocable, read at a door.

A card number is typed or read by the door's reader. The database keeps only an HMAC of the
number under the site's secret key (card numbers are short, so a plain hash could be reversed
by trying every number) and its last digits. A number opens only the doors of the building
that issued the card, only while the card is live and its person still belongs there.
"""

import re

from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from portal import audit, clock, throttle
from portal.models import Membership
from portal.refusals import Refused
from recognition.doors import door
from recognition.doors.devices import revoke_once
from recognition.entry.models import AccessCard
from recognition.models import Attempt, Device

_SALT = "entry.cards"
_SEPARATORS = re.compile(r"[\s\-:]+")
MIN_LENGTH = 6
MAX_LENGTH = 32
CARD_DEVICE = "door-card-device"

CARD_REFUSED = _("This card is not accepted here. Please use your door code or ask reception.")


class CardRefused(Refused):
    """An access-card action the rules refuse; `message` is for the admin."""


def normalise(number: str) -> str:
    return _SEPARATORS.sub("", number or "").upper()


def number_problem(number: str) -> str | None:
    """Why this is not a card number, or None: 6 to 32 letters and digits (readers send the
    UID in hexadecimal or decimal).

    >>> number_problem("04:A2:2B:1C"), number_problem("12"), number_problem("12345!")
    (None, 'length', 'characters')
    """
    number = normalise(number)
    if not MIN_LENGTH <= len(number) <= MAX_LENGTH:
        return "length"
    if not (number.isascii() and number.isalnum()):
        return "characters"
    return None


def hash_number(number: str) -> str:
    return salted_hmac(_SALT, normalise(number), algorithm="sha256").hexdigest()


def issue_card(person, building, number: str, *, actor) -> AccessCard:
    """Registers a card for a current member of the building; the number is never stored."""
    if number_problem(number) is not None:
        raise CardRefused("invalid_number", _("A card number has 6 to 32 letters and digits."))
    if not Membership.objects.current().filter(user=person, building=building).exists():
        raise CardRefused("not_a_member", _("This person does not belong to the building."))
    number = normalise(number)
    try:
        with transaction.atomic():
            card = AccessCard.objects.create(
                person=person,
                building=building,
                number_hash=hash_number(number),
                last_digits=number[-4:],
                issued_at=clock.now(),
                issued_by=actor,
            )
            audit.record(
                "card.issued",
                actor=actor,
                person=person,
                building=building,
                data={"card": card.pk, "last_digits": card.last_digits},
            )
    except IntegrityError:
        raise CardRefused(
            "number_in_use", _("This card number is already in use. Revoke that card first.")
        ) from None
    return card


def revoke_card(card: AccessCard, *, actor) -> AccessCard:
    """The card stops opening doors at once. Revoking twice changes nothing."""
    return revoke_once(
        card, "card.revoked", actor=actor, person=card.person_id, data={"card": card.pk}
    )


def open_with_card(device: Device, number: str) -> dict:
    """A door's card reader: opens for a live card of this building's current member.

    Wrong numbers are counted per device; after the device's free failures it is locked, with
    the lock doubling, so numbers cannot be tried one after another at a door.
    """
    key = str(device.pk)
    wait = throttle.seconds_locked(CARD_DEVICE, key)
    if wait:
        attempt = door._door_attempt(device, method=Attempt.CARD, result=Attempt.THROTTLED)
        return door.answer(attempt, door.signin.locked_message(wait), retry_after=wait)
    card = None
    if number_problem(number) is None:
        card = (
            AccessCard.objects.live()
            .filter(number_hash=hash_number(number), building_id=device.building_id)
            .first()
        )
    if card is not None and door.is_member(card.person_id, device.building_id):
        throttle.reset(CARD_DEVICE, key)
        attempt = door._door_attempt(
            device, method=Attempt.CARD, result=Attempt.MATCH, person_id=card.person_id
        )
        return door.answer(attempt)
    throttle.record_failure(CARD_DEVICE, key, free_failures=door.device_free_failures())
    attempt = door._door_attempt(device, method=Attempt.CARD, result=Attempt.NO_MATCH)
    return door.answer(attempt, CARD_REFUSED)


def set_door_backup_codes(building, allowed: bool, *, actor) -> None:
    """Whether this building's doors accept a person's backup codes."""
    from portal.models import Building

    with transaction.atomic():
        building = Building.objects.select_for_update().get(pk=building.pk)
        if building.door_backup_codes == allowed:
            return
        building.door_backup_codes = allowed
        building.save(update_fields=["door_backup_codes"])
        audit.record(
            "building.door_backup_codes",
            actor=actor,
            building=building,
            data={"allowed": allowed},
        )
