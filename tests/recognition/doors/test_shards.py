"""Which queue carries a building's door work: a stable hash, the same on every machine."""

import subprocess
import sys
from collections import Counter

import pytest

from recognition.doors import shards
from tests.paths import REPO


def test_one_shard_keeps_door_work_on_the_latency_queue():
    assert {shards.door_queue(b, 1) for b in range(1, 500)} == {"latency"}
    assert shards.door_queues(1) == []


def test_the_shard_of_a_building_never_changes():
    # Fixed values (CRC-32 of the id): another hash would move buildings to other workers.
    assert [shards.door_queue(b, 4) for b in (1, 2, 3, 4, 5)] == [
        "door-3",
        "door-1",
        "door-3",
        "door-0",
        "door-2",
    ]


def test_the_shard_is_the_same_in_another_process():
    """Python's own hash of a string changes with every process; ours does not."""
    code = (
        "from recognition.doors import shards; "
        "print([shards.shard_of(b, 7) for b in range(1, 200)])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=REPO,
    ).stdout
    assert out.strip() == str([shards.shard_of(b, 7) for b in range(1, 200)])


def test_buildings_spread_evenly_over_shards():
    counts = Counter(shards.shard_of(b, 4) for b in range(1, 1001))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) >= 200 and max(counts.values()) <= 300


def test_a_worker_serves_the_shards_of_the_queues_it_consumes():
    assert shards.shards_served(["latency", "maintenance"], 1) == {0}
    assert shards.shards_served(["maintenance"], 1) == set()
    assert shards.shards_served(["latency", "door-0", "door-2"], 4) == {0, 2}
    # A worker on latency alone holds no door gallery once door work is sharded.
    assert shards.shards_served(["latency", "maintenance"], 4) == set()
    # Queues that name no shard of this count, or look alike, are ignored.
    assert shards.shards_served(["door-4", "door-x", "door-01x", "xdoor-1"], 4) == set()


def test_buildings_of_keeps_only_the_served_shards():
    buildings = list(range(1, 101))
    kept = shards.buildings_of(buildings, frozenset({1}), 4)
    assert kept and all(shards.shard_of(b, 4) == 1 for b in kept)
    assert len(kept) == sum(1 for b in buildings if shards.shard_of(b, 4) == 1)


def test_no_shard_count_below_one():
    with pytest.raises(ValueError):
        shards.shard_of(1, 0)
