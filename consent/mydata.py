"""Everything held about a person, gathered from every app without consent importing them.

Receivers of `collect_personal_data` (kwargs: person) return one section, or a list of them:
`{"key": str, "title": lazy str, "rows": list[dict], "template": optional template name}`.
Rows hold plain JSON values; a section without a template is shown as a table of its rows.
"""

from datetime import timedelta

from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from consent.models import Consent, ConsentEvent, Notification
from portal.models import AuditEntry, Membership

collect_personal_data = Signal()


def _when(value):
    return timezone.localtime(value).isoformat() if value else None


def own_sections(person) -> list[dict]:
    account = {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "date_of_birth": person.birth_date.isoformat() if person.birth_date else None,
        "guardian": person.guardian.username if person.guardian_id else None,
        "joined": _when(person.date_joined),
        "last_sign_in": _when(person.last_login),
    }
    memberships = [
        {
            "building": m.building.name,
            "role": m.role,
            "joined": _when(m.joined_at),
            "left": _when(m.left_at),
        }
        for m in Membership.objects.filter(user=person).select_related("building")
    ]
    consents = [
        {
            "purpose": c.purpose.name,
            "building": c.purpose.building.name,
            "status": c.status,
            "notice_version": c.notice.version,
            "notice_hash": c.notice_hash,
            "granted_at": _when(c.granted_at),
            "refused_at": _when(c.refused_at),
            "withdrawn_at": _when(c.withdrawn_at),
            "renewal_needed_at": _when(c.renewal_needed_at),
            "expires_at": _when(c.expires_at),
            "granted_by": c.granted_by.username if c.granted_by_id else None,
            "channel": c.channel,
            "ip": c.ip,
            "user_agent": c.user_agent,
            "receipt_id": str(c.receipt_id),
        }
        for c in Consent.objects.filter(person=person).select_related(
            "purpose__building", "notice", "granted_by"
        )
    ]
    events = [
        {
            "at": _when(e.at),
            "purpose": e.consent.purpose.name,
            "event": e.kind,
            "notice_version": e.notice.version,
            "by": e.actor.username if e.actor_id else None,
            "channel": e.channel,
            "ip": e.ip,
            "user_agent": e.user_agent,
        }
        for e in ConsentEvent.objects.filter(person=person).select_related(
            "consent__purpose", "notice", "actor"
        )
    ]
    notifications = [
        {"at": _when(n.created_at), "message": str(n.message()), "read_at": _when(n.read_at)}
        for n in Notification.objects.filter(person=person).select_related("purpose")
    ]
    audit = [
        {"at": _when(a.at), "event": a.event, "entry": a.pk, "details": a.data}
        for a in AuditEntry.objects.filter(person_id=person.pk).order_by("-id")
    ]
    return [
        {"key": "account", "title": _("Your account"), "rows": [account]},
        {"key": "memberships", "title": _("Buildings"), "rows": memberships},
        {"key": "consents", "title": _("Consents"), "rows": consents},
        {"key": "consent_events", "title": _("Consent history"), "rows": events},
        {"key": "notifications", "title": _("Messages"), "rows": notifications},
        {"key": "audit", "title": _("Audit log entries about you"), "rows": audit},
    ]


def collect(person) -> list[dict]:
    """All sections: consent's own, then every app's, in the order receivers answer."""
    sections = own_sections(person)
    for _receiver, answer in collect_personal_data.send(sender=Consent, person=person):
        if isinstance(answer, dict):
            answer = [answer]
        sections.extend(section for section in answer or () if section)
    return sections


def summary(sections: list[dict], now) -> dict:
    """What a person should see first, worked out from the sections themselves: what is held
    and for which purposes until when, and who used their face in the last 30 days."""
    rows = {section["key"]: section["rows"] for section in sections}
    since = now - timedelta(days=30)

    def recent(row) -> bool:
        moment = parse_datetime(row.get("time") or "")
        return moment is not None and moment >= since

    used = [row for row in rows.get("face_attempts", []) if recent(row)]
    return {
        "consents": [row for row in rows.get("consents", []) if row["status"] == "granted"],
        "templates": rows.get("face_templates", []),
        "used": used,
        "used_where": sorted({str(row.get("where") or "") for row in used} - {""}),
        "buildings": [row["building"] for row in rows.get("memberships", []) if not row["left"]],
    }


def as_json(person) -> dict:
    return {
        "person": person.username,
        "generated_at": timezone.localtime().isoformat(),
        "sections": {
            s["key"]: {"title": str(s["title"]), "rows": s["rows"]} for s in collect(person)
        },
    }
