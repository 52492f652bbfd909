"""The compliance dashboard with 100,000 people and 1,000,000 consent rows: p50/p95 time and
query count, for an admin of one building and for an admin of every building.

Creates a scratch PostgreSQL database `portal_bench_dashboard` (dropped at the end), migrates
it, makes purposes through the services, then loads people, memberships, consents (a share
awaiting renewal), face templates (some people enrolled in two buildings), door devices,
sign-in and door attempts of both methods, purge records and audit checks with set-based SQL
(INSERT ... SELECT over generate_series); nothing is created row by row. The attempt tally
and the audit-chain check then run once, as Celery beat runs them. Pages are requested
through Django's test client with the full middleware stack, signed in with password + code.
The evidence export is timed once per admin as well.

    .venv/bin/python bench/dashboard.py [--people 100000] [--runs 50] [--rounds 3] [--keep]
    .venv/bin/python bench/dashboard.py --measure-only [--keep]   # again, on a kept database

Needs PostgreSQL on 127.0.0.1:5432 (BENCH_PG_URL to override; the user must create databases).
"""

import argparse
import os
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = "portal_bench_dashboard"
BUILDINGS = 10
PURPOSES_PER_BUILDING = 10  # every person decides on each purpose of their building
SECOND_BUILDING_SHARE = 10  # one person in this many also lives in a second building
ENROLLED_PERCENT = 85  # people with a template: over the 80,000 warning line at 100,000 people
ATTEMPTS = 600_000  # over the last 60 days: half inside the dashboard's 30-day window
DEVICES_PER_BUILDING = 3
PURGE_RECORDS = 60_000


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


def make_purposes(operator):
    """Buildings, one admin of the first and `operator` admin of all, with a card issued in
    each; purposes through the services (half 1:1 verification, half door identification),
    all active."""
    from consent import rules, services
    from portal.models import Building, Membership
    from recognition.entry.cards import issue_card
    from tests.factories import ASSESSMENT, TEXTS

    buildings = Building.objects.bulk_create(
        Building(name=f"Building {n:02d}", handler_name="Handler Co.", handler_contact="c@x")
        for n in range(1, BUILDINGS + 1)
    )
    Membership.objects.bulk_create(
        Membership(user=operator, building=building, role="admin") for building in buildings
    )
    for building in buildings:
        # A notice may promise cards only where the building has issued one.
        issue_card(operator, building, f"BENCH{building.pk:06d}", actor=operator)
        for n in range(PURPOSES_PER_BUILDING):
            purpose = services.create_purpose(
                building,
                actor=operator,
                name=f"Purpose {n}",
                specific_purpose=f"Purpose {n} of {building.name}",
                necessity_and_impact="Convenience.",
                method=rules.IDENTIFICATION if n % 2 else rules.VERIFICATION,
                kind=rules.KIND_DOOR if n % 2 else rules.KIND_SIGN_IN,
                storage=rules.STORAGE_ON_PREMISES,
                retention_days=365,
                until_person_leaves=True,
                alternatives=["card", "door_code"],
            )
            assessment = services.create_assessment(purpose, actor=operator, **ASSESSMENT)
            services.approve_assessment(assessment, actor=operator)
            services.publish_notice(purpose, actor=operator, texts=TEXTS, data_collected="One.")
            services.activate_purpose(purpose, actor=operator)
    return buildings


