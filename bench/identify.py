"""Door identification (1:N) speed against 10,000 and 100,000 enrolled templates, in one run,
beside the raw embedding time of the probe.

A scratch PostgreSQL database gets one building with two active identification purposes,
100,000 residents with granted consents, and encrypted templates: 10,000 for the first
purpose, 100,000 for the second. The gallery is synthetic: embeddings drawn around the real
Dlib embeddings of the photos in ../shared/faces, spread so that a real face is, at the
median, as far from a synthetic one as from a real face of someone else. One template in each
gallery is the real embedding of person_a_1.jpg; the probe is person_a_2.jpg, the stranger
person_b_1.jpg.

Measured in this process, with the real engine and the real database:
1. identify: `recognition.doors.identify.identify` with the gallery held in memory (one matrix
   product, then one round trip for the generation and the candidates), p50/p95, and its
   two parts alone;
2. raw embedding of the probe, and embedding + identification, alternating so that both see
   the same load;
3. what a worker pays once per gallery (decrypting every template) and after one enrolment
   (only the new template is decrypted).

    .venv/bin/python bench/identify.py [--runs 300] [--photos DIR] [--keep]

Target: identification adds under 20 ms at 100,000 templates.

4. the operating point of each gallery (recognition.doors.operating): the threshold that keeps a
   stranger's estimated chance to open at FACE_IDENTIFY_MAX_FALSE_OPEN, and the expected
   false-open rate per stranger attempt at the 1:1 threshold and at that operating point.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the workers (portal/celery.py)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _stack  # noqa: E402

DB = "portal_bench_identify"
REDIS_DB = 12
SIZES = (10_000, 100_000)
SEED = 20250601


def pct(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def real_embeddings(engine, photos: Path) -> dict[str, np.ndarray]:
    found = {}
    for path in sorted(photos.glob("person_*.jpg")):
        found[path.stem] = engine.embed(path.read_bytes())
    return found


def calibrated_spread(real: dict[str, np.ndarray], rng) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, per-dimension std, scale) such that a real face sits, at the median, as far from
    a synthetic one as from a real face of someone else."""
    from recognition.engine import cosine_distance

    names = list(real)
    vectors = np.stack([real[name] for name in names]).astype(np.float64)
    mean, std = vectors.mean(axis=0), vectors.std(axis=0) + 1e-6
    person = [name.rsplit("_", 1)[0] for name in names]
    different = [
        cosine_distance(vectors[i], vectors[j])
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if person[i] != person[j]
    ]
    target = statistics.median(different)
    low, high = 0.01, 20.0
    for _ in range(40):
        scale = (low + high) / 2
        sample = mean + rng.normal(size=(100, len(mean))) * std * scale
        median = statistics.median(
            cosine_distance(face, other) for face in vectors for other in sample
        )
        low, high = (scale, high) if median < target else (low, scale)
    return mean, std, (low + high) / 2


def make_purposes(building, admin):
    from consent import rules
    from consent.demo import DEMO_PURPOSES, activate_demo_purpose

    spec = next(s for s in DEMO_PURPOSES if s["fields"]["method"] == rules.IDENTIFICATION)
    purposes = []
    for size in SIZES:
        purpose = activate_demo_purpose(building, spec, actor=admin, name=f"Door ({size:,})")
        purposes.append(purpose)
    return purposes


