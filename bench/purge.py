"""The purge at scale: 1,000,000 face templates, 10% lapsed across every reason, in PostgreSQL.

Creates a scratch database `portal_bench_purge` (dropped at the end) and migrates it, then
loads buildings, purposes, notices, people, memberships, consents, face templates (each with a
ciphertext of the real size, about 780 bytes) and attempt logs with INSERT ... SELECT over
generate_series: nothing is created row by row. The lapsed rows are copied aside once; then,
round after round, our purge (`purge_lapsed_templates`, batches, records, re-checks) and a
raw `DELETE ... WHERE` of the same rows run one after the other, each starting from the same
table (rows restored from the copy, then VACUUM ANALYZE). Both must leave exactly the same
rows behind. Peak RSS of this process is reported before and after our purge.

    .venv/bin/python bench/purge.py [--templates 1000000] [--rounds 3] [--keep]

Needs PostgreSQL on 127.0.0.1:5432 (BENCH_PG_URL to override; the user must create databases).
"""

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = "portal_bench_purge"
BUILDINGS = 100
PURPOSES_PER_BUILDING = 4
ATTEMPTS_PER_TEMPLATE = 0.5


# The raw baseline: one statement, the same rule (policy_query.LAPSE_SQL), no batches, no
# records, no re-check. Built once Django is set up; constant SQL text, every value a parameter.
def lapsed_ids() -> str:
    from recognition.policy_query import LAPSE_SQL

    return f"SELECT id FROM ({LAPSE_SQL}) AS classified WHERE reason IS NOT NULL"  # noqa: S608


def raw_delete_templates() -> str:
    return f"DELETE FROM recognition_facetemplate WHERE id IN ({lapsed_ids()})"  # noqa: S608


def set_aside_templates() -> str:
    return (
        f"CREATE TABLE bench_templates AS SELECT * FROM recognition_facetemplate "  # noqa: S608
        f"WHERE id IN ({lapsed_ids()})"
    )


RAW_DELETE_ATTEMPTS = "DELETE FROM recognition_attempt WHERE created_at < %(attempts_before)s"