LOAD = [
    # People.
    """
    INSERT INTO portal_user (password, is_superuser, username, first_name, last_name, email,
                             is_staff, is_active, date_joined)
    SELECT '!', false, 'r' || n, '', '', '', false, true, now()
    FROM generate_series(1, %(people)s) AS n
    """,
    # Each person lives in one building; one in SECOND_BUILDING_SHARE in a second one too.
    """
    INSERT INTO portal_membership (user_id, building_id, role, joined_at)
    SELECT u.id, %(first_building)s + (u.rn %% %(buildings)s),
           CASE WHEN u.rn %% 20 = 0 THEN 'staff' ELSE 'resident' END, now()
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn
          FROM portal_user WHERE username LIKE 'r%%') AS u
    UNION ALL
    SELECT u.id, %(first_building)s + ((u.rn + 1) %% %(buildings)s), 'resident', now()
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn
          FROM portal_user WHERE username LIKE 'r%%') AS u
    WHERE u.rn %% %(second_share)s = 0
    """,
    # A decision on every purpose of the home building; on one purpose of a second building.
    # 70% granted (5% of these awaiting renewal), 15% refused, 15% withdrawn.
    """
    INSERT INTO consent_consent (person_id, purpose_id, building_id, notice_id, notice_hash,
        status, decided_at, granted_at, refused_at, withdrawn_at, renewal_needed_at,
        expires_at, channel, ip, user_agent, receipt_id)
    SELECT m.user_id, p.id, p.building_id, p.current_notice_id, n.text_hash, s.status,
           now() - interval '1 day' * ((m.user_id + p.id) %% 300),
           CASE WHEN s.status <> 'refused' THEN now() - interval '300 days' END,
           CASE WHEN s.status = 'refused' THEN now() - interval '300 days' END,
           CASE WHEN s.status = 'withdrawn' THEN now() - interval '1 day' END,
           CASE WHEN s.status = 'granted' AND (m.user_id + p.id) %% 20 = 0
                THEN now() - interval '2 days' END,
           now() + interval '65 days', 'web', '127.0.0.1', 'bench', gen_random_uuid()
    FROM portal_membership m
    JOIN (SELECT user_id, min(id) AS home FROM portal_membership GROUP BY user_id) h
        ON h.user_id = m.user_id
    JOIN consent_purpose p ON p.building_id = m.building_id
    JOIN consent_notice n ON n.id = p.current_notice_id
    CROSS JOIN LATERAL (SELECT CASE (m.user_id * 7 + p.id) %% 20
                           WHEN 0 THEN 'refused' WHEN 1 THEN 'refused' WHEN 2 THEN 'refused'
                           WHEN 3 THEN 'withdrawn' WHEN 4 THEN 'withdrawn' WHEN 5 THEN 'withdrawn'
                           ELSE 'granted' END AS status) AS s
    WHERE m.role <> 'admin'
      AND (m.id = h.home OR p.name = 'Purpose 0')
    """,
    # Templates: ENROLLED_PERCENT of people, for their home building's first purpose, and the
    # two-building people for their second building too (one person, two templates).
    """
    INSERT INTO recognition_facetemplate (person_id, purpose_id, building_id, model_id,
                                          ciphertext, created_at, lapses_at)
    SELECT m.user_id, p.id, p.building_id, 'Dlib-bench',
           decode(md5(m.user_id::text) || md5(p.id::text), 'hex'),
           now() - interval '10 days', now() + interval '355 days'
    FROM portal_membership m
    JOIN consent_purpose p ON p.building_id = m.building_id AND p.name = 'Purpose 0'
    WHERE m.role <> 'admin' AND m.user_id %% 100 < %(enrolled)s
    """,
    # Door devices at entrances.
    """
    INSERT INTO recognition_location (building_id, name, kind, security_justification,
                                      sign_confirmed)
    SELECT b.id, 'Entrance ' || d, 'entrance', '', false
    FROM portal_building b CROSS JOIN generate_series(1, %(devices)s) AS d
    """,
    """
    INSERT INTO recognition_device (building_id, location_id, name, purpose_id, key_prefix,
                                    key_hash, last_contact_at, created_at)
    SELECT l.building_id, l.id, 'Door ' || l.id,
           (SELECT id FROM consent_purpose p WHERE p.building_id = l.building_id
            AND p.name = 'Purpose 1'),
           substr(md5(l.id::text), 1, 12), 'sha256$' || md5(l.id::text),
           now() - interval '1 minute', now() - interval '90 days'
    FROM recognition_location l
    """,
    # Attempts over 60 days: door face and code at the devices, portal sign-ins face and code.
    """
    INSERT INTO recognition_attempt (person_id, building_id, purpose_id, device_id, channel,
                                     method, result, distance, detail, liveness, created_at)
    SELECT u.id,
           CASE WHEN n %% 2 = 0 THEN d.building_id END,
           NULL,
           CASE WHEN n %% 2 = 0 THEN d.id END,
           CASE WHEN n %% 2 = 0 THEN 'door' ELSE 'sign_in' END,
           CASE WHEN n %% 3 = 0 THEN 'code' ELSE 'face' END,
           CASE WHEN n %% 11 = 0 THEN 'no_match' WHEN n %% 97 = 0 THEN 'throttled'
                ELSE 'match' END,
           NULL, '', '', now() - interval '1 second' * (n * 5184000.0 / %(attempts)s)
    FROM generate_series(1, %(attempts)s) AS n
    JOIN portal_user u ON u.username = 'r' || (1 + n %% %(people)s)
    JOIN recognition_device d ON d.id = (SELECT min(id) FROM recognition_device)
                                        + n %% (SELECT count(*) FROM recognition_device)
    """,
    # Purge records: a run every 10 minutes for the last weeks, mostly zero rows.
    """
    INSERT INTO recognition_purgerecord (run_id, building_id, reason, templates_deleted,
        attempts_deleted, started_at, finished_at, trigger)
    SELECT gen_random_uuid(),
           CASE WHEN n %% 7 = 0 THEN %(first_building)s + n %% %(buildings)s END,
           (ARRAY['withdrawn','consent_expired','renewal_lapsed','consent_inactive',
                  'retention','purpose_retired','person_left'])[1 + n %% 7],
           CASE WHEN n %% 7 = 0 THEN n %% 5 ELSE 0 END, 0,
           now() - interval '10 minutes' * n, now() - interval '10 minutes' * n
                                           + interval '2 seconds',
           'schedule'
    FROM generate_series(1, %(purge_records)s) AS n
    """,
]


