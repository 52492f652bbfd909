"""Filings: initial, change and de-registration recorded with date and reference, each with its
30-working-day clock; the initial filing's clock runs from the day the threshold was reached;
the filing materials download as one zip."""

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from django.utils import timezone

from portal import clock
from portal.models import AuditEntry
from recognition.rights import rules, services
from recognition.rights.models import Filing
from tests.factories import make_active_purpose

pytestmark = pytest.mark.django_db

PAGE = "/manage/filings/"


def test_the_order_of_filings_is_kept():
    today = date(2026, 6, 1)
    kw = {"duty_arose_on": date(2026, 5, 1), "filed_on": date(2026, 5, 20), "today": today}
    assert rules.filing_problem("initial", [], **kw) is None
    assert rules.filing_problem("change", [], **kw) == "no_initial"
    assert rules.filing_problem("deregistration", [], **kw) == "no_initial"
    assert rules.filing_problem("initial", ["initial"], **kw) == "already_registered"
    assert rules.filing_problem("change", ["initial"], **kw) is None
    assert rules.filing_problem("change", ["initial", "deregistration"], **kw) == "no_initial"
    assert rules.filing_problem("initial", ["initial", "deregistration"], **kw) is None
    late = {**kw, "filed_on": date(2026, 6, 2)}
    assert rules.filing_problem("initial", [], **late) == "filed_in_future"
    early = {**kw, "duty_arose_on": date(2026, 5, 21)}
    assert rules.filing_problem("initial", [], **early) == "duty_after_filing"


def test_filings_are_recorded_with_their_clock(client, sign_in, admin_a, settings):
    settings.FILING_HOLIDAYS = [date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5)]
    sign_in(admin_a)
    today = timezone.localdate(clock.now())
    arose = today - timedelta(days=60)
    response = client.post(
        PAGE,
        {
            "kind": "initial",
            "duty_arose_on": arose.isoformat(),
            "filed_on": (today - timedelta(days=1)).isoformat(),
            "reference": "SH-2026-0042",
            "authority": "Shanghai Cyberspace Administration",
        },
    )
    assert response.status_code == 302
    filing = Filing.objects.get()
    due = rules.filing_due_on(arose, settings.FILING_HOLIDAYS)
    page = client.get(PAGE).content.decode()
    assert "SH-2026-0042" in page and due.isoformat() in page
    assert ("late" in page) == (filing.filed_on > due)
    entry = AuditEntry.objects.get(event="filing.recorded")
    assert entry.data["on_time"] == (filing.filed_on <= due)
    assert entry.data["due_on"] == due.isoformat()


def test_a_change_before_the_initial_filing_is_refused(client, sign_in, admin_a):
    sign_in(admin_a)
    today = timezone.localdate(clock.now())
    for data in (
        {"kind": "change", "duty_arose_on": today, "filed_on": today, "reference": "x"},
        {"kind": "initial", "duty_arose_on": today, "filed_on": today + timedelta(days=3)},
        {"kind": "initial", "duty_arose_on": "soon", "filed_on": today, "reference": "x"},
    ):
        response = client.post(PAGE, {"authority": "Office", **data})
        assert response.status_code == 200
        assert b"error" in response.content
    assert not Filing.objects.exists()


def test_residents_and_staff_cannot_record_filings(client, sign_in, resident):
    sign_in(resident)
    today = timezone.localdate(clock.now()).isoformat()
    data = {"kind": "initial", "duty_arose_on": today, "filed_on": today, "reference": "x"}
    assert client.post(PAGE, {**data, "authority": "y"}).status_code == 404
    assert client.get("/manage/filings/materials.zip").status_code == 404
    assert not Filing.objects.exists()


def test_the_initial_filing_clock_runs_once_the_threshold_is_reached(
    client, sign_in, admin_a, settings
):
    from recognition.models import ThresholdCrossing

    sign_in(admin_a)
    assert b'id="filing-duty"' not in client.get(PAGE).content
    reached = timezone.localdate(clock.now()) - timedelta(days=3)
    ThresholdCrossing.objects.create(
        threshold=settings.FILING_THRESHOLD,
        reached_at=clock.now() - timedelta(days=3),
        reached_on=reached,
        source=ThresholdCrossing.CHECK,
        people=settings.FILING_THRESHOLD,
    )
    page = client.get(PAGE).content.decode()
    assert 'id="filing-duty"' in page
    assert rules.filing_due_on(reached).isoformat() in page
    services.record_filing(
        actor=admin_a,
        kind="initial",
        duty_arose_on=reached,
        filed_on=timezone.localdate(clock.now()),
        reference="R1",
        authority="Office",
    )
    assert 'id="filing-duty"' not in client.get(PAGE).content.decode()


def test_the_filing_materials_are_one_download(client, sign_in, admin_a, building_a):
    make_active_purpose(building_a, admin_a)
    services.record_filing(
        actor=admin_a,
        kind="initial",
        duty_arose_on=timezone.localdate(clock.now()),
        filed_on=timezone.localdate(clock.now()),
        reference="R1",
        authority="Office",
    )
    sign_in(admin_a)
    response = client.get("/manage/filings/materials.zip")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    for name in (
        "handler.json",
        "purposes_methods_assessments.json",
        "stored_count.json",
        "security_measures.json",
        "filings.json",
        "manifest.json",
        f"processing_rules/{building_a.pk}-en.html",
        f"processing_rules/{building_a.pk}-zh-hans.html",
    ):
        assert name in names, name
    purposes = json.loads(archive.read("purposes_methods_assessments.json"))
    assert purposes[0]["method"] and purposes[0]["assessments"][0]["approved_at"]
    assert json.loads(archive.read("filings.json"))[0]["reference"] == "R1"
    assert "人脸" in archive.read(f"processing_rules/{building_a.pk}-zh-hans.html").decode()