def load_people(building, purposes, count: int) -> list[int]:
    """Residents with granted consents for every purpose, set-based; returns their ids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO portal_user (password, is_superuser, username, first_name, last_name,
                                     email, is_staff, is_active, date_joined)
            SELECT '!', false, 'resident' || n, '', '', '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO portal_membership (user_id, building_id, role, joined_at)
            SELECT id, %s, 'resident', now() FROM portal_user WHERE username LIKE 'resident%%'
            """,
            [building.pk],
        )
        cursor.execute(
            """
            INSERT INTO consent_consent (person_id, purpose_id, building_id, notice_id,
                notice_hash, status, decided_at, granted_at, channel, ip, user_agent,
                receipt_id, storage_consented_at)
            SELECT m.user_id, p.id, p.building_id, p.current_notice_id, n.text_hash,
                   'granted', now(), now(), 'web', '127.0.0.1', 'bench', gen_random_uuid(), now()
            FROM portal_membership m
            JOIN consent_purpose p ON p.building_id = m.building_id AND p.id = ANY(%s)
            JOIN consent_notice n ON n.id = p.current_notice_id
            WHERE m.role = 'resident'
            """,
            [[purpose.pk for purpose in purposes]],
        )
        cursor.execute("SELECT id FROM portal_user WHERE username LIKE 'resident%%' ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def load_templates(building, purpose, people, vectors, model_id: str) -> None:
    """Per-person data keys and encrypted templates through COPY (the encryption is the
    service's own)."""
    from django.db import connection

    from recognition.lifecycle import crypto, datakeys

    now = datetime.now(UTC)
    keys = datakeys.keys_for_reading(people)
    new = {person_id: os.urandom(32) for person_id in people if person_id not in keys}
    keys.update(new)
    columns = "person_id, purpose_id, building_id, model_id, ciphertext, created_at"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {datakeys.TABLE} (person_id, wrapped, created_at) FROM STDIN") as copy:
            for person_id, key in new.items():
                copy.write_row((person_id, datakeys.wrap(key, person_id), now))
        with raw.copy(f"COPY recognition_facetemplate ({columns}) FROM STDIN") as copy:
            for person_id, vector in zip(people, vectors, strict=True):
                copy.write_row(
                    (
                        person_id,
                        purpose.pk,
                        building.pk,
                        model_id,
                        crypto.seal_embedding(vector, person_id, keys[person_id]),
                        now,
                    )
                )
        cursor.execute("ANALYZE")
    from django.db import transaction

    from recognition.doors import identify

    with transaction.atomic():
        identify.bump([(building.pk, purpose.pk)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--photos", type=Path, default=_stack.REPO.parent / "shared" / "faces")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", default=DB, help="scratch database name")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)

    env = _stack.stack_env(args.database, REDIS_DB)
    _stack.recreate_database(args.database)
    _stack.use_in_this_process(env)
    try:
        run(args, rng)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _stack.drop_database(args.database)


def run(args, rng) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("prepare_face_model", verbosity=0)

    from django.conf import settings

    from portal.models import Building, Membership, User
    from recognition.doors import identify, operating
    from recognition.engine import get_engine

    engine = get_engine()
    probe_photo = (args.photos / "person_a_2.jpg").read_bytes()
    stranger_photo = (args.photos / "person_b_1.jpg").read_bytes()

    # 1. raw embedding of the probe
    engine.embed(probe_photo)
    raw = []
    for _ in range(max(10, args.runs // 10)):
        started = time.perf_counter()
        probe = engine.embed(probe_photo)
        raw.append(time.perf_counter() - started)
    stranger = engine.embed(stranger_photo)

    # The gallery: synthetic people around the real ones, and the real person_a_1.
    real = real_embeddings(engine, args.photos)
    mean, std, scale = calibrated_spread(real, rng)
    building = Building.objects.create(
        name="Bench", handler_name="Bench Co.", handler_contact="bench@example.com"
    )
    admin = User.objects.create_user("bench-admin", password="x")
    Membership.objects.create(user=admin, building=building, role="admin")
    purposes = make_purposes(building, admin)
    started = time.perf_counter()
    people = load_people(building, purposes, max(SIZES))
    synthetic = (mean + rng.normal(size=(max(SIZES), len(mean))) * std * scale).astype(np.float32)
    enrolled_at = {}
    for size, purpose in zip(SIZES, purposes, strict=True):
        vectors = synthetic[:size].copy()
        position = size // 2
        vectors[position] = real["person_a_1"]
        enrolled_at[size] = people[position]
        load_templates(building, purpose, people[:size], vectors, engine.model_id)
    print(
        f"loaded {len(people):,} people and {sum(SIZES):,} templates in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )

    rows = []
    for size, purpose in zip(SIZES, purposes, strict=True):
        identify.forget_all()
        started = time.perf_counter()
        gallery = identify.gallery_for(building.pk, purpose.pk, engine.model_id)
        cold = time.perf_counter() - started
        assert len(gallery) == size, len(gallery)

        def full(vector, purpose=purpose):
            return identify.identify(
                building.pk,
                purpose.pk,
                vector,
                model_id=engine.model_id,
                threshold=engine.threshold,
                impostor_fit=engine.impostor_fit,
                max_false_open=settings.FACE_IDENTIFY_MAX_FALSE_OPEN,
                margin=settings.FACE_IDENTIFY_MARGIN,
            )

        limit = operating.identification_threshold(
            engine.threshold,
            size,
            engine.impostor_fit,
            settings.FACE_IDENTIFY_MAX_FALSE_OPEN,
        )

        found = full(probe)
        missed = full(stranger)
        similarities = gallery.matrix @ identify.normalise(probe)[0]
        within = int(np.sum(1.0 - similarities <= engine.threshold))
        similarities = gallery.matrix @ identify.normalise(stranger)[0]
        stranger_within = int(np.sum(1.0 - similarities <= engine.threshold))
        search, checks, whole = [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            candidates, _closest = gallery.search(probe, engine.threshold)
            t1 = time.perf_counter()
            identify.check(building.pk, purpose.pk, [int(gallery.ids[r]) for r, _d in candidates])
            t2 = time.perf_counter()
            full(probe)
            t3 = time.perf_counter()
            search.append(t1 - t0)
            checks.append(t2 - t1)
            whole.append(t3 - t2)
        # One enrolment: the next identification reloads only the new template.
        newcomer = User.objects.create_user(
            f"newcomer-{size}", password="x", adult_attested_at=datetime.now(UTC)
        )
        Membership.objects.create(user=newcomer, building=building, role="resident")
        from consent import services as consent_services
        from recognition.lifecycle import services

        consent_services.grant_consent(
            newcomer,
            purpose,
            actor=newcomer,
            channel="web",
            ip=None,
            user_agent="bench",
            notice_hash=purpose.current_notice.text_hash,
            storage_consent=True,
        )
        services.store_template(newcomer, purpose, real["person_c_1"], engine.model_id)
        started = time.perf_counter()
        after = full(real["person_c_2"] if "person_c_2" in real else real["person_c_1"])
        reload_one = time.perf_counter() - started
        # Raw embedding and embedding + identification alternate, so both see the same load.
        alone, end_to_end = [], []
        for _ in range(max(10, args.runs // 10)):
            started = time.perf_counter()
            engine.embed(probe_photo)
            alone.append(time.perf_counter() - started)
            started = time.perf_counter()
            full(engine.embed(probe_photo))
            end_to_end.append(time.perf_counter() - started)
        rows.append(
            {
                "size": size,
                "cold": cold,
                "search_p50": statistics.median(search),
                "search_p95": pct(search, 0.95),
                "check_p50": statistics.median(checks),
                "identify_p50": statistics.median(whole),
                "identify_p95": pct(whole, 0.95),
                "reload_one": reload_one,
                "end_to_end": statistics.median(end_to_end),
                "alone": statistics.median(alone),
                "match_distance": found.distance,
                "probe_found": found.person_id == enrolled_at[size],
                "newcomer_found": after.person_id == newcomer.pk,
                "stranger_distance": missed.distance,
                "stranger_found": missed.person_id,
                "within": within,
                "limit": limit,
                "false_open_1to1": _false_open(engine, engine.threshold, size),
                "false_open_limit": _false_open(engine, limit, size),
                "stranger_within": stranger_within,
            }
        )

    raw_p50 = statistics.median(raw)
    print()
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"raw embedding of the probe, p50: {ms(raw_p50)} ms (p95 {ms(pct(raw, 0.95))} ms)")
    print(f"synthetic spread: {scale:.2f} x the per-dimension spread of the real photos")
    print()
    print(
        "| templates | identify p50 ms | identify p95 ms | of which search p50 ms | check p50 ms "
        "| raw embed p50 ms | embed + identify p50 ms | ratio | first load s "
        "| reload after 1 enrolment ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['size']:,} | {ms(row['identify_p50'])} | {ms(row['identify_p95'])} "
            f"| {ms(row['search_p50'])} | {ms(row['check_p50'])} | {ms(row['alone'])} "
            f"| {ms(row['end_to_end'])} | {row['end_to_end'] / row['alone']:.2f}x "
            f"| {row['cold']:.1f} | {ms(row['reload_one'])} |"
        )
    print()
    for row in rows:
        print(
            f"{row['size']:,}: probe identified: {row['probe_found']} at "
            f"{row['match_distance']:.4f} (newcomer identified: {row['newcomer_found']}; "
            f"templates within the threshold {engine.threshold}: {row['within']}); "
            f"stranger: closest {row['stranger_distance']:.4f}, "
            f"{row['stranger_within']} within the threshold, door opened: "
            f"{row['stranger_found'] is not None}"
        )
    print()
    for row in rows:
        if row["limit"] <= 0.0:
            print(
                f"{row['size']:,}: no threshold above 0 keeps a stranger's estimated chance "
                f"at {settings.FACE_IDENTIFY_MAX_FALSE_OPEN:.2%}: identification opens for no "
                f"one; {_rate(row['false_open_1to1'])} at the 1:1 threshold {engine.threshold}"
            )
            continue
        print(
            f"{row['size']:,}: operating threshold {row['limit']:.4f} "
            f"(1:1 threshold {engine.threshold}); expected false opens per stranger attempt: "
            f"{_rate(row['false_open_1to1'])} at the 1:1 threshold, "
            f"{_rate(row['false_open_limit'])} at the operating threshold"
        )


def _false_open(engine, threshold: float, size: int) -> float | None:
    from recognition.doors import operating

    if engine.impostor_fit is None:
        return None
    return operating.false_open_rate(threshold, size, engine.impostor_fit)


def _rate(value: float | None) -> str:
    return "unknown (no impostor fit for this model)" if value is None else f"{value:.2%}"


if __name__ == "__main__":
    main()
