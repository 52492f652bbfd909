"""The evidence export holds the incidents, the requests (without people), the signed audit
checkpoints and the filings, and only those of the admin's buildings."""

import csv
import io
import json
import zipfile

import pytest
from django.utils import timezone

from portal import clock
from recognition.rights import services
from tests.factories import grant, make_active_purpose
from tests.rights.data import INCIDENT_FIELDS

pytestmark = pytest.mark.django_db


def test_the_export_holds_incidents_requests_checkpoints_and_filings(
    client, sign_in, admin_a, admin_b, building_a, building_b, resident
):
    purpose = make_active_purpose(building_a, admin_a)
    grant(resident, purpose)
    services.record_incident(
        building_a, actor=admin_a, purposes=[purpose], found_at=clock.now(), **INCIDENT_FIELDS
    )
    other = make_active_purpose(building_b, admin_b)
    services.record_incident(
        building_b,
        actor=admin_b,
        purposes=[other],
        found_at=clock.now(),
        **{**INCIDENT_FIELDS, "title": "Elsewhere"},
    )
    services.file_request(resident, building=building_a, kind="copy", details="My own words")
    today = timezone.localdate(clock.now())
    services.record_filing(
        actor=admin_a,
        kind="initial",
        duty_arose_on=today,
        filed_on=today,
        reference="SH-1",
        authority="Office",
    )
    sign_in(admin_a)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/manage/evidence.zip").content))
    incidents = json.loads(archive.read("incidents.json"))
    assert [i["title"] for i in incidents] == [INCIDENT_FIELDS["title"]]
    assert incidents[0]["people_affected"] == 1
    requests = list(csv.reader(io.StringIO(archive.read("requests.csv").decode("utf-8-sig"))))
    assert requests[0][:3] == ["id", "building_id", "kind"] and requests[1][2] == "copy"
    assert "My own words" not in archive.read("requests.csv").decode("utf-8-sig")
    assert "resident" not in archive.read("requests.csv").decode("utf-8-sig")
    points = json.loads(archive.read("audit_checkpoints.json"))
    assert points and points[-1]["signature_hmac_sha256"]  # the export's own check signed one
    audit_check = json.loads(archive.read("audit_chain.json"))
    assert points[-1]["head_entry_id"] == audit_check["last_entry_id"]
    assert json.loads(archive.read("filings.json"))[0]["reference"] == "SH-1"
