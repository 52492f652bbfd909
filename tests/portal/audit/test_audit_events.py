"""Audit events come from one list: every event the code writes is an `AuditEvent`."""

import ast

import pytest

from portal import audit
from portal.audit.events import AuditEvent, label
from tests.paths import REPO

# Calls that hand one of their arguments to audit.record as the event: which one.
WRITERS = {"record": 0, "_record": 0, "_audit_decision": 0, "revoke_once": 1}


def _written_events() -> list[tuple[str, int, str]]:
    found = []
    for app in ("portal", "consent", "recognition", "rights"):
        for path in (REPO / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in WRITERS or len(node.args) <= WRITERS[name]:
                    continue
                event = node.args[WRITERS[name]]
                if isinstance(event, ast.Constant) and isinstance(event.value, str):
                    if "." in event.value:
                        found.append((str(path.relative_to(REPO)), node.lineno, event.value))
    return found


def test_the_code_writes_audit_events_and_the_scan_finds_them():
    assert len(_written_events()) >= 20


@pytest.mark.parametrize("where", _written_events(), ids=lambda w: f"{w[0]}:{w[1]}")
def test_every_event_written_is_in_the_one_list(where):
    path, line, event = where
    assert event in AuditEvent.values, f"{path}:{line} writes {event!r}, not an AuditEvent"


def test_every_event_has_its_own_words():
    labels = [str(member.label) for member in AuditEvent]
    assert len(set(labels)) == len(labels)
    assert label("consent.granted") == "consent given"
    assert label("no.such_event") == "no.such_event"


@pytest.mark.django_db
def test_an_event_outside_the_list_is_refused_and_nothing_is_written():
    from portal.models import AuditEntry

    with pytest.raises(ValueError):
        audit.record("consent.maybe")
    assert not AuditEntry.objects.exists()
