"""The tamper-evident audit log: append-only entries, each hashed with the previous entry's hash.

`record()` is called inside the writer's transaction, so an entry exists exactly when the change
it describes was committed. Writers are serialised on a PostgreSQL advisory lock held until
commit, so the chain never forks. Entries carry ids and small facts only: never an image, an
embedding, a distance or any other biometric content (`record` refuses such keys).
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from portal import clock
from portal.audit.events import AuditEvent
from portal.models import AuditEntry

GENESIS = "0" * 64
# Any number fits; it only has to be the same for every writer of the chain.
_ADVISORY_LOCK_KEY = 0x5A_CE_C0_A5

# Keys that would carry biometric content; refused anywhere inside `data`.
FORBIDDEN_KEYS = frozenset(
    {
        "embedding",
        "embeddings",
        "vector",
        "ciphertext",
        "image",
        "photo",
        "picture",
        "frame",
        "distance",
        "distances",
        "similarity",
        "score",
        "landmarks",
    }
)


class BiometricContentError(ValueError):
    """Raised when an audit entry would hold biometric content."""


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _check_no_biometrics(value, path: str = "data") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_KEYS:
                raise BiometricContentError(f"{path}.{key} may not be written to the audit log")
            _check_no_biometrics(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        numbers = sum(isinstance(item, float) for item in value)
        if numbers >= 16:
            raise BiometricContentError(f"{path} looks like a vector and may not be logged")
        for item in value:
            _check_no_biometrics(item, path)


def entry_hash(
    prev_hash: str,
    *,
    at: datetime,
    event: str,
    actor_id: int | None,
    person_id: int | None,
    building_id: int | None,
    data: dict,
) -> str:
    fields = {
        "at": at.astimezone(UTC).isoformat(),
        "event": event,
        "actor": actor_id,
        "person": person_id,
        "building": building_id,
        "data": data,
    }
    return hashlib.sha256((prev_hash + canonical(fields)).encode()).hexdigest()


def _id(obj) -> int | None:
    if obj is None:
        return None
    return obj if isinstance(obj, int) else obj.pk


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def record(
    event: AuditEvent | str, *, actor=None, person=None, building=None, data: dict | None = None
) -> AuditEntry:
    """Appends one entry to the chain (within the caller's transaction) and returns it.

    `event` is one of `AuditEvent` (anything else is refused with ValueError). `actor`,
    `person` and `building` are model instances or ids. `data` is a small JSON-able dict of
    ids and facts; biometric content is refused with BiometricContentError.
    """
    event = AuditEvent(event).value
    data = json.loads(canonical(data or {}))
    _check_no_biometrics(data)
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        prev_hash = last or GENESIS
        at = clock.now().astimezone(UTC)
        fields = {
            "at": at,
            "event": event,
            "actor_id": _id(actor),
            "person_id": _id(person),
            "building_id": _id(building),
            "data": data,
        }
        return AuditEntry.objects.create(
            prev_hash=prev_hash, hash=entry_hash(prev_hash, **fields), **fields
        )


@dataclass
class Break:
    entry_id: int
    reason: str


def verify_chain(batch: int = 5000) -> Iterator[int | Break]:
    """Walks the whole chain in id order, streaming; yields each good id, or the first Break."""
    prev_hash = GENESIS
    rows = AuditEntry.objects.order_by("id").values_list(
        "id", "at", "event", "actor_id", "person_id", "building_id", "data", "prev_hash", "hash"
    )
    for (
        entry_id,
        at,
        event,
        actor_id,
        person_id,
        building_id,
        data,
        stored_prev,
        stored,
    ) in rows.iterator(chunk_size=batch):
        if stored_prev != prev_hash:
            yield Break(entry_id, "does not point to the entry before it")
            return
        expected = entry_hash(
            prev_hash,
            at=at,
            event=event,
            actor_id=actor_id,
            person_id=person_id,
            building_id=building_id,
            data=data,
        )
        if expected != stored:
            yield Break(entry_id, "content does not match its hash")
            return
        prev_hash = stored
        yield entry_id


def check_chain(trigger: str, batch: int = 5000):
    """Walks the whole chain, compares it with the latest signed checkpoint and keeps the result
    as an AuditCheck (returned); an intact chain gets a fresh checkpoint of its head.

    The dashboard shows the latest result; the scheduled task, the command and the evidence
    export each run a fresh walk.
    """
    from portal.audit import checkpoints
    from portal.models import AuditCheck, AuditCheckpoint

    started = clock.now()
    latest = AuditCheckpoint.objects.order_by("-id").first()
    entries = 0
    up_to_checkpoint = 0
    last_id = None
    broken: Break | None = None
    for result in verify_chain(batch):
        if isinstance(result, Break):
            broken = result
            break
        entries += 1
        last_id = result
        if latest is not None and result <= latest.entry_id:
            up_to_checkpoint += 1
    if broken is None and latest is not None and checkpoints.configured_key():
        finding = checkpoints.compare(
            latest,
            key=checkpoints.configured_key(),
            found_hash=AuditEntry.objects.filter(pk=latest.entry_id)
            .values_list("hash", flat=True)
            .first(),
            found_entries=up_to_checkpoint,
        )
        if finding is not None:
            broken = Break(finding.entry_id, finding.reason)
    check = AuditCheck.objects.create(
        started_at=started,
        finished_at=clock.now(),
        entries=entries,
        last_entry_id=last_id,
        intact=broken is None,
        break_entry_id=broken.entry_id if broken else None,
        break_reason=broken.reason[:200] if broken else "",
        trigger=trigger,
    )
    if broken is None and last_id is not None and (latest is None or latest.entry_id != last_id):
        head = AuditEntry.objects.filter(pk=last_id).values_list("hash", flat=True).first()
        checkpoints.make_checkpoint(entry_id=last_id, entry_hash=head, entries=entries)
    return check
