"""Door galleries split across workers: which Celery queue carries a building's door work.

With ``DOOR_SHARDS`` = 1 (the default) every door task goes to the ``latency`` queue and every
worker on it may hold every gallery. With N > 1 a building's door tasks go to ``door-K``,
K a stable hash of the building id modulo N: the same on every machine and after every
restart (Python's own ``hash`` of a string is not). A worker consuming ``door-0,door-1`` warms
and holds the galleries of those shards' buildings only; another machine takes the next
shards' queues. Changing N moves buildings between shards: stop the door workers, change it on
every web and worker process, start them again (docs/deploy.md).

Plain functions over plain values: no ORM, no Celery.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

LATENCY_QUEUE = "latency"
DOOR_QUEUE_PREFIX = "door-"
_DOOR_QUEUE = re.compile(r"^door-(\d+)$")


def shard_of(building_id: int, shards: int) -> int:
    """The shard (0 to shards - 1) of a building: CRC-32 of its id in decimal, modulo."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    return zlib.crc32(str(int(building_id)).encode("ascii")) % shards


def door_queue(building_id: int, shards: int) -> str:
    """The queue that carries this building's door work."""
    if shards == 1:
        return LATENCY_QUEUE
    return f"{DOOR_QUEUE_PREFIX}{shard_of(building_id, shards)}"


def door_queues(shards: int) -> list[str]:
    """Every shard's queue (none besides ``latency`` when there is one shard)."""
    if shards == 1:
        return []
    return [f"{DOOR_QUEUE_PREFIX}{shard}" for shard in range(shards)]


def shards_served(queues: Iterable[str], shards: int) -> frozenset[int]:
    """The shards whose door work a worker consuming `queues` takes.

    One shard: a worker on ``latency`` takes it. Several: the ``door-K`` queues it consumes;
    a queue naming a shard past the count is ignored (it receives nothing)."""
    queues = set(queues)
    if shards == 1:
        return frozenset({0}) if LATENCY_QUEUE in queues else frozenset()
    served = set()
    for queue in queues:
        found = _DOOR_QUEUE.match(queue)
        if found and int(found.group(1)) < shards:
            served.add(int(found.group(1)))
    return frozenset(served)


def buildings_of(building_ids: Iterable[int], served: frozenset[int], shards: int) -> list[int]:
    """Those buildings whose shard is among `served`, in the order given."""
    return [b for b in building_ids if shard_of(b, shards) in served]