def recreate_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def setup_django() -> None:
    os.environ["TEST_DATABASE_URL"] = f"{SERVER}/{BENCH_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load(templates: int) -> None:
    """Everything in a handful of INSERT ... SELECT statements.

    Person p (1..people) lives in building p % BUILDINGS and holds a consent and a template
    for each of that building's purposes. What lapses, by design (about 10% in all):
    purposes of the first four buildings' slot 0 are retired (1%); p % 100 = 50 left (1%);
    p % 100 = 51 is 10 and consented alone (1%); by a hash of the consent, 2% withdrawn,
    2% expired, 1.5% awaiting renewal past the grace period, 1.5% past the template's own
    retention. Kept on purpose: p % 100 = 52 is 10 with a guardian's grant; 1.5% await
    renewal within the grace period; everything else runs for months.
    """
    import numpy as np
    from django.db import connection

    from recognition.lifecycle import crypto

    people = templates // PURPOSES_PER_BUILDING
    vector = np.random.default_rng(1).standard_normal(128).astype(np.float32)
    # One ring-encrypted (pre per-person keys) ciphertext for every row: the purge never
    # decrypts, and per-person keys would only add key rows that the purge then sweeps.
    ciphertext = crypto.fernet().encrypt(vector.astype("<f4").tobytes())
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            """
            INSERT INTO portal_building (name, address, handler_name, handler_contact, created_at,
                                         door_backup_codes)
            SELECT 'Building ' || b, '', 'Handler ' || b, 'h@example.com', now(), false
            FROM generate_series(0, %s - 1) AS b
            """,
            [BUILDINGS],
        )
        cursor.execute(
            """
            INSERT INTO consent_purpose (building_id, name, specific_purpose,
                necessity_and_impact, method, kind, audience, storage, retention_days,
                until_person_leaves, alternatives, status, created_at, activated_at,
                public_security)
            SELECT b.id, 'Purpose ' || k, 'Purpose ' || k, 'Convenience.',
                   CASE WHEN k %% 2 = 0 THEN 'identification' ELSE 'verification' END,
                   CASE WHEN k %% 2 = 0 THEN 'door_access' ELSE 'portal_sign_in' END,
                   'both', 'on_premises',
                   365, true, '["card"]'::jsonb,
                   CASE WHEN k = 0 AND b.rank < 4 THEN 'retired' ELSE 'active' END,
                   now() - interval '400 days', now() - interval '400 days', false
            FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rank FROM portal_building) b
            CROSS JOIN generate_series(0, %s - 1) AS k
            """,
            [PURPOSES_PER_BUILDING],
        )
        cursor.execute(
            """
            INSERT INTO consent_notice (purpose_id, version, handler_name, handler_contact,
                data_collected, terms, texts, text_hash, requires_renewal, published_at)
            SELECT id, 1, 'Handler', 'h@example.com', 'One template.', '{}'::jsonb,
                   '{}'::jsonb, md5(id::text) || md5(id::text), false, now() - interval '400 days'
            FROM consent_purpose
            """
        )
        cursor.execute(
            """
            UPDATE consent_purpose p SET current_notice_id = n.id
            FROM consent_notice n WHERE n.purpose_id = p.id
            """
        )
        cursor.execute(
            """
            INSERT INTO portal_user (id, password, is_superuser, username, first_name, last_name,
                                     email, is_staff, is_active, date_joined, birth_date)
            SELECT p, '!', false, 'p' || p, '', '', '', false, true, now(),
                   CASE WHEN p %% 100 IN (51, 52) THEN date '2016-05-01' END
            FROM generate_series(1, %s) AS p
            """,
            [people],
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('portal_user', 'id'), max(id)) FROM portal_user"
        )
        cursor.execute(
            """
            INSERT INTO portal_membership (user_id, building_id, role, joined_at, left_at)
            SELECT u.id, b.id, 'resident', now() - interval '500 days',
                   CASE WHEN u.id %% 100 = 50 THEN now() - interval '1 day' END
            FROM portal_user u
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rank FROM portal_building) b
              ON b.rank = u.id %% %s
            """,
            [BUILDINGS],
        )
        cursor.execute(
            """
            CREATE TEMPORARY TABLE plan AS
            SELECT m.user_id AS person_id, p.id AS purpose_id, p.building_id,
                   p.current_notice_id AS notice_id,
                   ((m.user_id::bigint * 4 + p.id) * 2654435761) %% 1000 AS h
            FROM portal_membership m JOIN consent_purpose p ON p.building_id = m.building_id
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO consent_consent (person_id, purpose_id, building_id, notice_id,
                notice_hash, status, decided_at, granted_at, withdrawn_at, renewal_needed_at,
                expires_at, granted_by_id, channel, ip, user_agent, receipt_id)
            SELECT x.person_id, x.purpose_id, x.building_id, x.notice_id, 'h',
                   CASE WHEN x.h < 20 THEN 'withdrawn' ELSE 'granted' END,
                   now() - interval '100 days', now() - interval '100 days',
                   CASE WHEN x.h < 20 THEN now() - interval '2 days' END,
                   CASE WHEN x.h >= 40 AND x.h < 55 THEN now() - interval '40 days'
                        WHEN x.h >= 55 AND x.h < 70 THEN now() - interval '5 days' END,
                   CASE WHEN x.h >= 20 AND x.h < 40 THEN now() - interval '1 day'
                        ELSE now() + interval '265 days' END,
                   CASE WHEN x.person_id %% 100 = 52 THEN x.person_id - 1 END,
                   'web', '127.0.0.1', 'bench', gen_random_uuid()
            FROM plan x
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO recognition_facetemplate (person_id, purpose_id, building_id, model_id,
                                                  ciphertext, created_at, lapses_at)
            SELECT x.person_id, x.purpose_id, x.building_id, 'Dlib', %s,
                   now() - interval '100 days',
                   CASE WHEN x.h >= 70 AND x.h < 85 THEN now() - interval '1 hour'
                        ELSE now() + interval '1 day' * (100 + x.h) END
            FROM plan x
            """,
            [ciphertext],
        )
        cursor.execute(
            """
            INSERT INTO recognition_attempt (person_id, building_id, channel, method, result,
                                             detail, liveness, created_at)
            SELECT 1 + (n %% %s), (SELECT min(id) FROM portal_building) + n %% %s,
                   'door', 'face', 'match', '', '',
                   CASE WHEN n %% 10 = 0 THEN now() - interval '200 days'
                        ELSE now() - interval '1 day' * (n %% 170) END
            FROM generate_series(1, %s) AS n
            """,
            [people, BUILDINGS, int(templates * ATTEMPTS_PER_TEMPLATE)],
        )
        cursor.execute("DROP TABLE plan")
        cursor.execute("VACUUM ANALYZE")


