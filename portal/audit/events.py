"""Every event the audit log knows, in one place, with the words a person reads for it.

`audit.record` accepts only these; "My data" and the evidence pages show the label, the
JSON export keeps the code. Adding an event means adding it here (a test reads every call of
`audit.record` in the code and checks that its event is one of these).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.TextChoices):
    PURPOSE_CREATED = "purpose.created", _("purpose created")
    PURPOSE_UPDATED = "purpose.updated", _("purpose changed")
    PURPOSE_DELETED = "purpose.deleted", _("purpose deleted")
    PURPOSE_ACTIVATED = "purpose.activated", _("purpose activated")
    PURPOSE_RETIRED = "purpose.retired", _("purpose retired")
    NOTICE_PUBLISHED = "notice.published", _("notice published")
    ASSESSMENT_CREATED = "assessment.created", _("impact assessment started")
    ASSESSMENT_UPDATED = "assessment.updated", _("impact assessment changed")
    ASSESSMENT_APPROVED = "assessment.approved", _("impact assessment approved")
    CONSENT_GRANTED = "consent.granted", _("consent given")
    CONSENT_REFUSED = "consent.refused", _("consent refused")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("consent withdrawn")
    STORAGE_WITHDRAWN = (
        "consent.storage_withdrawn",
        _("separate consent to face data leaving the device withdrawn"),
    )
    PERSON_INVITED = "person.invited", _("person invited")
    PERSON_LEFT = "person.left", _("person left the building")
    LOCATION_CREATED = "location.created", _("location added")
    LOCATION_UPDATED = "location.updated", _("location changed")
    DEVICE_REGISTERED = "device.registered", _("device registered")
    DEVICE_KEY_ROTATED = "device.key_rotated", _("device key replaced")
    DEVICE_REVOKED = "device.revoked", _("device revoked")
    FACE_ENROLLED = "face.enrolled", _("face enrolled")
    FACE_DELETED = "face.deleted", _("face data deleted")
    FACE_PURGED = "face.purged", _("face data purged on schedule")
    FACE_KEYS_ROTATED = "face.keys_rotated", _("face data re-encrypted with a new key")
    FACE_VERIFIED = "face.verified", _("face recognised")
    FACE_NOT_VERIFIED = "face.not_verified", _("face not recognised")
    FACE_IDENTIFIED = "face.identified", _("face recognised at a door")
    FACE_NOT_IDENTIFIED = "face.not_identified", _("face not recognised at a door")
    FILING_THRESHOLD_REACHED = "filing.threshold_reached", _("filing threshold reached")
    FIRST_ADMIN_CREATED = "account.first_admin_created", _("first admin account created")
    MEMBER_CREATED = (
        "account.member_created",
        _("account created with a password and an authenticator app"),
    )
    TOTP_KEYS_ROTATED = (
        "account.totp_keys_rotated",
        _("authenticator secrets re-encrypted with a new key"),
    )
    FILING_RECORDED = "filing.recorded", _("filing with the cyberspace office recorded")
    INCIDENT_RECORDED = "incident.recorded", _("security incident recorded")
    INCIDENT_PEOPLE_NOTIFIED = "incident.people_notified", _("people told of an incident")
    INCIDENT_EMAILS_SENT = "incident.emails_sent", _("incident emails sent")
    INCIDENT_REPORTED = "incident.reported", _("incident report for the regulator made")
    REQUEST_FILED = "request.filed", _("request sent")
    REQUEST_ANSWERED = "request.answered", _("request answered")
    PROFILE_CORRECTED = "profile.corrected", _("own details corrected")
    PERSON_AGE_RECORDED = "person.age_recorded", _("date of birth or adult attestation recorded")
    ACCOUNT_DELETED = "account.deleted", _("account deleted")
    AUDIT_CHECKPOINT_KEY_CHANGED = "audit.checkpoint_key_changed", _("audit checkpoint key changed")
    BACKUP_CODES_GENERATED = "backup_codes.generated", _("backup codes made")
    TOTP_STARTED = "account.totp_started", _("authenticator app setup started")
    TOTP_CONFIRMED = (
        "account.totp_confirmed",
        _("authenticator app added, with a first set of backup codes"),
    )
    DOOR_BACKUP_CODES_SET = (
        "building.door_backup_codes",
        _("whether doors accept backup codes changed"),
    )
    CARD_ISSUED = "card.issued", _("access card issued")
    CARD_REVOKED = "card.revoked", _("access card revoked")
    DOOR_OPENED_BY_STAFF = "door.opened_by_staff", _("door opened by staff after an identity check")
    KIOSK_PAIRING_CODE_ISSUED = "kiosk.pairing_code_issued", _("door kiosk pairing code shown")


def label(code: str) -> str:
    """The words for an event code; an unknown code is shown as it is."""
    try:
        return str(AuditEvent(code).label)
    except ValueError:
        return code
