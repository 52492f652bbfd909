"""Filters that turn the plain rows of "My data" into something a person can read."""

from datetime import datetime

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from portal.audit import events

register = template.Library()

# Column names of the rows that the apps hand to "My data" (consent.mydata, recognition).
LABELS = {
    "username": _("Username"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("Email"),
    "date_of_birth": _("Date of birth"),
    "guardian": _("Guardian"),
    "joined": _("Joined"),
    "left": _("Left"),
    "last_sign_in": _("Last sign-in"),
    "building": _("Building"),
    "role": _("Role"),
    "purpose": _("Purpose"),
    "status": _("Status"),
    "notice": _("Notice"),
    "consent": _("Consent"),
    "notice_version": _("Notice version"),
    "notice_hash": _("Notice fingerprint"),
    "granted_at": _("Granted"),
    "refused_at": _("Refused"),
    "withdrawn_at": _("Withdrawn"),
    "renewal_needed_at": _("Renewal needed since"),
    "expires_at": _("Expires"),
    "granted_by": _("Granted by"),
    "channel": _("Channel"),
    "ip": _("IP address"),
    "user_agent": _("Browser"),
    "receipt_id": _("Receipt id"),
    "at": _("When"),
    "time": _("When"),
    "event": _("Event"),
    "by": _("By"),
    "message": _("Message"),
    "read_at": _("Read"),
    "entry": _("Entry"),
    "details": _("Details"),
    "where": _("Where"),
    "method": _("Method"),
    "result": _("Result"),
    "model": _("Model"),
    "enrolled_at": _("Enrolled"),
    "lapses_at": _("Deleted at the latest"),
    "lapses": _("Deleted when"),
    "reason": _("Reason"),
    "trigger": _("Started by"),
    "templates": _("Face templates"),
    "batches": _("Batches"),
    "consents_ended": _("Consents ended"),
    "returning": _("Returning member"),
    "fields": _("Fields"),
    "kind": _("Kind"),
    "people": _("People"),
    "threshold": _("Threshold"),
    "version": _("Version"),
    "storage_consent": _("Consent to face data leaving the device"),
    "storage": _("Where face data is kept"),
    "audience": _("For whom"),
    "adult_attested": _("Adult attested"),
    "due_on": _("Due on"),
    "filed_on": _("Filed on"),
    "found_at": _("Found at"),
    "on_time": _("On time"),
    "people_affected": _("People affected"),
    "second_factor": _("Second factor"),
    "templates_deleted": _("Face templates deleted"),
    "consents_erased": _("Consents erased"),
    "requests_erased": _("Requests erased"),
    "changed_terms": _("Terms changed"),
    "renewal_needed": _("Renewal needed"),
    "in_portal": _("In the portal"),
    "sent": _("Sent"),
    "failed": _("Failed"),
    "count": _("Number"),
    "allowed": _("Allowed"),
    "last_digits": _("Last digits"),
    "birth_date": _("Date of birth"),
}

# Keys of audit details that are only ids or fingerprints: kept in the JSON export, left out of
# the page, where a number means nothing to the person reading it.
ID_KEYS = {
    "card",
    "incident",
    "request",
    "filing",
    "purposes",
    "buildings",
    "key",
    "check",
    "attempt_logs_kept_without_person",
    "attempt",
    "consent",
    "device",
    "purpose",
    "notice",
    "notice_hash",
    "hash",
    "granted_by",
    "location",
    "assessment",
    "entry",
    "template",
    "template_id",
}

# Columns whose values are stored codes, and those codes in words.
CODED_COLUMNS = {"status", "role", "event", "channel", "trigger", "method", "result"}
VALUES = {
    "granted": _("granted"),
    "refused": _("refused"),
    "withdrawn": _("withdrawn"),
    "ended": _("ended (left)"),
    "renewal_needed": _("renewal needed (the notice changed)"),
    "resident": _("resident"),
    "staff": _("staff member"),
    "admin": _("building admin"),
    "web": _("web page"),
    "api": _("API"),
    "kiosk": _("kiosk"),
    "system": _("system"),
    "door": _("door"),
    "request": _("your request or an admin's"),
    "schedule": _("the scheduled purge"),
    "verification": _("verification (one to one)"),
    "identification": _("identification (one among many)"),
    "face": _("face"),
    "totp": _("authenticator code"),
    "door_code": _("door code"),
    "match": _("recognised"),
    "no_match": _("not recognised"),
}


@register.filter
def data_label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


@register.filter
def data_value(value, column=""):
    """Dates in local time, codes in words, nested details as "key: value" lines."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        shown = [(k, v) for k, v in value.items() if k not in ID_KEYS]
        return "; ".join(f"{data_label(k)}: {data_value(v, k)}" for k, v in shown) or "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        if column in CODED_COLUMNS and value in VALUES:
            return VALUES[value]
        if column == "event":
            return events.label(value)
        if len(value) >= 19 and value[4] == "-" and value[10] == "T":
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return formats.date_format(moment, "Y-m-d H:i")
    return value