def cutoff_params() -> dict:
    from portal import clock
    from recognition.lifecycle.purge import Cutoffs

    cutoffs = Cutoffs.at(clock.now())
    return cutoffs.params() | {"attempts_before": cutoffs.attempts_before}


def set_aside(cursor) -> tuple[int, int]:
    """Copies the rows the raw statements would delete (the reference set) into side tables."""
    params = cutoff_params()
    cursor.execute("DROP TABLE IF EXISTS bench_templates, bench_attempts")
    cursor.execute(set_aside_templates(), params)
    cursor.execute(
        "CREATE TABLE bench_attempts AS SELECT * FROM recognition_attempt "
        "WHERE created_at < %(attempts_before)s",
        params,
    )
    cursor.execute("SELECT count(*) FROM bench_templates")
    lapsed = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM bench_attempts")
    return lapsed, cursor.fetchone()[0]


def restore(cursor) -> None:
    cursor.execute(
        "INSERT INTO recognition_facetemplate SELECT * FROM bench_templates "
        "ON CONFLICT (id) DO NOTHING"
    )
    cursor.execute(
        "INSERT INTO recognition_attempt SELECT * FROM bench_attempts ON CONFLICT (id) DO NOTHING"
    )
    cursor.execute("VACUUM ANALYZE recognition_facetemplate, recognition_attempt")
    cursor.execute("CHECKPOINT")


def check_same_rows_gone(cursor, total_templates: int, lapsed: int) -> None:
    cursor.execute(
        "SELECT count(*) FROM recognition_facetemplate t JOIN bench_templates b ON b.id = t.id"
    )
    assert cursor.fetchone()[0] == 0, "a lapsed template survived"
    cursor.execute("SELECT count(*) FROM recognition_facetemplate")
    assert cursor.fetchone()[0] == total_templates - lapsed, "a kept template was deleted"
    cursor.execute(
        "SELECT count(*) FROM recognition_attempt a JOIN bench_attempts b ON b.id = a.id"
    )
    assert cursor.fetchone()[0] == 0, "an old attempt log survived"


BATCH_SECONDS: list[float] = []  # each batch's DELETE statement, the longest lock we hold


