"""Signed checkpoints of the audit chain's head: what a database owner cannot forge.

The hash chain alone proves nothing against someone who can write the table: they may delete the
newest entries, or rewrite one and re-hash every entry after it. A checkpoint keeps the head
(entry id, its hash, how many entries up to it) signed with HMAC-SHA256 under
AUDIT_CHECKPOINT_KEY, a key read from the environment and never stored in the database. Each
walk over the chain compares what it found with the latest checkpoint: the signed entry gone or
fewer entries up to it means entries are missing; another hash means the chain was rewritten.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from portal import clock

MISSING = "missing"
REWRITTEN = "rewritten"
FORGED = "forged"


def key_id(key: str) -> str:
    """A short fingerprint of the key, kept beside each signature (never the key itself)."""
    return hashlib.sha256(b"audit-checkpoint-key:" + key.encode()).hexdigest()[:16]


def signature(key: str, *, entry_id: int, entry_hash: str, entries: int, made_at: datetime) -> str:
    """HMAC-SHA256 over the checkpoint's fields in a fixed text form.

    >>> when = datetime(2026, 1, 1, tzinfo=UTC)
    >>> len(signature("k", entry_id=1, entry_hash="a" * 64, entries=1, made_at=when))
    64
    """
    message = f"{entry_id}|{entry_hash}|{entries}|{made_at.astimezone(UTC).isoformat()}"
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Finding:
    kind: str  # MISSING, REWRITTEN or FORGED
    entry_id: int
    reason: str


def compare(checkpoint, *, key: str, found_hash: str | None, found_entries: int) -> Finding | None:
    """Compares the latest checkpoint with what the walk found (pure: no queries).

    `found_hash` is the hash of the entry with the checkpoint's id in the database now (None if
    there is none); `found_entries` how many entries the intact walk counted up to that id.
    """
    if checkpoint.key_id != key_id(key) or not hmac.compare_digest(
        checkpoint.signature,
        signature(
            key,
            entry_id=checkpoint.entry_id,
            entry_hash=checkpoint.entry_hash,
            entries=checkpoint.entries,
            made_at=checkpoint.made_at,
        ),
    ):
        return Finding(
            FORGED,
            checkpoint.entry_id,
            "the latest checkpoint's signature does not verify with the configured key",
        )
    if found_hash is None or found_entries < checkpoint.entries:
        return Finding(
            MISSING,
            checkpoint.entry_id,
            f"entries are missing: the checkpoint of {checkpoint.made_at:%Y-%m-%d %H:%M} UTC "
            f"signed {checkpoint.entries} entries up to entry {checkpoint.entry_id}, "
            f"{found_entries} are there",
        )
    if not hmac.compare_digest(found_hash, checkpoint.entry_hash):
        return Finding(
            REWRITTEN,
            checkpoint.entry_id,
            f"the chain was rewritten: entry {checkpoint.entry_id} no longer has the hash the "
            f"checkpoint of {checkpoint.made_at:%Y-%m-%d %H:%M} UTC signed",
        )
    return None


def configured_key() -> str:
    return settings.AUDIT_CHECKPOINT_KEY


def make_checkpoint(*, entry_id: int, entry_hash: str, entries: int):
    """Signs and keeps the head the walk just found intact (None without a key)."""
    from portal.models import AuditCheckpoint

    key = configured_key()
    if not key:
        return None
    made_at = clock.now().astimezone(UTC).replace(microsecond=0)
    return AuditCheckpoint.objects.create(
        entry_id=entry_id,
        entry_hash=entry_hash,
        entries=entries,
        made_at=made_at,
        key_id=key_id(key),
        signature=signature(
            key, entry_id=entry_id, entry_hash=entry_hash, entries=entries, made_at=made_at
        ),
    )
