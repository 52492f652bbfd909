"""What rights adds to the evidence export, and the filing materials as one download.

The filing materials (Measures art. 15): the handler's details, the purposes and methods, the
stored count and the security measures, the processing rules and procedures, the impact
assessment reports, and the filings made. Counts and texts only: no person, no face data.
"""

import hashlib
import io
import json
import zipfile

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent import evidence
from portal import clock
from portal.models import AuditCheckpoint, Building
from recognition.rights import reports
from recognition.rights.models import Incident, RightsRequest

SECURITY_MEASURES = (
    gettext_lazy(
        "face templates only, never photos; each template encrypted (Fernet, AES-128-CBC with "
        "HMAC-SHA256) with keys kept outside the database"
    ),
    gettext_lazy(
        "templates deleted on withdrawal, when the person leaves, when the purpose is retired "
        "or its retention ends; every deletion recorded without biometric content"
    ),
    gettext_lazy("a non-face way in for every purpose; consent separate per purpose"),
    gettext_lazy(
        "building admins never see or export templates; a second factor is required for admins"
    ),
    gettext_lazy(
        "an append-only, hash-chained audit log; TRUNCATE, UPDATE and DELETE refused by the "
        "database; its head signed in checkpoints with a key kept outside the database"
    ),
)


def checkpoints() -> list[dict]:
    return [
        {
            "made_at": evidence.when(c.made_at),
            "head_entry_id": c.entry_id,
            "head_entry_hash": c.entry_hash,
            "entries": c.entries,
            "key_fingerprint": c.key_id,
            "signature_hmac_sha256": c.signature,
        }
        for c in AuditCheckpoint.objects.order_by("id")
    ]


def incidents(building_ids) -> list[dict]:
    return [
        reports.incident_report(i)
        for i in Incident.objects.filter(building_id__in=list(building_ids))
        .select_related("building")
        .order_by("found_at", "id")
    ]


def requests_rows(building_ids) -> list[list]:
    """One row per request: kind, dates, outcome; no person and no free text."""
    today = timezone.localdate(clock.now())
    rows = []
    for r in RightsRequest.objects.filter(building_id__in=list(building_ids)).order_by("id"):
        late = timezone.localdate(r.answered_at) > r.due_on if r.answered_at else today > r.due_on
        rows.append(
            [
                r.pk,
                r.building_id,
                r.kind,
                evidence.when(r.filed_at),
                r.due_on.isoformat(),
                r.status,
                evidence.when(r.answered_at),
                "yes" if late else "no",
            ]
        )
    return rows


REQUEST_HEADER = [
    "id",
    "building_id",
    "kind",
    "filed_at",
    "due_on",
    "status",
    "answered_at",
    "late",
]


def evidence_files(building_ids, to_json, to_csv) -> dict[str, bytes]:
    """The files this app adds to the evidence export."""
    return {
        "incidents.json": to_json(incidents(building_ids)),
        "requests.csv": to_csv(REQUEST_HEADER, requests_rows(building_ids)),
        "audit_checkpoints.json": to_json(checkpoints()),
        "filings.json": to_json(reports.filings_json()),
    }


def _json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def build_zip(building_ids, generated_by, now=None) -> bytes:
    """The filing materials as one zip with a manifest of SHA-256 sums."""
    from recognition.reporting.evidence import _filing

    now = now or clock.now()
    building_ids = list(building_ids)
    files: dict[str, bytes] = {
        "handler.json": _json(evidence.handler_details(building_ids)),
        "purposes_methods_assessments.json": _json(evidence.purposes_register(building_ids)),
        "stored_count.json": _json(_filing(now)),
        "security_measures.json": _json([str(m) for m in SECURITY_MEASURES]),
        "filings.json": _json(reports.filings_json()),
        "audit_checkpoints.json": _json(checkpoints()),
    }
    for building in Building.objects.filter(pk__in=building_ids).order_by("pk"):
        for language in ("en", "zh-hans"):
            with translation.override(language):
                files[f"processing_rules/{building.pk}-{language}.html"] = render_to_string(
                    "rights/public_rules_file.html",
                    {
                        "building": building,
                        "purposes": reports.public_purposes(building),
                        "attempt_retention_days": settings.ATTEMPT_RETENTION_DAYS,
                        "request_days": reports.rules.REQUEST_WORKING_DAYS,
                        "updated": timezone.localtime(now),
                        "LANGUAGE_CODE": language,
                    },
                ).encode()
    files["README.txt"] = (
        _("Filing materials (Measures art. 15), generated %(when)s by %(who)s.")
        % {"when": timezone.localtime(now).isoformat(), "who": generated_by.username}
    ).encode() + b"\n"
    manifest = {
        name: {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
        for name, body in sorted(files.items())
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in sorted(files.items()):
            archive.writestr(name, body)
        archive.writestr("manifest.json", _json(manifest))
    return buffer.getvalue()