def load_rows(people: int, first_building: int) -> None:
    from django.db import connection

    params = {
        "people": people,
        "first_building": first_building,
        "buildings": BUILDINGS,
        "second_share": SECOND_BUILDING_SHARE,
        "enrolled": ENROLLED_PERCENT,
        "devices": DEVICES_PER_BUILDING,
        "attempts": ATTEMPTS,
        "purge_records": PURGE_RECORDS,
    }
    with connection.cursor() as cursor:
        for statement in LOAD:
            cursor.execute(statement, params)
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have: index-only scans work
        for table in (
            "portal_user",
            "portal_membership",
            "consent_consent",
            "recognition_facetemplate",
            "recognition_attempt",
            "recognition_purgerecord",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant names)
            print(f"{table}: {cursor.fetchone()[0]:,}", flush=True)


def time_export(client) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.get("/manage/evidence.zip")
    elapsed = time.perf_counter() - start
    assert response.status_code == 200
    assert zipfile.ZipFile(BytesIO(response.content)).testzip() is None
    return elapsed, len(response.content)


def load(args) -> None:
    from django.db import connection

    from portal.audit import check_chain
    from portal.models import AuditCheck, Membership, User
    from recognition.reporting.tally import tally_attempts
    from tests.factories import PASSWORD

    started = time.perf_counter()
    operator = User.objects.create_user("bench_operator", password=PASSWORD)
    buildings = make_purposes(operator)
    load_rows(args.people, buildings[0].pk)
    check_chain(AuditCheck.SCHEDULE)  # what the beat does daily
    tally_started = time.perf_counter()
    tallied = tally_attempts()  # and every few minutes
    print(
        f"first tally: {tallied['attempts']:,} attempts into {tallied['rows']:,} rows "
        f"in {time.perf_counter() - tally_started:.1f} s",
        flush=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"loading took {time.perf_counter() - started:.0f} s", flush=True)
    admin = User.objects.create_user("bench_admin", password=PASSWORD)
    Membership.objects.create(user=admin, building=buildings[0], role="admin")


def measure_pages(args) -> None:
    """Each round measures, interleaved, the dashboard and the home page of the same admin:
    the home page (session, second factor, roles, a small template) is the yardstick of what
    the machine gives any page at that moment."""
    from bench.consent_pages import measure, signed_in_client
    from consent.models import Consent
    from portal.models import Building, SealedTOTPDevice, User
    from recognition.reporting import headcount

    SealedTOTPDevice.objects.all().delete()  # fresh devices: signed_in_client adds one each
    first = Building.objects.order_by("name").first()
    in_building = Consent.objects.filter(building=first).count()
    print(
        f"\n{Consent.objects.count():,} consents, "
        f"{headcount.people_with_face_data():,} distinct people with face data; "
        f"the one-building admin's building holds {in_building:,} consents; "
        f"{args.runs} requests each\n",
        flush=True,
    )
    clients = [
        ("admin of one building", signed_in_client(User.objects.get(username="bench_admin"))),
        (
            f"admin of all {BUILDINGS} buildings",
            signed_in_client(User.objects.get(username="bench_operator")),
        ),
    ]
    print(
        "| admin | round | load avg | dashboard p50 ms | dashboard p95 ms | queries "
        "| home page p50 ms | home page p95 ms |\n|---|---|---|---|---|---|---|---|"
    )
    for round_number in range(1, args.rounds + 1):
        for name, client in clients:
            load_avg = os.getloadavg()[0]
            page = measure(client, "/manage/dashboard/", args.runs)
            home = measure(client, "/", args.runs)
            print(
                f"| {name} | {round_number} | {load_avg:.1f} | {page['p50']:.1f} "
                f"| {page['p95']:.1f} | {page['queries']} | {home['p50']:.1f} "
                f"| {home['p95']:.1f} |",
                flush=True,
            )
    for name, client in clients:
        seconds, size = time_export(client)
        print(f"evidence export, {name}: {seconds:.2f} s, {size:,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="measure this many times")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--measure-only", action="store_true", help="measure a database kept by --keep"
    )
    args = parser.parse_args()

    if not args.measure_only:
        recreate_database()
    try:
        setup_django()
        if not args.measure_only:
            load(args)
        measure_pages(args)
        from django.db import connections

        connections.close_all()
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
