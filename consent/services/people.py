"""People of a building: invited, leaving (their consents there end), and their messages read."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from consent import rules
from consent.models import (
    Consent,
    ConsentEvent,
    Notification,
)
from consent.services.common import (
    ConsentError,
    evidence,
)
from portal import audit, clock
from portal import signals as portal_signals
from portal.models import Building, Membership, User
from portal.rules_query import current_member


@transaction.atomic
def mark_person_left(person: User, building: Building, *, actor: User) -> int:
    """The person left the building or job: memberships end and their consents there end.

    Sends `person_left` inside the transaction (recognition deletes their face data there).
    Returns how many consents ended.
    """
    now = clock.now()
    Membership.objects.current().filter(user=person, building=building).update(left_at=now)
    consents = list(
        Consent.objects.select_for_update()
        .filter(person=person, building=building)
        .exclude(status=rules.ENDED)
    )
    proof = evidence("system", None, None)
    for consent in consents:
        consent.status = rules.next_status(consent.status, rules.ENDED)
        consent.decided_at = consent.ended_at = now
        consent.renewal_needed_at = None
        consent.storage_consented_at = None
    Consent.objects.bulk_update(
        consents,
        ["status", "decided_at", "ended_at", "renewal_needed_at", "storage_consented_at"],
    )
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            consent=consent,
            person_id=person.pk,
            kind=rules.ENDED,
            at=now,
            notice_id=consent.notice_id,
            actor=actor,
            **proof,
        )
        for consent in consents
    )
    audit.record(
        "person.left",
        actor=actor,
        person=person,
        building=building,
        data={"consents_ended": [c.pk for c in consents]},
    )
    portal_signals.person_left.send(
        sender=Membership, person=person, building=building, actor=actor
    )
    return len(consents)


@transaction.atomic
def mark_notifications_read(person: User) -> int:
    return Notification.objects.unread().filter(person=person).update(read_at=clock.now())


INVITABLE_ROLES = ("resident", "staff")


@transaction.atomic
def invite_person(
    building: Building,
    *,
    actor: User,
    role: str,
    username: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    birth_date: date | None = None,
    guardian_username: str = "",
    adult_attested: bool = False,
) -> User:
    """Adds a resident or staff member to a building; returns the person.

    A new account gets no password: the person sets one through a link the admin hands over
    (the admin never knows it). A former member of this building who comes back gets their
    membership again under their old account. Admins are not made here.
    """
    if role not in INVITABLE_ROLES:
        raise ConsentError("invalid", _("Only residents and staff members can be invited here."))
    guardian = None
    if guardian_username:
        guardian = (
            User.objects.filter(
                current_member("memberships__"),
                username=guardian_username,
                memberships__building=building,
            )
            .distinct()
            .first()
        )
        if guardian is None:
            raise ConsentError(
                "invalid",
                _("The guardian must be a current member of this building."),
                {"guardian": [_("No current member of this building has this username.")]},
            )
    existing = User.objects.filter(username__iexact=username).first()
    returning = existing is not None
    if existing is not None:
        if (
            existing.username != username
            or not existing.memberships.filter(building=building).exists()
        ):
            raise ConsentError(
                "username_taken",
                _("This username is taken. Choose another one."),
                {"username": [_("This username is taken.")]},
            )
        if existing.memberships.current().filter(building=building, role=role).exists():
            raise ConsentError(
                "already_member", _("This person is already a member of this building.")
            )
        person = existing
        Membership.objects.update_or_create(
            user=person, building=building, role=role, defaults={"left_at": None}
        )
    else:
        if birth_date is None and not adult_attested:
            raise ConsentError(
                "invalid",
                _("Enter the date of birth, or confirm that this person is an adult."),
                {"birth_date": [_("Enter the date of birth or confirm an adult.")]},
            )
        person = User(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            birth_date=birth_date,
            guardian=guardian,
            adult_attested_at=clock.now() if birth_date is None else None,
            adult_attested_by=actor if birth_date is None else None,
        )
        person.set_unusable_password()
        try:
            person.full_clean(exclude=["password"])
        except ValidationError as error:
            details = {f: [str(m) for m in msgs] for f, msgs in error.message_dict.items()}
            raise ConsentError("invalid", _("Some fields are not valid."), details) from None
        person.save()
        Membership.objects.create(user=person, building=building, role=role)
    audit.record(
        "person.invited",
        actor=actor,
        person=person,
        building=building,
        data={
            "role": role,
            "returning": returning,
            "adult_attested": not returning and birth_date is None,
        },
    )
    return person
