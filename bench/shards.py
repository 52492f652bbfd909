"""Door galleries sharded across workers: 1,000,000 templates over 1,000 buildings, 4 shards.

A scratch PostgreSQL database gets 1,000 buildings, each with one active identification
purpose and 1,000 residents with granted consents, per-person data keys and encrypted
templates (synthetic embeddings spread like real faces, as in bench/identify.py). In four
buildings, one per shard, one template is the real embedding of person_a_1.jpg.

Then, for each shard, two fresh processes do what a worker started with that shard's queue
does before it forks (`identify.warm` of the shard's buildings, recognition/tasks.py):
1. with no snapshot: every template decrypted (as before snapshots), then the shard's
   gallery snapshots written from what it holds (recognition/doors/snapshots.py);
2. a restart: the cold start from those snapshots, with the resident memory before and after,
   then door identification of person_a_2.jpg in that shard's real-face building: the raw
   embedding of the probe and embedding + identification alternate under the same load, p50
   of each and their ratio (goal: within 1.05x).

    .venv/bin/python bench/shards.py [--buildings 1000] [--per-building 1000] [--shards 4]
    .venv/bin/python bench/shards.py --load-only          # load and keep the database
    .venv/bin/python bench/shards.py --reuse --keep       # measure on the kept database
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the workers (portal/celery.py)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _stack  # noqa: E402
from bench.identify import calibrated_spread, real_embeddings  # noqa: E402

DB = "portal_bench_shards"
REDIS_DB = 7
SEED = 20250601
PHOTOS = _stack.REPO.parent / "shared" / "faces"


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def make_purposes(buildings, admin) -> dict[int, int]:
    """{building id: purpose id}: one identification purpose each, through the services."""
    from consent import rules
    from consent.demo import DEMO_PURPOSES, activate_demo_purpose

    spec = next(s for s in DEMO_PURPOSES if s["fields"]["method"] == rules.IDENTIFICATION)
    purposes = {}
    for building in buildings:
        purpose = activate_demo_purpose(building, spec, actor=admin)
        purposes[building.pk] = purpose.pk
    return purposes


def load_people(per_building: int) -> None:
    """per_building residents in every building, consents granted, set-based."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO portal_user (password, is_superuser, username, first_name, last_name,
                                     email, is_staff, is_active, date_joined)
            SELECT '!', false, 'r' || b.id || '-' || n, '', '', '', false, true, now()
            FROM portal_building b, generate_series(1, %s) AS n
            """,
            [per_building],
        )
        cursor.execute(
            """
            INSERT INTO portal_membership (user_id, building_id, role, joined_at)
            SELECT u.id, split_part(substr(u.username, 2), '-', 1)::bigint, 'resident', now()
            FROM portal_user u WHERE u.username LIKE 'r%%-%%'
            """
        )
        cursor.execute(
            """
            INSERT INTO consent_consent (person_id, purpose_id, building_id, notice_id,
                notice_hash, status, decided_at, granted_at, channel, ip, user_agent,
                receipt_id, storage_consented_at)
            SELECT m.user_id, p.id, p.building_id, p.current_notice_id, n.text_hash,
                   'granted', now(), now(), 'web', '127.0.0.1', 'bench', gen_random_uuid(), now()
            FROM portal_membership m
            JOIN consent_purpose p ON p.building_id = m.building_id
            JOIN consent_notice n ON n.id = p.current_notice_id
            WHERE m.role = 'resident'
            """
        )


def load_templates(purposes, mean, std, scale, real_at: dict[int, np.ndarray], model_id, rng):
    """Per-person data keys and encrypted templates through COPY, building by building (the
    service's encryption, as in bench/identify.py)."""
    from django.db import connection, transaction

    from recognition.doors import identify
    from recognition.lifecycle import crypto, datakeys

    now = datetime.now(UTC)
    columns = "person_id, purpose_id, building_id, model_id, ciphertext, created_at"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for building_id, purpose_id in purposes.items():
            cursor.execute(
                "SELECT user_id FROM portal_membership WHERE building_id = %s "
                "AND role = 'resident' ORDER BY user_id",
                [building_id],
            )
            people = [row[0] for row in cursor.fetchall()]
            keys = {person_id: os.urandom(32) for person_id in people}
            vectors = (mean + rng.normal(size=(len(people), len(mean))) * std * scale).astype(
                np.float32
            )
            if building_id in real_at:
                vectors[len(people) // 2] = real_at[building_id]
            with raw.copy(
                f"COPY {datakeys.TABLE} (person_id, wrapped, created_at) FROM STDIN"
            ) as copy:
                for person_id, key in keys.items():
                    copy.write_row((person_id, datakeys.wrap(key, person_id), now))
            with raw.copy(f"COPY recognition_facetemplate ({columns}) FROM STDIN") as copy:
                for person_id, vector in zip(people, vectors, strict=True):
                    copy.write_row(
                        (
                            person_id,
                            purpose_id,
                            building_id,
                            model_id,
                            crypto.seal_embedding(vector, person_id, keys[person_id]),
                            now,
                        )
                    )
        cursor.execute("ANALYZE")
    with transaction.atomic():
        identify.bump(list(purposes.items()))


def build(args) -> dict:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("prepare_face_model", verbosity=0)
    from portal.models import Building, Membership, User
    from recognition.engine import get_engine

    rng = np.random.default_rng(SEED)
    engine = get_engine()
    real = real_embeddings(engine, PHOTOS)
    mean, std, scale = calibrated_spread(real, rng)
    started = time.perf_counter()
    Building.objects.bulk_create(
        Building(name=f"Tower {n}", handler_name="Bench Co.", handler_contact="b@example.com")
        for n in range(args.buildings)
    )
    buildings = list(Building.objects.order_by("pk"))
    admin = User.objects.create_user("bench-admin", password="x")
    Membership.objects.bulk_create(
        Membership(user=admin, building=b, role="admin") for b in buildings
    )
    purposes = make_purposes(buildings, admin)
    load_people(args.per_building)
    real_at = {building_id: real["person_a_1"] for building_id in probes_of(args.shards).values()}
    load_templates(purposes, mean, std, scale, real_at, engine.model_id, rng)
    loaded = time.perf_counter() - started
    print(
        f"loaded {args.buildings:,} buildings, {args.buildings * args.per_building:,} people "
        f"and templates in {loaded:.0f} s",
        flush=True,
    )
    return probes_of(args.shards)


def probes_of(shards_count: int) -> dict[str, int]:
    """{shard: building id} of the building in each shard that holds the real face (the
    first of the shard's buildings, by id)."""
    from portal.models import Building
    from recognition.doors import shards

    probes: dict[str, int] = {}
    for building_id in Building.objects.order_by("pk").values_list("pk", flat=True):
        probes.setdefault(str(shards.shard_of(building_id, shards_count)), building_id)
    return probes


def cold_from_templates(shard: int, shards_count: int) -> dict:
    """A worker of this shard started with no snapshot: every template decrypted, as before
    snapshots; then the shard's snapshots written from what it holds."""
    from recognition.doors import identify, shards, snapshots
    from recognition.engine import engine_from_settings
    from recognition.models import GallerySnapshot

    model_id = engine_from_settings().model_id
    mine = [
        (b, p)
        for b, p in GallerySnapshot.objects.values_list("building_id", "purpose_id")
        if shards.shard_of(b, shards_count) == shard
    ]
    snapshots.discard(mine)
    started = time.perf_counter()
    held = identify.warm(
        model_id,
        keep=lambda b: shards.shard_of(b, shards_count) == shard,
        write_snapshots=False,
    )
    cold = time.perf_counter() - started
    started = time.perf_counter()
    for (building_id, purpose_id), gallery in list(identify._galleries.items()):
        snapshots.save(building_id, purpose_id, gallery)
    written = time.perf_counter() - started
    return {"templates": held, "cold_templates_s": cold, "snapshots_written_s": written}


def one_shard(shard: int, shards_count: int, probe_building: int, runs: int) -> dict:
    """What a worker of this shard does before it forks (from its snapshots), then door
    identification."""
    from recognition.doors import identify, shards
    from recognition.engine import engine_from_settings, get_engine
    from recognition.models import FaceTemplate

    model_id = engine_from_settings().model_id
    before = rss()
    started = time.perf_counter()
    held = identify.warm(model_id, keep=lambda b: shards.shard_of(b, shards_count) == shard)
    cold = time.perf_counter() - started
    after = rss()
    buildings = len(identify.held())
    engine = get_engine()
    probe_photo = (PHOTOS / "person_a_2.jpg").read_bytes()
    purpose_id = (
        FaceTemplate.objects.filter(building_id=probe_building)
        .values_list("purpose_id", flat=True)
        .first()
    )
    engine.embed(probe_photo)
    alone, end_to_end, identify_only = [], [], []
    found = None
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.embed(probe_photo)
        t1 = time.perf_counter()
        probe = engine.embed(probe_photo)
        t2 = time.perf_counter()
        found = identify.identify(
            probe_building, purpose_id, probe, model_id=model_id, threshold=engine.threshold
        )
        t3 = time.perf_counter()
        alone.append(t1 - t0)
        end_to_end.append(t3 - t1)
        identify_only.append(t3 - t2)
    return {
        "shard": shard,
        "buildings": buildings,
        "templates": held,
        "cold_s": cold,
        "memory_before_mb": before / 2**20,
        "memory_after_mb": after / 2**20,
        "raw_p50_ms": statistics.median(alone) * 1000,
        "end_to_end_p50_ms": statistics.median(end_to_end) * 1000,
        "identify_p50_ms": statistics.median(identify_only) * 1000,
        "ratio": statistics.median(end_to_end) / statistics.median(alone),
        "identified": found is not None and found.person_id is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--per-building", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--load-only", action="store_true", help="load and keep the database, measure nothing"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on the database a --keep run left"
    )
    parser.add_argument("--shard", type=int, help=argparse.SUPPRESS)  # the child's own shard
    parser.add_argument("--probe-building", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--from-templates", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = _stack.stack_env(DB, REDIS_DB)
    if args.shard is not None:
        _stack.use_in_this_process(env)
        if args.from_templates:
            result = cold_from_templates(args.shard, args.shards)
        else:
            result = one_shard(args.shard, args.shards, args.probe_building, args.runs)
        print(json.dumps(result))
        return
    if not args.reuse:
        _stack.recreate_database(DB)
    _stack.use_in_this_process(env)
    try:
        if args.reuse:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            probes = probes_of(args.shards)
        else:
            probes = build(args)
        from django.db import connections

        connections.close_all()
        if args.load_only:
            return
        rows = []
        for shard in range(args.shards):
            common = [sys.executable, __file__, "--shards", str(args.shards)]
            common += ["--shard", str(shard)]
            first = child(common + ["--from-templates"])
            print(json.dumps(first), flush=True)
            second = child(
                common + ["--probe-building", str(probes[str(shard)]), "--runs", str(args.runs)]
            )
            rows.append({**second, **{k: first[k] for k in first if k != "templates"}})
            print(json.dumps(rows[-1]), flush=True)
        report(rows)
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.load_only):
            _stack.drop_database(DB)


def child(command: list[str]) -> dict:
    """A fresh process (nothing held, as a restarted worker) and its JSON answer."""
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(rows) -> None:
    print()
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        "| shard | buildings | templates | cold start from templates s | snapshots written s "
        "| cold start from snapshots s | ratio | worker memory before / after MB "
        "| raw embed p50 ms | embed + identify p50 ms | identify alone p50 ms | ratio "
        "| probe identified |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['shard']} | {r['buildings']:,} | {r['templates']:,} "
            f"| {r['cold_templates_s']:.2f} | {r['snapshots_written_s']:.2f} | {r['cold_s']:.2f} "
            f"| {r['cold_s'] / r['cold_templates_s']:.3f}x "
            f"| {r['memory_before_mb']:.0f} / {r['memory_after_mb']:.0f} "
            f"| {r['raw_p50_ms']:.1f} | {r['end_to_end_p50_ms']:.1f} "
            f"| {r['identify_p50_ms']:.2f} | {r['ratio']:.3f}x | {r['identified']} |"
        )


if __name__ == "__main__":
    main()
