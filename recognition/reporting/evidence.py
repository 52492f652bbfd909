"""The evidence export: one zip of JSON and CSV files for an auditor or a filing.

It holds the handler's details, every purpose with its notices and impact assessments, the
location and device register, consent figures per purpose, fallback-parity figures, purge
records, a fresh check of the audit chain and the filing figures. It never holds a template,
an embedding, a distance, a photo, a device key or its hash: it is built from counts, dates
and texts only, and no query here selects those columns.
"""

import csv
import hashlib
import io
import json
import zipfile

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent import evidence
from consent.dashboard import CONSENT_COLUMNS, consent_figures
from portal import audit, clock
from portal.models import AuditCheck
from recognition.models import Device, Location, PurgeRecord
from recognition.reporting import dashboard, tally

FILE_NOTES = (
    ("handler.json", _("the personal information handler of each building, with contacts")),
    (
        "purposes.json",
        _(
            "every purpose: terms, status, every notice version (both languages, fingerprint) "
            "and every impact assessment (PIPIA) with its approval and keeping date"
        ),
    ),
    ("purposes.csv, notices.csv, assessments.csv", _("the same as tables")),
    (
        "locations.csv",
        _(
            "every location: type of place, whether a face device may stand there, the "
            "public-security justification and the sign of public areas"
        ),
    ),
    (
        "devices.csv",
        _(
            "every device: location, purpose, registered, revoked, last contact, attempts "
            "in the window by method (no keys, no key hashes)"
        ),
    ),
    (
        "consent_figures.csv",
        _("decisions per purpose: granted, renewal needed, refused, withdrawn, ended"),
    ),
    (
        "fallback_parity.csv",
        _(
            "portal sign-ins (the whole portal) and door openings (these buildings) in the "
            "window, with and without the face, accepted and refused, failure rate"
        ),
    ),
    ("fallback_parity_daily.csv", _("the same per day")),
    ("purge_records.csv", _("every deletion of face data: when, why, how many (no person)")),
    ("audit_chain.json", _("a check of the whole hash-chained audit log, run for this export")),
    (
        "filing.json",
        _(
            "distinct people with stored face data across the operator, the 100,000-person "
            "threshold, the day it was reached and the filing deadline"
        ),
    ),
    (
        "incidents.json",
        _("every security incident: what, data, cause, harm, measures, people counted, timeline"),
    ),
    ("requests.csv", _("every request of a person: kind, filed, due, answered, late (no person)")),
    (
        "audit_checkpoints.json",
        _("every signed checkpoint of the audit chain's head (the key is not in the database)"),
    ),
    ("filings.json", _("every filing recorded: kind, dates, reference, the 30-working-day clock")),
    ("manifest.json", _("every file with its SHA-256")),
)


def readme(generated_at: str, generated_by: str, buildings: str, since: str) -> str:
    lines = [
        str(_("Evidence export of the face-consent portal")),
        "",
        str(
            _("Generated %(when)s by %(who)s, for: %(buildings)s. Window: since %(since)s.")
            % {"when": generated_at, "who": generated_by, "buildings": buildings, "since": since}
        ),
        "",
    ]
    lines += [f"{name}\n    {note}" for name, note in FILE_NOTES]
    lines += ["", str(_("No face template, embedding, distance or photo is in this export."))]
    return "\n".join(lines) + "\n"


def _json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


