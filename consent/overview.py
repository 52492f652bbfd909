"""The "my consents" read model: every purpose of a person's buildings with their decision.

Three queries whatever the number of purposes and events: purposes (with building and current
notice), the person's consents (with notice and guardian), the person's events.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent import rules
from consent.models import Consent, ConsentEvent, Notice, Purpose
from portal import clock

STATE_LABELS = {
    rules.NOT_ASKED: _("not decided yet"),
    rules.STATE_ACTIVE: _("consent given"),
    rules.STATE_RENEWAL_NEEDED: _("paused: the notice changed, please decide again"),
    rules.STATE_EXPIRED: _("lapsed: the retention period ended"),
    rules.STATE_AWAITING_GUARDIAN: _("waiting for your guardian's consent"),
    rules.STATE_PURPOSE_RETIRED: _("purpose retired"),
    rules.REFUSED: _("refused"),
    rules.WITHDRAWN: _("withdrawn"),
    rules.ENDED: _("ended (you left)"),
}


@dataclass
class PurposeRow:
    purpose: Purpose
    notice: Notice | None
    consent: Consent | None
    state: str
    needs_decision: bool
    guardian_needed: bool
    events: list[ConsentEvent] = field(default_factory=list)
    # For one of the person's roles in its building; a purpose shown only because they once
    # decided on it (it is no longer for them) is never asked about again, only withdrawable.
    offered: bool = True

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def storage_missing(self) -> bool:
        """Consent given, but not the separate consent to face data leaving the device."""
        return (
            self.state == rules.STATE_ACTIVE
            and self.purpose.leaves_device()
            and self.consent is not None
            and self.consent.storage_consented_at is None
        )

    @property
    def can_grant(self) -> bool:
        return (
            self.offered
            and self.purpose.status == rules.ACTIVE
            and (self.state != rules.STATE_ACTIVE or self.storage_missing)
        )

    @property
    def can_withdraw_storage(self) -> bool:
        return (
            self.consent is not None
            and self.consent.status == rules.GRANTED
            and self.consent.storage_consented_at is not None
        )

    @property
    def settled_refusal(self) -> bool:
        """Refused, and nothing changed that would ask again: no form, a "change my mind"."""
        return self.state == rules.REFUSED and not self.needs_decision

    @property
    def can_withdraw(self) -> bool:
        return self.consent is not None and self.consent.status == rules.GRANTED


def consent_overview(person, now=None) -> list[PurposeRow]:
    now = now or clock.now()
    guardian_needed = rules.guardian_required(person.birth_date, timezone.localdate(now))
    purposes = list(
        Purpose.objects.visible_to(person)
        .select_related("building", "current_notice")
        .order_by("building__name", "name", "id")
    )
    offered = set(Purpose.objects.for_person(person).values_list("pk", flat=True))
    consents = {
        c.purpose_id: c
        for c in Consent.objects.filter(person=person).select_related("notice", "granted_by")
    }
    events = defaultdict(list)
    for event in ConsentEvent.objects.filter(person=person).select_related("notice", "actor"):
        events[event.consent_id].append(event)
    rows = []
    for purpose in purposes:
        consent = consents.get(purpose.pk)
        if consent is not None:  # share what is loaded: no query per consent later
            consent.purpose = purpose
            consent.person = person
        state = rules.effective_state(
            consent.status if consent else None,
            now=now,
            renewal_needed_at=consent.renewal_needed_at if consent else None,
            expires_at=consent.expires_at if consent else None,
            purpose_status=purpose.status,
            guardian_needed=guardian_needed,
            granted_by_guardian=bool(consent and consent.granted_by_id),
        )
        rows.append(
            PurposeRow(
                purpose=purpose,
                notice=purpose.current_notice,
                consent=consent,
                state=state,
                offered=purpose.pk in offered,
                needs_decision=purpose.pk in offered
                and purpose.status == rules.ACTIVE
                and rules.needs_decision(
                    state,
                    consent.notice_id if consent else None,
                    purpose.current_notice_id,
                    decided_terms=consent.notice.terms if consent else None,
                    current_terms=purpose.current_notice.terms if purpose.current_notice else None,
                ),
                guardian_needed=guardian_needed,
                events=events.get(consent.pk, []) if consent else [],
            )
        )
    return rows
