"""Which ways in without a face a building really offers, so that a purpose (and its notice)
promises only those. Cards are counted through the app registry: consent imports no app
that issues them."""

from django.apps import apps
from django.utils.translation import gettext as _

from consent import rules
from consent.models import ALTERNATIVE_LABELS
from portal.models import Membership


def available_alternatives(building_id: int) -> tuple[str, ...]:
    try:  # by app label: the app issuing cards lives elsewhere and may be absent
        access_card = apps.get_model("entry", "AccessCard")
    except LookupError:
        cards_issued = False
    else:
        cards_issued = access_card.objects.filter(
            building_id=building_id, revoked_at__isnull=True
        ).exists()
    staff_present = (
        Membership.objects.current()
        .filter(building_id=building_id, role__in=("staff", "admin"), user__is_active=True)
        .exists()
    )
    return rules.available_alternatives(cards_issued=cards_issued, staff_present=staff_present)


def unavailable_message(alternatives, building_id: int) -> str | None:
    """The admin's message when the purpose lists a way the building does not offer."""
    available = available_alternatives(building_id)
    missing = [a for a in alternatives or () if a in rules.ALTERNATIVES and a not in available]
    if not missing:
        return None
    return _(
        "This building does not offer %(ways)s yet (issue cards, or add staff, first); a "
        "notice may promise only the ways in that exist."
    ) % {"ways": ", ".join(str(ALTERNATIVE_LABELS[a]) for a in missing)}