# A cell a spreadsheet would read as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral_cell(value):
    """A CSV cell that no spreadsheet runs as a formula: text starting with =, +, -, @, a tab
    or a carriage return gets a leading apostrophe; numbers stay numbers.

    >>> print(neutral_cell('=HYPERLINK("http://x")'), neutral_cell(-3), neutral_cell("Lobby"))
    '=HYPERLINK("http://x") -3 Lobby
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv(header: list[str], rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutral_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet programs read UTF-8


def _locations(building_ids) -> bytes:
    rows = []
    locations = (
        Location.objects.filter(building_id__in=building_ids)
        .select_related("building")
        .annotate(devices_in_service=Count("devices", filter=Q(devices__revoked_at__isnull=True)))
        .order_by("building__name", "name", "id")
    )
    for location in locations:
        placement = location.placement()
        rows.append(
            [
                location.pk,
                location.building.name,
                location.name,
                location.kind,
                "yes" if placement.allowed else "no",
                placement.reason,
                location.security_justification,
                "yes" if location.sign_confirmed else "no",
                location.devices_in_service,
            ]
        )
    return _csv(
        [
            "id",
            "building",
            "name",
            "type",
            "face_device_allowed",
            "why_not",
            "public_security_justification",
            "prominent_sign",
            "devices_in_service",
        ],
        rows,
    )


def _devices(building_ids, since) -> bytes:
    devices = (
        Device.objects.filter(building_id__in=building_ids)
        .select_related("building", "location", "purpose")
        .only(
            "building",
            "location",
            "purpose",
            "name",
            "created_at",
            "revoked_at",
            "last_contact_at",
            "building__name",
            "location__name",
            "location__kind",
            "purpose__name",
        )
        .order_by("building__name", "name", "id")
    )
    counts = tally.device_counts([d.pk for d in devices], since)
    rows = []
    for device in devices:
        n = counts.get(device.pk, {})
        rows.append(
            [
                device.pk,
                device.building.name,
                device.name,
                device.location.name,
                device.location.kind,
                device.purpose.name if device.purpose_id else "",
                evidence.when(device.created_at),
                evidence.when(device.revoked_at),
                evidence.when(device.last_contact_at),
                n.get("face", 0),
                n.get("code", 0),
                n.get("refused", 0),
            ]
        )
    return _csv(
        [
            "id",
            "building",
            "name",
            "location",
            "location_type",
            "face_purpose",
            "registered_at",
            "revoked_at",
            "last_contact_at",
            "face_attempts",
            "code_attempts",
            "refused_attempts",
        ],
        rows,
    )


def _purge_records(building_ids) -> bytes:
    records = (
        PurgeRecord.objects.filter(building_id__in=building_ids)
        .order_by("-finished_at", "-id")
        .values_list(
            "run_id",
            "building__name",
            "reason",
            "trigger",
            "started_at",
            "finished_at",
            "templates_deleted",
            "attempts_deleted",
        )
    )
    tz = timezone.get_current_timezone()
    return _csv(
        [
            "run",
            "building",
            "reason",
            "trigger",
            "started_at",
            "finished_at",
            "templates_deleted",
            "attempt_logs_deleted",
        ],
        (
            [
                run,
                building,
                reason,
                trigger,
                started.astimezone(tz).isoformat(),
                finished.astimezone(tz).isoformat(),
                templates,
                attempts,
            ]
            for run, building, reason, trigger, started, finished, templates, attempts in (
                records.iterator(chunk_size=5000)
            )
        ),
    )


def _purposes_tables(register: list[dict]) -> dict[str, bytes]:
    purposes = _csv(
        [
            "id",
            "building",
            "name",
            "status",
            "method",
            "specific_purpose",
            "retention_days",
            "until_person_leaves",
            "non_face_alternatives",
            "activated_at",
            "retired_at",
            "current_notice_version",
            "latest_assessment_approved_at",
        ],
        (
            [
                p["id"],
                p["building"],
                p["name"],
                p["status"],
                p["method"],
                p["specific_purpose"],
                p["retention_days"],
                p["until_person_leaves"],
                " ".join(p["non_face_alternatives"]),
                p["activated_at"],
                p["retired_at"],
                next((n["version"] for n in p["notices"] if n["id"] == p["current_notice_id"]), ""),
                max((a["approved_at"] for a in p["assessments"] if a["approved_at"]), default=""),
            ]
            for p in register
        ),
    )
    notices = _csv(
        ["purpose_id", "purpose", "version", "published_at", "requires_renewal", "sha256"],
        (
            [
                p["id"],
                p["name"],
                n["version"],
                n["published_at"],
                n["requires_renewal"],
                n["fingerprint_sha256"],
            ]
            for p in register
            for n in p["notices"]
        ),
    )
    assessments = _csv(
        ["purpose_id", "purpose", "id", "written_at", "approved_at", "approved_by", "keep_until"],
        (
            [
                p["id"],
                p["name"],
                a["id"],
                a["written_at"],
                a["approved_at"],
                a["approved_by"],
                a["keep_until"],
            ]
            for p in register
            for a in p["assessments"]
        ),
    )
    return {"purposes.csv": purposes, "notices.csv": notices, "assessments.csv": assessments}


def _filing(now) -> dict:
    status, crossing = dashboard.filing_figures(now)
    return {
        "scope": str(_("every building of this portal (the whole operator), each person once")),
        "people_with_stored_face_data": status.people,
        "threshold": status.threshold,
        "warning_from": status.warning_from,
        "state": status.state,
        "threshold_reached_on": evidence.when(status.reached_on),
        "reached_recorded_by": crossing.source if crossing else None,
        "filing_deadline": evidence.when(status.deadline),
        "working_days_left": status.working_days_left,
        "overdue": status.overdue,
        "holidays_excluded": [d.isoformat() for d in settings.FILING_HOLIDAYS],
        "weekend_working_days": [d.isoformat() for d in settings.FILING_WORKDAYS],
        "rule": str(
            _(
                "Measures art. 15: file within 30 working days of reaching 100,000 people; the "
                "day it was reached is not counted."
            )
        ),
    }


def _audit_check() -> dict:
    check = audit.check_chain(AuditCheck.EXPORT)
    return {
        "checked_at": evidence.when(check.finished_at),
        "intact": check.intact,
        "entries_checked_intact": check.entries,
        "last_entry_id": check.last_entry_id,
        "first_broken_entry_id": check.break_entry_id,
        "break_reason": check.break_reason,
        "method": str(
            _(
                "each entry's SHA-256 over the previous entry's hash and its own content, "
                "recomputed from the first entry to the last"
            )
        ),
    }


def build_zip(building_ids, generated_by, now=None) -> bytes:
    now = now or clock.now()
    building_ids = list(building_ids)
    since = tally.window_start(now, dashboard.WINDOW_DAYS)
    handler = evidence.handler_details(building_ids)
    register = evidence.purposes_register(building_ids)
    figures = consent_figures([p["id"] for p in register])
    parity = dashboard.parity(building_ids, since)
    files: dict[str, bytes] = {
        "handler.json": _json(handler),
        "purposes.json": _json(register),
        **_purposes_tables(register),
        "locations.csv": _locations(building_ids),
        "devices.csv": _devices(building_ids, since),
        "consent_figures.csv": _csv(
            ["purpose_id", "building", "purpose", "status", *[key for key, _l in CONSENT_COLUMNS]],
            (
                [
                    p["id"],
                    p["building"],
                    p["name"],
                    p["status"],
                    *[figures.get(p["id"], {}).get(key, 0) for key, _l in CONSENT_COLUMNS],
                ]
                for p in register
            ),
        ),
        "fallback_parity.csv": _csv(
            ["channel", "method", "accepted", "refused", "failure_rate", "since"],
            (
                [
                    row.channel,
                    row.method,
                    row.accepted,
                    row.refused,
                    "" if row.failure_rate is None else f"{row.failure_rate:.4f}",
                    evidence.when(since),
                ]
                for row in parity
            ),
        ),
        "fallback_parity_daily.csv": _csv(
            ["day", "channel", "building_id", "method", "accepted", "refused"],
            (
                [t.day.isoformat(), t.channel, t.building_id or "", t.method, t.accepted, t.refused]
                for t in tally.daily_rows(building_ids, timezone.localdate(since))
            ),
        ),
        "purge_records.csv": _purge_records(building_ids),
        "audit_chain.json": _json(_audit_check()),
        "filing.json": _json(_filing(now)),
    }
    from recognition.rights.filing_materials import evidence_files  # rights builds on recognition

    files.update(evidence_files(building_ids, _json, _csv))
    generated_at = timezone.localtime(now).isoformat()
    buildings = ", ".join(b["building"] for b in handler)
    files["README.txt"] = readme(
        generated_at, generated_by.username, buildings, evidence.when(since)
    ).encode()
    manifest = {
        "generated_at": generated_at,
        "generated_by": generated_by.username,
        "buildings": handler,
        "files": {
            name: {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
            for name, body in sorted(files.items())
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in sorted(files.items()):
            archive.writestr(name, body)
        archive.writestr("manifest.json", _json(manifest))
    return buffer.getvalue()
