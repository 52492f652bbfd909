"""What the consent services share: the refusal they raise, the fields they accept, and the
checks every writer makes before it saves."""

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext as _

from consent import ways
from consent.models import Purpose
from portal.refusals import Refused

PURPOSE_FIELDS = (
    "name",
    "name_en",
    "name_zh_hans",
    "specific_purpose",
    "necessity_and_impact",
    "method",
    "retention_days",
    "until_person_leaves",
    "alternatives",
    "audience",
    "storage",
    "public_security",
)
# The kind is chosen once, at creation: a template serves only purposes of its kind.
CREATE_FIELDS = (*PURPOSE_FIELDS, "kind")
ASSESSMENT_FIELDS = (
    "lawfulness_and_necessity",
    "impact_and_mitigations",
    "security_risks",
    "protection_adequacy",
)
USER_AGENT_MAX = 300
# How a decision was made (channel, client address, browser), stored with its event.
Evidence = dict[str, str | None]
BATCH = 2000


class ConsentError(Refused):
    """A refused consent action: `code` for programs, `message` (translated) for people."""

    STATUS = {
        "invalid": 400,
        "guardian_required": 403,
        "not_guardian": 403,
        "not_allowed": 403,
        "not_member": 404,
    }

    def __str__(self) -> str:
        return str(self.message)

    # A read-only property over the base's class attribute `status`: mypy cannot accept that
    # override, though every reader only reads it.
    @property
    def status(self) -> int:  # type: ignore[override]
        return self.STATUS.get(self.code, 409)


def validated(instance: Model) -> None:
    try:
        instance.full_clean(exclude=["building", "purpose", "current_notice"])
    except ValidationError as error:
        details = {field: [str(m) for m in msgs] for field, msgs in error.message_dict.items()}
        raise ConsentError("invalid", _("Some fields are not valid."), details) from None
    if isinstance(instance, Purpose):
        message = ways.unavailable_message(instance.alternatives, instance.building_id)
        if message is not None:
            raise ConsentError(
                "invalid", _("Some fields are not valid."), {"alternatives": [message]}
            )


def only(changes: Mapping[str, object], allowed: tuple[str, ...]) -> dict[str, object]:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ConsentError(
            "invalid",
            _("These fields cannot be changed here: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))},
        )
    return dict(changes)


def locked_purpose(purpose: Purpose) -> Purpose:
    return Purpose.objects.select_for_update().get(pk=purpose.pk)


def scope(purpose: Purpose) -> dict[str, str]:
    return {"specific_purpose": purpose.specific_purpose, "method": purpose.method}


def evidence(channel: str, ip: str | None, user_agent: str | None) -> Evidence:
    return {"channel": channel, "ip": ip or None, "user_agent": (user_agent or "")[:USER_AGENT_MAX]}
