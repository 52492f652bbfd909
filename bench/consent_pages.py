"""Consent pages with 1,000,000 consent rows: p50/p95 time and query count per page.

Creates a scratch PostgreSQL database `portal_bench` (dropped at the end), migrates it, makes
purposes through the services, then loads people, memberships, consents and their events with
set-based SQL (INSERT ... SELECT over generate_series). Pages are requested through Django's
test client with the full middleware stack, signed in as a resident and as a building admin.

    .venv/bin/python bench/consent_pages.py [--consents 1000000] [--runs 50]

Needs PostgreSQL on 127.0.0.1:5432 (BENCH_PG_URL to override; the user must create databases).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = "portal_bench"
PURPOSES_PER_BUILDING = 4
BUILDINGS = 100
BIG_BUILDING_SHARE = 0.1  # building 1 holds a tenth of everyone: the admin list worst case


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


def make_purposes(admin):
    from consent import rules, services
    from portal.models import Building, Membership
    from tests.factories import ASSESSMENT, TEXTS

    buildings = Building.objects.bulk_create(
        Building(name=f"Building {n:03d}", handler_name=f"Handler {n}", handler_contact="c@x")
        for n in range(1, BUILDINGS + 1)
    )
    Membership.objects.create(user=admin, building=buildings[0], role="admin")
    for building in buildings:
        for n in range(PURPOSES_PER_BUILDING):
            purpose = services.create_purpose(
                building,
                actor=admin,
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
            assessment = services.create_assessment(purpose, actor=admin, **ASSESSMENT)
            services.approve_assessment(assessment, actor=admin)
            services.publish_notice(purpose, actor=admin, texts=TEXTS, data_collected="One.")
            services.activate_purpose(purpose, actor=admin)
    return buildings


def load_rows(consents: int) -> None:
    """People, memberships, consents and events in a few INSERT ... SELECT statements."""
    from django.db import connection

    people = consents // PURPOSES_PER_BUILDING
    big = int(people * BIG_BUILDING_SHARE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM portal_building")
        first_building = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO portal_user (password, is_superuser, username, first_name, last_name,
                                     email, is_staff, is_active, date_joined)
            SELECT '!', false, 'r' || n, '', '', '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [people],
        )
        cursor.execute(
            """
            INSERT INTO portal_membership (user_id, building_id, role, joined_at)
            SELECT u.id,
                   CASE WHEN u.rn <= %s THEN %s ELSE %s + 1 + (u.rn %% %s) END,
                   'resident', now()
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn
                  FROM portal_user WHERE username LIKE 'r%%') AS u
            """,
            [big, first_building, first_building, BUILDINGS - 1],
        )
        cursor.execute(
            """
            INSERT INTO consent_consent (person_id, purpose_id, building_id, notice_id,
                notice_hash, status, decided_at, granted_at, refused_at, withdrawn_at,
                expires_at, channel, ip, user_agent, receipt_id)
            SELECT m.user_id, p.id, p.building_id, p.current_notice_id, n.text_hash,
                   s.status, now() - interval '1 day' * ((m.user_id + p.id) %% 300),
                   CASE WHEN s.status <> 'refused' THEN now() - interval '300 days' END,
                   CASE WHEN s.status = 'refused' THEN now() - interval '300 days' END,
                   CASE WHEN s.status = 'withdrawn' THEN now() - interval '1 day' END,
                   now() + interval '65 days', 'web', '127.0.0.1', 'bench', gen_random_uuid()
            FROM portal_membership m
            JOIN consent_purpose p ON p.building_id = m.building_id
            JOIN consent_notice n ON n.id = p.current_notice_id
            CROSS JOIN LATERAL (SELECT CASE (m.user_id * 7 + p.id) %% 20
                                   WHEN 0 THEN 'refused' WHEN 1 THEN 'refused'
                                   WHEN 2 THEN 'refused' WHEN 3 THEN 'withdrawn'
                                   WHEN 4 THEN 'withdrawn' WHEN 5 THEN 'withdrawn'
                                   ELSE 'granted' END AS status) AS s
            WHERE m.role = 'resident'
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO consent_consentevent (consent_id, person_id, kind, at, notice_id,
                                              actor_id, channel, ip, user_agent)
            SELECT id, person_id, CASE WHEN status = 'refused' THEN 'refused' ELSE 'granted' END,
                   coalesce(granted_at, refused_at), notice_id, person_id, 'web', ip, user_agent
            FROM consent_consent
            UNION ALL
            SELECT id, person_id, 'withdrawn', withdrawn_at, notice_id, person_id, 'web', ip,
                   user_agent
            FROM consent_consent WHERE status = 'withdrawn'
            """
        )
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM consent_consent")
        print(f"loaded {cursor.fetchone()[0]:,} consents", flush=True)


def signed_in_client(user):
    from django.test import Client

    from portal.models import SealedTOTPDevice
    from tests.factories import PASSWORD, current_code

    device = SealedTOTPDevice.create_for(user, "phone", confirmed=True)
    client = Client()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    response = client.post("/accounts/login/code/", {"code": current_code(device)})
    assert response.status_code == 302, response.content
    return client


def measure(client, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, int(len(times) * 0.95) - 1)],
        "queries": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    recreate_database()
    try:
        setup_django()
        from django.db import connections

        from consent.models import Consent
        from portal.models import User
        from tests.factories import PASSWORD

        started = time.perf_counter()
        admin = User.objects.create_user("bench_admin", password=PASSWORD)
        buildings = make_purposes(admin)
        load_rows(args.consents)
        print(f"loading took {time.perf_counter() - started:.0f} s", flush=True)

        resident = User.objects.get(username="r1")
        resident.set_password(PASSWORD)
        resident.save()
        building = buildings[0]
        middle = Consent.objects.filter(building=building).order_by("id")[
            Consent.objects.filter(building=building).count() // 2
        ]
        resident_client = signed_in_client(resident)
        admin_client = signed_in_client(admin)
        cursor_page = admin_client.get(f"/api/v1/admin/buildings/{building.pk}/consents/").json()
        pages = [
            ("My consents (page)", resident_client, "/consents/"),
            ("My consents (API)", resident_client, "/api/v1/consents/"),
            ("My data (page)", resident_client, "/my-data/"),
            (
                "Admin consent list, newest",
                admin_client,
                f"/manage/buildings/{building.pk}/consents/",
            ),
            (
                "Admin consent list, middle",
                admin_client,
                f"/manage/buildings/{building.pk}/consents/?before={middle.pk}",
            ),
            (
                "Admin consent API, first page",
                admin_client,
                f"/api/v1/admin/buildings/{building.pk}/consents/",
            ),
            ("Admin consent API, second page", admin_client, cursor_page["next"]),
        ]
        in_building = Consent.objects.filter(building=building).count()
        print(
            f"\n{Consent.objects.count():,} consents; the resident has "
            f"{Consent.objects.filter(person=resident).count()}, the admin's building "
            f"{in_building:,}; {args.runs} requests each\n"
        )
        print("| page | p50 ms | p95 ms | queries |\n|---|---|---|---|")
        for name, client, url in pages:
            result = measure(client, url, args.runs)
            print(f"| {name} | {result['p50']:.1f} | {result['p95']:.1f} | {result['queries']} |")
        connections.close_all()
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
