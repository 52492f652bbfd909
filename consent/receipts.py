"""Consent receipts with the fields of the Kantara Initiative Consent Receipt v1.1."""

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from consent import rules

SPEC_VERSION = "KI-CR-v1.1.0"


def _epoch(value):
    return int(value.timestamp()) if value else None


def termination(consent) -> str:
    purpose = consent.purpose
    parts = [_("Withdraw at any time on the “My consents” page; it takes effect at once.")]
    if purpose.retention_days:
        parts.append(
            _("Lapses %(days)d days after it was given.") % {"days": purpose.retention_days}
        )
    if purpose.until_person_leaves:
        parts.append(_("Ends when the person leaves the building or job."))
    return " ".join(parts)


def kantara_receipt(consent, base_url: str = "") -> dict:
    """The receipt of a consent's latest decision, as a JSON-able dict."""
    purpose = consent.purpose
    notice = consent.notice
    building = purpose.building
    policy_url = base_url + reverse("consent:notice", args=[notice.pk])
    return {
        "version": SPEC_VERSION,
        "jurisdiction": "CN",
        "consentTimestamp": _epoch(consent.granted_at or consent.decided_at),
        "collectionMethod": str(consent.get_channel_display()),
        "consentReceiptID": str(consent.receipt_id),
        "language": get_language() or "en",
        "piiPrincipalId": consent.person.username,
        "piiControllers": [
            {
                "piiController": notice.handler_name,
                "onBehalf": False,
                "contact": notice.handler_contact,
                "address": building.address,
                "email": notice.handler_contact,
                "phone": "",
            }
        ],
        "policyUrl": policy_url,
        "services": [
            {
                "service": purpose.name,
                "purposes": [
                    {
                        "purpose": purpose.specific_purpose,
                        "purposeCategory": [purpose.method],
                        "consentType": "EXPLICIT",
                        "piiCategory": ["biometric: face template"],
                        "primaryPurpose": True,
                        "termination": termination(consent),
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": True,
        "spiCat": ["biometric"],
        # Extensions: the state of this consent and the exact notice shown.
        "status": consent.status,
        "noticeVersion": notice.version,
        "noticeHash": consent.notice_hash,
        "grantedBy": consent.granted_by.username if consent.granted_by_id else None,
        "withdrawnTimestamp": _epoch(consent.withdrawn_at)
        if consent.status == rules.WITHDRAWN
        else None,
        "renewalNeededTimestamp": _epoch(consent.renewal_needed_at),
        "expiresTimestamp": _epoch(consent.expires_at),
        # Where face data lives, and the separate consent to it leaving the device.
        "faceDataKept": purpose.storage,
        "offDeviceConsentTimestamp": _epoch(consent.storage_consented_at),
    }
