"""Signed checkpoints of the audit chain: a shortened or re-hashed chain is caught, a forged
checkpoint is caught, TRUNCATE is refused; the key lives in the environment, not the database."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from portal import audit
from portal.audit import checkpoints
from portal.models import AuditCheck, AuditCheckpoint, AuditEntry
from tests.factories import grant

pytestmark = pytest.mark.django_db


def _tamper(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE consent_auditentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE consent_auditentry ENABLE TRIGGER USER")


def _rehash_from(first_id):
    """What a database owner would do: re-hash every entry from `first_id` on."""
    prev = (
        AuditEntry.objects.filter(id__lt=first_id)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
        or audit.GENESIS
    )
    for entry in AuditEntry.objects.filter(id__gte=first_id).order_by("id"):
        new = audit.entry_hash(
            prev,
            at=entry.at,
            event=entry.event,
            actor_id=entry.actor_id,
            person_id=entry.person_id,
            building_id=entry.building_id,
            data=entry.data,
        )
        _tamper(
            "UPDATE consent_auditentry SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev, new, entry.pk],
        )
        prev = new


def test_an_intact_check_signs_the_head_and_the_signature_verifies(resident, purpose, settings):
    grant(resident, purpose)
    check = audit.check_chain(AuditCheck.MANUAL)
    assert check.intact
    point = AuditCheckpoint.objects.get()
    head = AuditEntry.objects.order_by("-id").first()
    assert (point.entry_id, point.entry_hash) == (head.pk, head.hash)
    assert point.entries == AuditEntry.objects.count()
    assert settings.AUDIT_CHECKPOINT_KEY not in str(
        AuditCheckpoint.objects.values().get()
    )  # only a signature and a key fingerprint are stored
    assert point.signature == checkpoints.signature(
        settings.AUDIT_CHECKPOINT_KEY,
        entry_id=point.entry_id,
        entry_hash=point.entry_hash,
        entries=point.entries,
        made_at=point.made_at,
    )


def test_deleting_the_newest_entries_is_caught(resident, purpose):
    grant(resident, purpose)
    assert audit.check_chain(AuditCheck.MANUAL).intact
    head = AuditEntry.objects.order_by("-id").first()
    _tamper("DELETE FROM consent_auditentry WHERE id >= %s", [head.pk - 1])
    check = audit.check_chain(AuditCheck.MANUAL)
    assert not check.intact
    assert check.break_entry_id == head.pk
    assert "missing" in check.break_reason
    assert AuditCheckpoint.objects.count() == 1  # a broken chain is not signed


def test_rewriting_and_rehashing_the_chain_is_caught(resident, purpose):
    grant(resident, purpose)
    assert audit.check_chain(AuditCheck.MANUAL).intact
    entries = list(AuditEntry.objects.order_by("id"))
    victim = entries[1]
    _tamper(
        "UPDATE consent_auditentry SET data = %s WHERE id = %s", ['{"purpose": 999}', victim.pk]
    )
    _rehash_from(victim.pk)
    assert all(not isinstance(r, audit.Break) for r in audit.verify_chain())  # the chain agrees
    check = audit.check_chain(AuditCheck.MANUAL)
    assert not check.intact
    assert "rewritten" in check.break_reason
    assert check.break_entry_id == entries[-1].pk


def test_a_checkpoint_forged_in_the_database_is_caught(resident, purpose):
    grant(resident, purpose)
    assert audit.check_chain(AuditCheck.MANUAL).intact
    # The database owner deletes the newest entry and writes a checkpoint of the new head.
    entries = list(AuditEntry.objects.order_by("id"))
    _tamper("DELETE FROM consent_auditentry WHERE id = %s", [entries[-1].pk])
    previous = entries[-2]
    forged = checkpoints.signature(
        "a guessed key",
        entry_id=previous.pk,
        entry_hash=previous.hash,
        entries=len(entries) - 1,
        made_at=AuditCheckpoint.objects.get().made_at,
    )
    AuditCheckpoint.objects.create(
        made_at=AuditCheckpoint.objects.get().made_at,
        entry_id=previous.pk,
        entry_hash=previous.hash,
        entries=len(entries) - 1,
        key_id=AuditCheckpoint.objects.get().key_id,
        signature=forged,
    )
    check = audit.check_chain(AuditCheck.MANUAL)
    assert not check.intact
    assert "signature" in check.break_reason


def test_a_new_checkpoint_only_when_the_head_moved(resident, purpose):
    assert audit.check_chain(AuditCheck.MANUAL).intact
    audit.check_chain(AuditCheck.MANUAL)
    assert AuditCheckpoint.objects.count() == 1
    grant(resident, purpose)
    assert audit.check_chain(AuditCheck.MANUAL).intact
    assert AuditCheckpoint.objects.count() == 2


def test_without_a_key_nothing_is_signed(resident, purpose, settings):
    settings.AUDIT_CHECKPOINT_KEY = ""
    assert audit.check_chain(AuditCheck.MANUAL).intact
    assert not AuditCheckpoint.objects.exists()


def test_the_database_refuses_truncate(purpose):
    count = AuditEntry.objects.count()
    assert count > 0
    with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL portal.audit_truncate = off")
            cursor.execute("TRUNCATE consent_auditentry")
    assert AuditEntry.objects.count() == count


def test_after_a_key_change_the_check_fails_until_the_head_is_signed_again(
    resident, purpose, settings, capsys
):
    from django.core.management import call_command

    assert audit.check_chain(AuditCheck.MANUAL).intact
    settings.AUDIT_CHECKPOINT_KEY = "a-new-key-" + "n" * 40
    assert "signature" in audit.check_chain(AuditCheck.MANUAL).break_reason
    call_command("sign_audit_checkpoint", "--reason", "yearly rotation")
    assert "new key" in capsys.readouterr().out
    assert AuditEntry.objects.order_by("-id").first().event == "audit.checkpoint_key_changed"
    grant(resident, purpose)
    assert audit.check_chain(AuditCheck.MANUAL).intact