def _time_batches(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        if sql.lstrip().startswith("WITH doomed"):
            BATCH_SECONDS.append(time.perf_counter() - started)


def time_ours() -> tuple[float, dict, float, float]:
    from django.db import connection

    from recognition.lifecycle.purge import purge_lapsed_templates

    before = peak_rss_mb()
    started = time.perf_counter()
    with connection.execute_wrapper(_time_batches):
        counts = purge_lapsed_templates(trigger="manual")
    seconds = time.perf_counter() - started
    return seconds, counts, before, peak_rss_mb()


def time_raw(cursor) -> float:
    from django.db import transaction

    params = cutoff_params()
    started = time.perf_counter()
    with transaction.atomic():
        cursor.execute(raw_delete_templates(), params)
        cursor.execute(RAW_DELETE_ATTEMPTS, params)
    return time.perf_counter() - started


def time_concurrent(runs: int) -> tuple[float, list[dict]]:
    from django.db import connection

    from recognition.lifecycle.purge import purge_lapsed_templates

    results, barrier = [], threading.Barrier(runs)

    def run():
        barrier.wait()
        results.append(purge_lapsed_templates(trigger="manual"))
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, help="PURGE_BATCH_SIZE for our purge")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.batch_size:
        os.environ["PURGE_BATCH_SIZE"] = str(args.batch_size)

    recreate_database()
    try:
        setup_django()
        from django.conf import settings
        from django.db import connection

        started = time.perf_counter()
        load(args.templates)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM recognition_facetemplate")
            total = cursor.fetchone()[0]
            cursor.execute(
                "SELECT avg(octet_length(ciphertext))::int FROM recognition_facetemplate"
            )
            size = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM recognition_attempt")
            attempts = cursor.fetchone()[0]
            lapsed, old_attempts = set_aside(cursor)
            cursor.execute(
                "SELECT pg_size_pretty(pg_total_relation_size('recognition_facetemplate'))"
            )
            table_size = cursor.fetchone()[0]
        print(
            f"loaded {total:,} templates ({size} bytes of ciphertext each, table {table_size}), "
            f"{lapsed:,} lapsed ({lapsed / total:.1%}); {attempts:,} attempt logs, "
            f"{old_attempts:,} past retention; {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        print(f"batch size {settings.PURGE_BATCH_SIZE:,}", flush=True)

        ours, raw, peaks = [], [], []
        by_reason = {}
        for round_number in range(1, args.rounds + 1):
            # Alternate which goes first, so a busy moment of the machine hits both alike.
            order = ("ours", "raw") if round_number % 2 else ("raw", "ours")
            for which in order:
                with connection.cursor() as cursor:
                    if which == "raw":
                        raw_seconds = time_raw(cursor)
                    else:
                        seconds, counts, rss_before, rss_after = time_ours()
                    check_same_rows_gone(cursor, total, lapsed)
                    restore(cursor)
            assert sum(counts.values()) - counts["attempt_logs"] == lapsed, counts
            ours.append(seconds)
            raw.append(raw_seconds)
            peaks.append((rss_before, rss_after))
            by_reason = counts
            print(
                f"round {round_number} ({' then '.join(order)}): ours {seconds:.2f} s, "
                f"raw DELETE {raw_seconds:.2f} s ({seconds / raw_seconds:.2f}x); peak RSS "
                f"{rss_before:.0f} -> {rss_after:.0f} MB, RSS now {current_rss_mb():.0f} MB; "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        concurrent_seconds, results = time_concurrent(2)
        summed = {k: sum(r[k] for r in results) for k in results[0]}
        with connection.cursor() as cursor:
            check_same_rows_gone(cursor, total, lapsed)
        assert summed == by_reason, (summed, by_reason)

        print(f"\nper reason: {by_reason}")
        print(
            f"two purges at once: {concurrent_seconds:.2f} s together, counts summed equal one "
            f"run's ({[sum(r.values()) for r in results]})\n"
        )
        print("| | median s | runs |\n|---|---|---|")
        print(
            f"| our purge | {statistics.median(ours):.2f} | {', '.join(f'{s:.2f}' for s in ours)} |"
        )
        print(
            f"| raw DELETE | {statistics.median(raw):.2f} | {', '.join(f'{s:.2f}' for s in raw)} |"
        )
        ratios = [o / r for o, r in zip(ours, raw, strict=True)]
        print(f"\nratio of the medians: {statistics.median(ours) / statistics.median(raw):.2f}x")
        print(f"median of the per-round ratios: {statistics.median(ratios):.2f}x")
        print(f"peak RSS before/after our purge: {peaks[0][0]:.0f} / {peaks[-1][1]:.0f} MB")
        longest, median = max(BATCH_SECONDS), statistics.median(BATCH_SECONDS)
        print(
            f"batch statements: {len(BATCH_SECONDS)}, median {median:.2f} s, "
            f"longest {longest:.2f} s"
        )
        connection.close()
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
