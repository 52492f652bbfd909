"""Who may call what: every URL and API endpoint, every role, the right answer.

The URL conf is walked (`get_resolver`), so a new endpoint without an entry in MATRIX fails
`test_every_endpoint_has_an_entry`. Each entry says, per HTTP method, what each role gets:

- OK: served (2xx, a redirect that is not to sign-in, or a 400/409 about the request body,
  which means access was granted and the input judged);
- LOGIN: asked to sign in (pages redirect to the sign-in page; the API answers 401/403
  `not_authenticated`);
- HIDDEN: 404, the portal's answer for records outside one's reach (nothing is confirmed);
- FORBIDDEN: 403 for a signed-in person or device that may not do this;
- NOT_ALLOWED: 405, the method is not offered.

Roles: anonymous; resident (the owner of the records used: consent, ward, receipt); another
resident and a staff member of the same building; the admin of that building and of another;
a door device of that building and of another (device key header, no session); a superuser.
Every request runs in a savepoint that is rolled back, so each role meets the same records.
"""

import datetime
import json
import time

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from consent import rules as consent_rules
from consent import services as consent_services
from consent.demo import DEMO_ASSESSMENT, DEMO_PURPOSES
from portal import clock
from portal.models import User
from recognition import api as recognition_api
from recognition.entry import cards
from recognition.models import Location
from recognition.rights import services as rights_services
from tests.factories import device_headers, grant, make_active_purpose, make_door, make_person
from tests.rights.data import INCIDENT_FIELDS

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "resident",
    "other_resident",
    "staff",
    "admin_a",
    "admin_b",
    "device_a",
    "device_b",
    "superuser",
)
OK, LOGIN, HIDDEN, FORBIDDEN, NOT_ALLOWED = "ok", "login", "hidden", "forbidden", "405"
PEOPLE = ("resident", "other_resident", "staff", "admin_a", "admin_b", "superuser")
DEVICES = ("device_a", "device_b")


