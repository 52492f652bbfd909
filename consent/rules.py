"""Pure consent rules: plain values in, plain values out, an explicit `now`, no ORM.

This is where the law lives (PIPL art. 14, 15, 29, 31; the 2025 face-recognition Measures):
separate consent per purpose, a guardian's consent under 14, withdrawal at any time, renewal
when what was agreed to changes, at least one non-face alternative.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

# Purpose status.
DRAFT = "draft"
ACTIVE = "active"
RETIRED = "retired"

# Purpose method.
VERIFICATION = "verification"  # 1:1, the person claims who they are
IDENTIFICATION = "identification"  # 1:N at a door

# Purpose kind: what the face data is for, fixed when the purpose is created (PIPL art. 28,
# Measures art. 4: a door template never signs anyone in to the portal, and the reverse).
KIND_SIGN_IN = "portal_sign_in"
KIND_DOOR = "door_access"
KINDS = (KIND_SIGN_IN, KIND_DOOR)

# Whom a purpose is for; people are asked only about purposes for one of their roles there.
# Building admins work for the operator: a purpose for staff is for them too.
AUDIENCE_RESIDENTS = "residents"
AUDIENCE_STAFF = "staff"
AUDIENCE_BOTH = "both"
_AUDIENCE_ROLES = {
    AUDIENCE_RESIDENTS: ("resident",),
    AUDIENCE_STAFF: ("staff", "admin"),
    AUDIENCE_BOTH: ("resident", "staff", "admin"),
}
AUDIENCES = tuple(_AUDIENCE_ROLES)

# Where face data lives (Measures art. 8): on the recognition device only, on the operator's
# own servers inside the building's network, or sent over the internet to a hosted portal.
STORAGE_DEVICE = "device"
STORAGE_ON_PREMISES = "on_premises"
STORAGE_HOSTED = "hosted"
STORAGES = (STORAGE_DEVICE, STORAGE_ON_PREMISES, STORAGE_HOSTED)

# Non-face alternatives a purpose may offer; at least one is required.
PASSWORD_CODE = "password_code"  # noqa: S105 (a route name, not a secret)
DOOR_CODE = "door_code"
CARD = "card"
STAFF_ASSISTED = "staff_assisted"
ALTERNATIVES = (PASSWORD_CODE, DOOR_CODE, CARD, STAFF_ASSISTED)

# Stored consent status (the last decision) and the events that lead to it.
GRANTED = "granted"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
ENDED = "ended"  # the person left the building or job
RENEWAL_NEEDED = "renewal_needed"  # an event only: the stored status stays "granted"
# An event only: the separate consent to face data leaving the device was withdrawn, the
# consent to the purpose stays "granted".
STORAGE_WITHDRAWN = "storage_withdrawn"

# Effective states shown to people and computed from the stored row and the dates.
NOT_ASKED = "not_asked"
STATE_ACTIVE = "active"
STATE_RENEWAL_NEEDED = "renewal_needed"
STATE_EXPIRED = "expired"
STATE_AWAITING_GUARDIAN = "awaiting_guardian"
STATE_PURPOSE_RETIRED = "purpose_retired"

GUARDIAN_AGE = 14
ASSESSMENT_KEEP_YEARS = 3

# The fields of a notice whose change means people must agree again.
MATERIAL_FIELDS = ("specific_purpose", "method", "data_collected", "retention", "storage")


class TransitionError(ValueError):
    """An event that cannot follow the current status (withdrawing what was never granted)."""


# Which event may follow which stored status, and the status it leads to.
_TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, GRANTED): GRANTED,
    (None, REFUSED): REFUSED,
    (GRANTED, GRANTED): GRANTED,  # renewing after a notice change or expiry
    (GRANTED, REFUSED): REFUSED,  # refusing the renewal
    (GRANTED, WITHDRAWN): WITHDRAWN,
    (GRANTED, RENEWAL_NEEDED): GRANTED,
    (GRANTED, STORAGE_WITHDRAWN): GRANTED,
    (GRANTED, ENDED): ENDED,
    (REFUSED, GRANTED): GRANTED,
    (REFUSED, REFUSED): REFUSED,
    (REFUSED, ENDED): ENDED,
    (WITHDRAWN, GRANTED): GRANTED,
    (WITHDRAWN, REFUSED): REFUSED,
    (WITHDRAWN, ENDED): ENDED,
    (ENDED, GRANTED): GRANTED,  # the person came back
    (ENDED, REFUSED): REFUSED,
}
EVENTS = (GRANTED, REFUSED, WITHDRAWN, RENEWAL_NEEDED, ENDED, STORAGE_WITHDRAWN)


def next_status(status: str | None, event: str) -> str:
    """The stored status after `event`; raises TransitionError when the event cannot happen.

    >>> next_status(None, GRANTED)
    'granted'
    >>> next_status(GRANTED, WITHDRAWN)
    'withdrawn'
    """
    try:
        return _TRANSITIONS[(status, event)]
    except KeyError:
        raise TransitionError(f"{event} cannot follow {status}") from None


def replay(events: Iterable[tuple[str, datetime]]) -> tuple[str | None, datetime | None]:
    """Folds (event, at) pairs in order into (stored status, renewal-needed time).

    A grant clears a pending renewal; a renewal-needed event only marks a granted consent.
    """
    status: str | None = None
    renewal_needed_at: datetime | None = None
    for event, at in events:
        status = next_status(status, event)
        if event == RENEWAL_NEEDED:
            renewal_needed_at = renewal_needed_at or at
        elif event in (GRANTED, REFUSED, WITHDRAWN, ENDED):
            renewal_needed_at = None
    return status, renewal_needed_at


def expires_at(granted_at: datetime, retention_days: int | None) -> datetime | None:
    """When a consent lapses by the purpose's retention rule (None: no fixed number of days)."""
    if retention_days is None:
        return None
    return granted_at + timedelta(days=retention_days)


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day`.

    >>> age_on(date(2012, 2, 29), date(2026, 2, 28)), age_on(date(2012, 2, 29), date(2026, 3, 1))
    (13, 14)
    """
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def guardian_required(birth_date: date | None, day: date) -> bool:
    """Under 14 on `day` (PIPL art. 31): a guardian must consent. Unknown birth date: adult."""
    return birth_date is not None and age_on(birth_date, day) < GUARDIAN_AGE


def age_unknown(birth_date: date | None, adult_attested: bool) -> bool:
    """Nobody is taken for an adult by default: without a birth date, only an admin's explicit
    attestation lets a person decide alone.

    >>> age_unknown(None, False), age_unknown(None, True), age_unknown(date(1990, 1, 1), False)
    (True, False, False)
    """
    return birth_date is None and not adult_attested


def adult_born_on_or_before(day: date) -> date:
    """The latest birth date of a person who is at least 14 on `day` (for SQL filters).

    >>> adult_born_on_or_before(date(2028, 2, 29))
    datetime.date(2014, 2, 28)
    """
    year = day.year - GUARDIAN_AGE
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return date(year, 2, 28)


def effective_state(
    status: str | None,
    *,
    now: datetime,
    renewal_needed_at: datetime | None = None,
    expires_at: datetime | None = None,
    purpose_status: str = ACTIVE,
    guardian_needed: bool = False,
    granted_by_guardian: bool = False,
) -> str:
    """What a consent means right now, from its stored status and its dates.

    Only `STATE_ACTIVE` allows face processing for the purpose; its query forms are
    `consent.rules_query.active` and `ACTIVE_SQL`.

    >>> from datetime import UTC
    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> effective_state(GRANTED, now=now), effective_state(GRANTED, now=now, purpose_status=DRAFT)
    ('active', 'not_asked')
    """
    if status is None:
        return STATE_PURPOSE_RETIRED if purpose_status == RETIRED else NOT_ASKED
    if status != GRANTED:
        return status
    if purpose_status == RETIRED:
        return STATE_PURPOSE_RETIRED
    if purpose_status != ACTIVE:  # a draft is in force for nobody, whatever a row says
        return NOT_ASKED
    if renewal_needed_at is not None:
        return STATE_RENEWAL_NEEDED
    if expires_at is not None and expires_at <= now:
        return STATE_EXPIRED
    if guardian_needed and not granted_by_guardian:
        return STATE_AWAITING_GUARDIAN
    return STATE_ACTIVE


def needs_decision(
    state: str,
    decided_notice_id: int | None,
    current_notice_id: int | None,
    *,
    decided_terms: Mapping[str, object] | None = None,
    current_terms: Mapping[str, object] | None = None,
) -> bool:
    """Whether to ask the person for a decision now.

    Never asked: yes. Renewal needed or expired: yes. Refused or withdrawn: only once the
    notice has changed since that decision, so a "no" is not met with the same question again;
    given the terms of both notices, only a change that would also ask those who granted to
    renew (purpose, method, data, retention) counts, not a wording fix.
    """
    if current_notice_id is None:
        return False
    if state in (NOT_ASKED, STATE_RENEWAL_NEEDED, STATE_EXPIRED, STATE_AWAITING_GUARDIAN):
        return True
    if state in (REFUSED, WITHDRAWN, ENDED):
        if decided_notice_id == current_notice_id:
            return False
        if decided_terms is not None and current_terms is not None:
            return notice_change_requires_renewal(decided_terms, current_terms)
        return True
    return False


def material_terms(
    *,
    specific_purpose: str,
    method: str,
    data_collected: str,
    retention_days: int | None,
    until_person_leaves: bool,
    storage: str | None = None,
) -> dict[str, object]:
    """The terms of a notice people agree to; a change to any of them needs a new consent."""
    return {
        "specific_purpose": specific_purpose.strip(),
        "method": method,
        "data_collected": data_collected.strip(),
        "retention": [retention_days, bool(until_person_leaves)],
        "storage": storage,
    }


def changed_terms(old: Mapping[str, object] | None, new: Mapping[str, object]) -> list[str]:
    """Names of the material terms that differ between two notices (none for a first notice)."""
    if old is None:
        return []
    return [name for name in MATERIAL_FIELDS if old.get(name) != new.get(name)]


def notice_change_requires_renewal(
    old: Mapping[str, object] | None, new: Mapping[str, object]
) -> bool:
    """A new notice version that changes purpose, method, data or retention needs renewal.

    Wording fixes, a new contact address or a translation do not.
    """
    return bool(changed_terms(old, new))


def assessment_must_be_redone(changed: Iterable[str]) -> bool:
    """PIPIA is redone when the purpose or the method changes (Measures art. 9)."""
    return bool({"specific_purpose", "method"} & set(changed))


def code_route(method: str) -> str:
    """The non-face route every purpose must list: codes at doors (1:N), password and
    one-time code where a person says who they are (1:1, portal sign-in)."""
    return PASSWORD_CODE if method == VERIFICATION else DOOR_CODE


def available_alternatives(*, cards_issued: bool, staff_present: bool) -> tuple[str, ...]:
    """The ways in a building really offers: codes always; cards only where the building has
    issued live cards; staff-assisted entry only where it has staff or admins to help.

    >>> available_alternatives(cards_issued=False, staff_present=True)
    ('password_code', 'door_code', 'staff_assisted')
    """
    offered = {PASSWORD_CODE, DOOR_CODE}
    if cards_issued:
        offered.add(CARD)
    if staff_present:
        offered.add(STAFF_ASSISTED)
    return tuple(a for a in ALTERNATIVES if a in offered)


def alternatives_problem(
    alternatives: object, method: str | None = None, available: Iterable[str] | None = None
) -> str | None:
    """Why a list of non-face alternatives is not acceptable, or None. Face is never the only way;
    with `method`, a code route (door code or one-time code; password and one-time code) must be
    listed; with `available`, nothing the building does not offer may be.

    >>> alternatives_problem([]), alternatives_problem(["card"])
    ('none', None)
    >>> alternatives_problem(["card"], IDENTIFICATION)
    'code_missing'
    >>> alternatives_problem(["door_code", "card"], IDENTIFICATION, ["door_code"])
    'unavailable'
    """
    if not isinstance(alternatives, list | tuple) or not alternatives:
        return "none"
    if any(a not in ALTERNATIVES for a in alternatives):
        return "unknown"
    if len(set(alternatives)) != len(alternatives):
        return "duplicate"
    if method is not None and not {PASSWORD_CODE, DOOR_CODE} & set(alternatives):
        return "code_missing"
    if available is not None and any(a not in set(available) for a in alternatives):
        return "unavailable"
    return None


def retention_problem(retention_days: int | None, until_person_leaves: bool) -> str | None:
    """A purpose must say how long face data is kept: a number of days and/or until leaving."""
    if retention_days is None and not until_person_leaves:
        return "none"
    if retention_days is not None and retention_days < 1:
        return "not_positive"
    return None


def activation_missing(*, has_approved_assessment: bool, has_published_notice: bool) -> list[str]:
    """What a purpose still lacks before it may be activated (empty: it may)."""
    missing = []
    if not has_approved_assessment:
        missing.append("assessment")
    if not has_published_notice:
        missing.append("notice")
    return missing


def assessment_keep_until(approved_at: datetime) -> date:
    """An approved assessment is kept at least three years (Measures art. 9)."""
    day = approved_at.date()
    try:
        return day.replace(year=day.year + ASSESSMENT_KEEP_YEARS)
    except ValueError:
        return date(day.year + ASSESSMENT_KEEP_YEARS, 3, 1)


# Why an impact assessment is due (re)doing, in the order they are reported.
REVIEW_MISSING = "missing"  # no approved assessment at all
REVIEW_SCOPE_CHANGED = "scope_changed"  # purpose or method changed since the last approval
REVIEW_AGE = "age"  # the last approval is older than the review period


def assessment_review(
    *,
    latest_approved_at: datetime | None,
    needs_assessment_after: datetime | None,
    now: datetime,
    review_days: int,
) -> str | None:
    """Why the purpose's impact assessment must be redone now, or None while it holds.

    An assessment covers the purpose and method as they stood when it was approved (Measures
    art. 9: redo it when they change); `needs_assessment_after` is the moment from which an
    approval covers the current ones. Past that, an assessment is reviewed every
    `review_days` days so that risks and protections are looked at again.

    >>> from datetime import UTC
    >>> day = datetime(2026, 1, 1, tzinfo=UTC)
    >>> assessment_review(latest_approved_at=day, needs_assessment_after=day,
    ...                   now=day + timedelta(days=365), review_days=365)
    'age'
    """
    if latest_approved_at is None:
        return REVIEW_MISSING
    if needs_assessment_after is not None and latest_approved_at < needs_assessment_after:
        return REVIEW_SCOPE_CHANGED
    if latest_approved_at <= now - timedelta(days=review_days):
        return REVIEW_AGE
    return None


def scope_changed(old: Mapping[str, object], new: Mapping[str, object]) -> bool:
    """Whether the specific purpose or the method differs (what an assessment is about).

    >>> scope_changed({"specific_purpose": "Door ", "method": "verification"},
    ...               {"specific_purpose": "Door", "method": "verification"})
    False
    """
    return (str(old.get("specific_purpose", "")).strip(), old.get("method")) != (
        str(new.get("specific_purpose", "")).strip(),
        new.get("method"),
    )


# Purpose binding, audience and where face data lives ----------------------------------------


def kind_problem(kind: str, method: str, storage: str) -> str | None:
    """Why a purpose's kind does not fit its method or storage, or None.

    Portal sign-in is 1:1 (the person says who they are) and its photo always leaves the
    browser for the portal, so it can never be "kept on the device only".

    >>> kind_problem(KIND_SIGN_IN, IDENTIFICATION, STORAGE_HOSTED)
    'sign_in_needs_verification'
    >>> kind_problem(KIND_SIGN_IN, VERIFICATION, STORAGE_DEVICE)
    'sign_in_leaves_device'
    >>> kind_problem(KIND_DOOR, IDENTIFICATION, STORAGE_DEVICE) is None
    True
    """
    if kind not in KINDS:
        return "unknown_kind"
    if storage not in STORAGES:
        return "unknown_storage"
    if kind == KIND_SIGN_IN and method != VERIFICATION:
        return "sign_in_needs_verification"
    if kind == KIND_SIGN_IN and storage == STORAGE_DEVICE:
        return "sign_in_leaves_device"
    return None


def audience_roles(audience: str) -> tuple[str, ...]:
    """The membership roles a purpose is for.

    >>> audience_roles(AUDIENCE_BOTH)
    ('resident', 'staff', 'admin')
    """
    return _AUDIENCE_ROLES.get(audience, ())


def audiences_for_role(role: str) -> tuple[str, ...]:
    """The audiences that include a role (for SQL filters).

    >>> audiences_for_role("resident"), audiences_for_role("admin")
    (('residents', 'both'), ('staff', 'both'))
    """
    return tuple(a for a, roles in _AUDIENCE_ROLES.items() if role in roles)


def is_for(audience: str, roles: Iterable[str]) -> bool:
    """Whether a purpose with this audience is for someone with these roles in its building.

    >>> is_for(AUDIENCE_STAFF, {"resident"}), is_for(AUDIENCE_BOTH, {"resident", "admin"})
    (False, True)
    """
    return bool(set(audience_roles(audience)) & set(roles))


def leaves_device(storage: str) -> bool:
    """Whether photos or templates leave the recognition device (Measures art. 8), so that the
    person's separate consent to that is needed."""
    return storage != STORAGE_DEVICE


def storage_problem(storage: str, storage_consented: bool) -> str | None:
    """Why the portal may not hold this purpose's face data for a person, or None.

    Kept on the device only: the portal never holds it. Otherwise the person must have given
    the separate consent to face data leaving the device.

    >>> storage_problem(STORAGE_DEVICE, True), storage_problem(STORAGE_HOSTED, False)
    ('device_only', 'no_storage_consent')
    >>> storage_problem(STORAGE_ON_PREMISES, True) is None
    True
    """
    if not leaves_device(storage):
        return "device_only"
    if not storage_consented:
        return "no_storage_consent"
    return None


def device_binding_problem(
    *, purpose_kind: str, purpose_building_id: int, device_building_id: int
) -> str | None:
    """Why a door device may not serve a purpose, or None: only door-access purposes of its
    own building.

    >>> device_binding_problem(purpose_kind=KIND_SIGN_IN, purpose_building_id=1,
    ...                        device_building_id=1)
    'not_door'
    >>> device_binding_problem(purpose_kind=KIND_DOOR, purpose_building_id=2,
    ...                        device_building_id=1)
    'other_building'
    """
    if purpose_building_id != device_building_id:
        return "other_building"
    if purpose_kind != KIND_DOOR:
        return "not_door"
    return None
