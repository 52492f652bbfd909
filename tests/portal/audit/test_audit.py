"""The audit log: chained, append-only in the database, tampering detected, no biometrics."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from portal import audit
from portal.models import AuditEntry
from tests.factories import grant

pytestmark = pytest.mark.django_db


def test_entries_are_chained(resident, purpose):
    grant(resident, purpose)
    entries = list(AuditEntry.objects.order_by("id"))
    assert entries[0].prev_hash == audit.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    assert [e.event for e in entries][-1] == "consent.granted"
    assert entries[-1].person_id == resident.pk


def test_verify_audit_chain_passes_on_an_intact_chain(resident, purpose, capsys):
    grant(resident, purpose)
    call_command("verify_audit_chain")
    assert "intact" in capsys.readouterr().out


def test_database_refuses_update_and_delete(purpose):
    entry = AuditEntry.objects.order_by("id").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(event="nothing.happened")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


def _tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE consent_auditentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE consent_auditentry ENABLE TRIGGER USER")


def test_tampering_with_one_row_is_detected(resident, purpose):
    grant(resident, purpose)
    entries = list(AuditEntry.objects.order_by("id"))
    victim = entries[len(entries) // 2]
    _tamper(
        "UPDATE consent_auditentry SET data = %s WHERE id = %s",
        ['{"purpose": 999}', victim.pk],
    )
    with pytest.raises(CommandError) as error:
        call_command("verify_audit_chain")
    assert f"entry {victim.pk}" in str(error.value)


def test_deleting_one_row_is_detected(resident, purpose):
    grant(resident, purpose)
    entries = list(AuditEntry.objects.order_by("id"))
    _tamper("DELETE FROM consent_auditentry WHERE id = %s", [entries[2].pk])
    with pytest.raises(CommandError) as error:
        call_command("verify_audit_chain")
    assert f"entry {entries[3].pk}" in str(error.value)


def test_biometric_content_is_refused():
    with pytest.raises(audit.BiometricContentError):
        audit.record("face.enrolled", data={"template_id": 1, "embedding": [0.1] * 128})
    with pytest.raises(audit.BiometricContentError):
        audit.record("face.verified", data={"result": {"distance": 0.05}})
    with pytest.raises(audit.BiometricContentError):
        audit.record("face.verified", data={"values": [0.1] * 64})
    entry = audit.record("face.enrolled", data={"template_id": 1, "model": "Dlib"})
    assert entry.data == {"template_id": 1, "model": "Dlib"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def write(n):
        try:
            for i in range(10):
                audit.record("person.invited", data={"writer": n, "i": i})
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    assert AuditEntry.objects.count() == 40
    results = list(audit.verify_chain())
    assert all(isinstance(r, int) for r in results) and len(results) == 40