def walk(patterns, prefix="", namespace=None):
    """(route, name) of every endpoint; the Django admin site counts as one (its own
    permission system guards every page of it)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if getattr(pattern, "app_name", None) == "admin":
                yield prefix + str(pattern.pattern), "admin:*"
                continue
            inner = pattern.namespace
            if namespace and inner:
                inner = f"{namespace}:{inner}"
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
        elif isinstance(pattern, URLPattern):
            name = pattern.name
            if namespace and name:
                name = f"{namespace}:{name}"
            yield prefix + str(pattern.pattern), name or prefix + str(pattern.pattern)


def endpoints() -> list[tuple[str, str]]:
    return list(walk(get_resolver().url_patterns))


def _roles(default: str, **special: str) -> dict[str, str]:
    return {role: special.get(role, default) for role in ROLES}


PUBLIC = _roles(OK)
NOBODY_SIGNED_IN = {"anonymous": LOGIN, "device_a": LOGIN, "device_b": LOGIN}
SIGNED_IN = _roles(OK, **NOBODY_SIGNED_IN)  # any person, about themselves
MEMBERS_OF_A = _roles(OK, admin_b=HIDDEN, superuser=HIDDEN, **NOBODY_SIGNED_IN)
OWNER = _roles(HIDDEN, resident=OK, **NOBODY_SIGNED_IN)  # the resident's own records, ward
ADMINS = _roles(HIDDEN, admin_a=OK, admin_b=OK, **NOBODY_SIGNED_IN)  # each their buildings
ADMIN_OF_A = _roles(HIDDEN, admin_a=OK, **NOBODY_SIGNED_IN)
DEVICES = _roles(LOGIN, device_a=OK, device_b=OK)
SUPERUSER = _roles(LOGIN, superuser=OK)
PASSKEY_OWNER = _roles(OK, anonymous=FORBIDDEN, device_a=FORBIDDEN, device_b=FORBIDDEN)
# staff and admins, each for their own buildings' doors
RECEPTION = _roles(HIDDEN, staff=OK, admin_a=OK, admin_b=OK, **NOBODY_SIGNED_IN)
NO_GET = _roles(NOT_ALLOWED)


def pages(profile) -> dict:
    return {"GET": profile, "POST": profile}


def post_only(profile) -> dict:
    return {"GET": NO_GET, "POST": profile}


# name -> method -> role -> answer. A new endpoint needs a line here.
MATRIX: dict[str, dict[str, dict[str, str]]] = {
    "portal:home": pages(SIGNED_IN),
    "portal:login": pages(PUBLIC),
    "portal:login-code": pages(PUBLIC),
    "portal:logout": post_only(PUBLIC),
    "portal:two-factor": pages(SIGNED_IN),
    "portal:backup-codes": pages(SIGNED_IN),
    "portal:set-password": pages(PUBLIC),  # the emailed token is the credential
    "portal:set-password-done": {"GET": PUBLIC},
    "consent:mine": pages(SIGNED_IN),
    "consent:decide": post_only(MEMBERS_OF_A),
    "consent:notifications-read": post_only(SIGNED_IN),
    "consent:notice": pages(MEMBERS_OF_A),
    "consent:receipt": pages(OWNER),
    "consent:receipt-json": pages(OWNER),
    "consent:wards": pages(SIGNED_IN),
    "consent:ward": pages(OWNER),
    "consent:ward-decide": post_only(OWNER),
    "consent:my-data": pages(SIGNED_IN),
    "consent:my-data-json": pages(SIGNED_IN),
    "consent:admin-purposes": pages(ADMINS),
    "consent:admin-purpose-new": pages(ADMINS),
    "consent:admin-purpose": pages(ADMIN_OF_A),
    "consent:admin-purpose-edit": pages(ADMIN_OF_A),
    "consent:admin-purpose-delete": post_only(ADMIN_OF_A),
    "consent:admin-notice-new": pages(ADMIN_OF_A),
    "consent:admin-notice": pages(ADMIN_OF_A),
    "consent:admin-assessment-new": pages(ADMIN_OF_A),
    "consent:admin-assessment": pages(ADMIN_OF_A),
    "consent:admin-assessment-approve": post_only(ADMIN_OF_A),
    "consent:admin-purpose-action": post_only(ADMIN_OF_A),
    "consent:admin-people": pages(ADMINS),
    "consent:admin-person-invite": pages(ADMINS),
    "consent:admin-person": pages(ADMIN_OF_A),
    "consent:admin-person-left": post_only(ADMIN_OF_A),
    "consent:admin-person-password-link": post_only(ADMIN_OF_A),
    "consent:admin-consents": pages(ADMIN_OF_A),
    "recognition:login-face": pages(PUBLIC),
    "recognition:login-face-challenge": post_only(PUBLIC),
    "recognition:enrol": pages(SIGNED_IN),
    "recognition:enrol-challenge": post_only(SIGNED_IN),
    "recognition:door-code": pages(SIGNED_IN),
    "recognition:purges": pages(ADMINS),
    "recognition:dashboard": pages(ADMINS),
    "recognition:audit-check": post_only(ADMINS),
    "recognition:evidence": pages(ADMINS),
    "recognition:admin-locations": pages(ADMINS),
    "recognition:admin-location-new": pages(ADMINS),
    "recognition:admin-location": pages(ADMIN_OF_A),
    "recognition:admin-devices": pages(ADMINS),
    "recognition:admin-device-new": pages(ADMINS),
    "recognition:admin-device-rotate": post_only(ADMIN_OF_A),
    "recognition:admin-device-revoke": post_only(ADMIN_OF_A),
    "rights:public-rules-index": pages(PUBLIC),
    "rights:public-rules": pages(PUBLIC),
    "rights:public-rules-download": pages(PUBLIC),
    "rights:my-requests": pages(SIGNED_IN),
    "rights:profile": pages(SIGNED_IN),
    "rights:delete-account": pages(SIGNED_IN),  # an empty POST is not a confirmation
    "rights:my-incidents": pages(SIGNED_IN),
    "rights:admin-requests": pages(ADMINS),
    "rights:admin-request": pages(ADMIN_OF_A),
    "rights:admin-person-age": pages(ADMIN_OF_A),
    "rights:admin-incidents": pages(ADMINS),
    "rights:admin-incident-new": pages(ADMIN_OF_A),
    "rights:admin-incident": pages(ADMIN_OF_A),
    "rights:admin-incident-notify": post_only(ADMIN_OF_A),
    "rights:admin-incident-report": pages(ADMIN_OF_A),
    "rights:admin-incident-report-json": pages(ADMIN_OF_A),
    "rights:admin-filings": pages(ADMINS),
    "rights:filing-materials": pages(ADMINS),
    "rights:audit-checkpoints": pages(ADMINS),
    "api:api-me": {"GET": SIGNED_IN},
    "api:consent-list": {"GET": SIGNED_IN},
    "api:consent-detail": {"GET": OWNER},
    "api:consent-receipt": {"GET": OWNER},
    "api:consent-grant": {"POST": MEMBERS_OF_A},
    "api:consent-refuse": {"POST": MEMBERS_OF_A},
    "api:consent-withdraw": {"POST": MEMBERS_OF_A},  # others have nothing to withdraw: 409
    "api:consent-withdraw-storage": {"POST": MEMBERS_OF_A},  # likewise
    "api:consent-my-data": {"GET": SIGNED_IN},
    # the list holds the purposes of one's own buildings (empty for non-admins)
    "api:consent-admin-purposes": {"GET": SIGNED_IN, "POST": ADMIN_OF_A},
    "api:consent-admin-purpose": {"GET": ADMIN_OF_A, "PATCH": ADMIN_OF_A, "DELETE": ADMIN_OF_A},
    "api:consent-admin-activate": {"POST": ADMIN_OF_A},
    "api:consent-admin-retire": {"POST": ADMIN_OF_A},
    "api:consent-admin-notices": {"GET": ADMIN_OF_A, "POST": ADMIN_OF_A},
    "api:consent-admin-notice": {"GET": ADMIN_OF_A},
    "api:consent-admin-assessments": {"GET": ADMIN_OF_A, "POST": ADMIN_OF_A},
    "api:consent-admin-assessment": {"GET": ADMIN_OF_A, "PATCH": ADMIN_OF_A},
    "api:consent-admin-approve": {"POST": ADMIN_OF_A},
    "api:consent-admin-consents": {"GET": ADMIN_OF_A},
    "api:consent-admin-person-left": {"POST": ADMIN_OF_A},
    "api:admin-dashboard": {"GET": ADMINS},
    "api:device-me": {"GET": DEVICES},
    "api:device-identify": {"POST": DEVICES},
    "api:device-identify-jobs": {"POST": DEVICES},
    "api:device-identify-job": {"GET": {**DEVICES, "device_b": HIDDEN}},  # device A's job
    "api:device-verify": {"POST": DEVICES},
    "api:device-code": {"POST": DEVICES},
    "api:device-card": {"POST": DEVICES},
    "api:device-challenge": {"POST": DEVICES},
    "api:device-identify-live": {"POST": DEVICES},
    "api:reception-open": {"POST": RECEPTION},
    "entry:admin-cards": pages(ADMINS),
    "entry:admin-card-revoke": post_only(ADMIN_OF_A),
    "entry:admin-building-backup-codes": post_only(ADMIN_OF_A),
    "entry:reception": pages(RECEPTION),
    "entry:kiosk": {"GET": PUBLIC, "POST": NO_GET},
    "entry:kiosk-pair": pages(PUBLIC),  # the short code shown to admins is the credential
    "entry:admin-device-pair": post_only(ADMIN_OF_A),
    # django-otp-webauthn's ceremonies: registering needs a signed-in person; signing in is
    # open to all (the passkey is the credential); a step without its begun ceremony is a 400.
    # (the library answers 403 in its own shape to someone not signed in).
    "otp_webauthn:credential-registration-begin": {"POST": PASSKEY_OWNER},
    "otp_webauthn:credential-registration-complete": {"POST": PASSKEY_OWNER},
    "otp_webauthn:credential-authentication-begin": {"POST": PUBLIC},
    "otp_webauthn:credential-authentication-complete": {"POST": PUBLIC},
    "otp_webauthn:js-i18n-catalog": {"GET": PUBLIC},
    "schema": {"GET": PUBLIC},
    "api-docs": {"GET": PUBLIC},
    "set_language": pages(PUBLIC),
    "javascript-catalog": {"GET": PUBLIC},
    "healthz": {"GET": PUBLIC, "POST": NO_GET},
    "readyz": {"GET": PUBLIC, "POST": NO_GET},
    "metrics": {"GET": _roles(HIDDEN), "POST": NO_GET},  # no METRICS_TOKEN set: not served
    "admin:*": {"GET": SUPERUSER},
}


# -- the records every role meets -----------------------------------------------------------


@pytest.fixture
def world(building_a, building_b, resident, other_resident, staff, admin_a, admin_b, sign_in):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    door_purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    consent = grant(resident, purpose)
    ward = make_person(
        "ward",
        building_a,
        "resident",
        guardian=resident,
        birth_date=clock.now().date() - datetime.timedelta(days=365 * 9),
    )
    device_a, key_a = make_door(building_a, door_purpose)
    device_b, key_b = make_door(building_b, None, name="B door")
    superuser = User.objects.create_superuser("root", password="correct horse battery staple")
    sessions = {"anonymous": {}}
    for name, person in [
        ("resident", resident),
        ("other_resident", other_resident),
        ("staff", staff),
        ("admin_a", admin_a),
        ("admin_b", admin_b),
        ("superuser", superuser),
    ]:
        client = sign_in(person, Client())
        sessions[name] = {key: morsel.value for key, morsel in client.cookies.items()}
    sessions["device_a"] = sessions["device_b"] = {}
    job = signing.dumps(
        {"task": "no-such-task", "device": device_a.pk, "at": time.time()},
        salt=recognition_api._JOB_SALT,
    )
    draft = consent_services.create_assessment(purpose, actor=admin_a, **DEMO_ASSESSMENT)
    rights_request = rights_services.file_request(resident, building=building_a, kind="access")
    incident = rights_services.record_incident(
        building_a,
        actor=admin_a,
        purposes=[purpose],
        **INCIDENT_FIELDS,
        found_at=clock.now(),
    )
    card = cards.issue_card(resident, building_a, "12345678", actor=admin_a)
    invitee = make_person("invitee", building_a, "resident")
    invitee.set_unusable_password()
    invitee.save()
    kwargs = {
        "purpose_id": purpose.pk,
        "notice_id": purpose.current_notice_id,
        "consent_id": consent.pk,
        "ward_id": ward.pk,
        "assessment_id": draft.pk,
        "building_id": building_a.pk,
        "person_id": resident.pk,
        "location_id": Location.objects.get(devices=device_a).pk,
        "device_id": device_a.pk,
        "card_id": card.pk,
        "action": "retire",
        "job": job,
        "uidb64": urlsafe_base64_encode(force_bytes(resident.pk)),
        "token": default_token_generator.make_token(resident),
        "request_id": rights_request.pk,
        "incident_id": incident.pk,
    }
    # `pk` of each API route: the record of building A (or of the resident) it is about
    pk_of = {
        "consent-detail": consent.pk,
        "consent-receipt": consent.pk,
        "consent-admin-notice": purpose.current_notice_id,
        "consent-admin-assessment": draft.pk,
        "consent-admin-approve": draft.pk,
        "consent-admin-consents": building_a.pk,
        "consent-admin-person-left": building_a.pk,
    }
    notice_hash = purpose.current_notice.text_hash
    bodies = {  # valid bodies where the body is judged before the record is looked up
        "api:consent-grant": {"notice_hash": notice_hash, "agree": True},
        "api:consent-refuse": {"notice_hash": notice_hash},
        "api:consent-admin-purposes": {
            **DEMO_PURPOSES[0]["fields"],
            "name": "Another purpose",
            "building": building_a.pk,
        },
    }
    return {
        "kwargs": kwargs,
        "pk_of": pk_of,
        "bodies": bodies,
        "invitee": invitee.pk,
        "purpose": purpose,
        "sessions": sessions,
        "headers": {"device_a": device_headers(key_a), "device_b": device_headers(key_b)},
    }


def _url(world, route: str, name: str) -> str:
    if name == "admin:*":
        return "/" + route
    kwargs = {}
    for key in _route_kwargs(route):
        if key == "pk":
            kwargs["pk"] = world["pk_of"].get(name.split(":")[-1], world["purpose"].pk)
        else:
            kwargs[key] = world["kwargs"][key]
    if name == "consent:admin-person-password-link":
        kwargs["person_id"] = world["invitee"]  # links exist only for who never set one
    return reverse(name, kwargs=kwargs)


def _route_kwargs(route: str) -> list[str]:
    names = []
    for part in route.split("<")[1:]:
        spec = part.split(">", 1)[0]
        names.append(spec.split(":")[-1])
    return names


def _methods(path: str) -> list[str]:
    match = get_resolver().resolve(path)
    view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    if view is not None and hasattr(view, "http_method_names"):
        offered = [m for m in ("get", "post", "patch", "delete") if hasattr(view, m)]
        return [m.upper() for m in offered]
    return ["GET", "POST"]


def _label(response) -> str:
    status = response.status_code
    if status == 302:
        location = response["Location"]
        if location.startswith("/accounts/login/?next=") or location.startswith(
            "/django-admin/login/"
        ):
            return LOGIN
        return OK
    if status == 401:
        return LOGIN
    if status == 403:
        code = ""
        if response.get("Content-Type", "").startswith("application/json"):
            code = response.json().get("error", {}).get("code", "")
        return LOGIN if code in ("not_authenticated", "authentication_failed") else FORBIDDEN
    if status == 404:
        return HIDDEN
    if status == 405:
        return NOT_ALLOWED
    # 503: readyz with a check failing, or a face route with no worker: access was granted.
    if status in (200, 201, 204, 301, 400, 409, 413, 503):
        return OK
    return f"status {status}"


def _call(world, role: str, method: str, path: str, name: str = "") -> str:
    client = Client()
    for key, value in world["sessions"][role].items():
        client.cookies[key] = value
    extra = world["headers"].get(role, {})
    api = path.startswith("/api/")
    with transaction.atomic():
        if method == "GET":
            response = client.get(path, **extra)
        elif api:
            body = json.dumps(world["bodies"].get(name, {}))
            response = client.generic(method, path, body, "application/json", **extra)
        else:
            response = client.post(path, {}, **extra)
        transaction.set_rollback(True)
    return _label(response)


def observe(world) -> dict[str, dict[str, dict[str, str]]]:
    seen: dict[str, dict[str, dict[str, str]]] = {}
    for route, name in endpoints():
        path = _url(world, route, name)
        methods = ["GET"] if name == "admin:*" else _methods(path)
        seen[name] = {
            method: {role: _call(world, role, method, path, name) for role in ROLES}
            for method in methods
        }
    return seen


def test_every_endpoint_has_an_entry():
    missing = sorted({name for _route, name in endpoints()} - set(MATRIX))
    assert not missing, f"add these endpoints to MATRIX: {missing}"
    gone = sorted(set(MATRIX) - {name for _route, name in endpoints()})
    assert not gone, f"these MATRIX entries match no endpoint any more: {gone}"


def test_every_role_gets_the_right_answer_everywhere(world):
    seen = observe(world)
    wrong = [
        f"{name} {method} {role}: expected {MATRIX[name].get(method, {}).get(role)}, got {got}"
        for name, methods in seen.items()
        for method, roles in methods.items()
        for role, got in roles.items()
        if MATRIX.get(name, {}).get(method, {}).get(role) != got
    ]
    assert not wrong, "\n".join(wrong)
