"""Test data, built the way the portal builds it: people, authenticators, purposes made through
the services as an admin would, decisions, door devices. Tests import these from here, never
from a conftest module."""

from consent import rules as consent_rules
from consent import services as consent_services
from consent.demo import DEMO_ASSESSMENT, DEMO_PURPOSES
from portal import clock
from portal.models import Building, Membership, SealedTOTPDevice, User

PASSWORD = "correct horse battery staple"

# People and second factors -----------------------------------------------------------------


def make_person(username: str, building: Building | None, role: str | None, **extra) -> User:
    """A person; without a birth date, one an admin attested to be an adult."""
    if extra.get("birth_date") is None:
        extra.setdefault("adult_attested_at", clock.now())
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if building is not None and role is not None:
        Membership.objects.create(user=user, building=building, role=role)
    return user


def add_totp(user: User) -> SealedTOTPDevice:
    return SealedTOTPDevice.create_for(user, "phone", confirmed=True)


def current_code(device: SealedTOTPDevice, offset_steps: int = 0) -> str:
    from django_otp.oath import totp

    device.refresh_from_db()
    code = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + offset_steps,
    )
    return str(code).zfill(device.digits)


def trust_browser(the_client, user: User) -> str:
    """Gives a test client the trusted-device cookie a real password + code sign-in leaves
    (see portal.trusted), beside the accounts it already trusts; returns the nonce."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from portal import trusted

    request = RequestFactory().get("/")
    if trusted.COOKIE in the_client.cookies:
        request.COOKIES[trusted.COOKIE] = the_client.cookies[trusted.COOKIE].value
    response = HttpResponse()
    trusted.remember(request, response, user)
    request.COOKIES[trusted.COOKIE] = response.cookies[trusted.COOKIE].value
    the_client.cookies[trusted.COOKIE] = request.COOKIES[trusted.COOKIE]
    nonce = trusted.nonce_for(request, user.pk)
    assert nonce is not None
    return nonce


# Purposes ----------------------------------------------------------------------------------

TEXT = {
    key: f"{key} text"
    for key in (
        "purpose",
        "method",
        "data",
        "retention",
        "necessity_and_impact",
        "alternatives",
        "rights",
        "withdrawal",
    )
}
TEXTS = {"en": TEXT, "zh-hans": {k: f"{v} (zh)" for k, v in TEXT.items()}}
ASSESSMENT = {
    "lawfulness_and_necessity": "Consent; optional.",
    "impact_and_mitigations": "Encrypted template.",
    "security_risks": "Leakage; encrypted.",
    "protection_adequacy": "Adequate.",
}


def purpose_fields(**overrides) -> dict:
    fields = {
        "name": "Door access by face",
        "specific_purpose": "Open the lobby door.",
        "necessity_and_impact": "Hands-free entry.",
        "method": consent_rules.IDENTIFICATION,
        "kind": consent_rules.KIND_DOOR,
        "audience": consent_rules.AUDIENCE_BOTH,
        "storage": consent_rules.STORAGE_ON_PREMISES,
        "retention_days": 365,
        "until_person_leaves": True,
        "alternatives": ["door_code"],
    }
    fields.update(overrides)
    return fields


def make_active_purpose(building, admin=None, *, demo: str | None = None, **overrides):
    """An active purpose of `building`, made through the services as its admin would (`admin`,
    else the building's first admin, else a new one).

    Without `demo`: the plain door purpose of `purpose_fields` with the `TEXTS` notice.
    With `demo` (a method): the demo purpose of that method (verification: portal sign-in;
    identification: doors) with its bilingual notice, for residents and staff alike.
    """
    actor = admin or _admin_of(building)
    if demo is None:
        fields = purpose_fields(**overrides)
        assessment, texts, data = ASSESSMENT, TEXTS, "One template."
    else:
        spec = next(s for s in DEMO_PURPOSES if s["fields"]["method"] == demo)
        # For residents and staff unless a test says otherwise: the fixtures' people are both.
        fields = {**spec["fields"], "audience": consent_rules.AUDIENCE_BOTH, **overrides}
        assessment, data = DEMO_ASSESSMENT, spec["data"]
        texts = {"en": spec["en"], "zh-hans": spec["zh-hans"]}
    purpose = consent_services.create_purpose(building, actor=actor, **fields)
    made = consent_services.create_assessment(purpose, actor=actor, **assessment)
    consent_services.approve_assessment(made, actor=actor)
    consent_services.publish_notice(purpose, actor=actor, texts=texts, data_collected=data)
    purpose = consent_services.activate_purpose(purpose, actor=actor)
    purpose.refresh_from_db()
    return purpose


def _admin_of(building) -> User:
    admin = Membership.objects.filter(building=building, role="admin").first()
    return admin.user if admin else make_person(f"admin-{building.pk}", building, "admin")


# Decisions ---------------------------------------------------------------------------------


def _shown(purpose) -> dict:
    purpose.refresh_from_db()
    return {
        "channel": "web",
        "ip": "127.0.0.1",
        "user_agent": "pytest",
        "notice_hash": purpose.current_notice.text_hash,
    }


def grant(person, purpose, *, actor=None, storage_consent=True):
    """A grant on the notice shown, by the person (or `actor`, their guardian), with the
    separate consent to face data leaving the device unless told not."""
    return consent_services.grant_consent(
        person, purpose, actor=actor or person, storage_consent=storage_consent, **_shown(purpose)
    )


def refuse(person, purpose, *, actor=None):
    return consent_services.refuse_consent(
        person, purpose, actor=actor or person, **_shown(purpose)
    )


def withdraw(person, purpose):
    return consent_services.withdraw_consent(
        person, purpose, actor=person, channel="web", ip="127.0.0.1", user_agent="pytest"
    )


# Door devices ------------------------------------------------------------------------------


def make_door(building, purpose=None, kind="entrance", name="Front door", **location_fields):
    """A location of `kind` in the building and a device registered there: (device, key)."""
    from recognition.doors import devices
    from recognition.models import Location

    location = Location.objects.create(
        building=building, name=f"{name} hall", kind=kind, **location_fields
    )
    return devices.register_device(location, name, purpose, actor=None)


def device_headers(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Device {key}"}
