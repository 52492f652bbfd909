"""Load: 50 concurrent clients for 60 seconds over the consent pages, sign-in and the door
verification API, against the real stack on loopback (gunicorn, PostgreSQL, Redis, a prefork
Celery worker running the real face model), with a database of its own.

Clients: most are residents, who sign in once with their password during the ramp-up (as a
person does for a session) and then read My consents as a page and through the API, grant
and withdraw consent through the API and read My data; a few sign in, open My consents and
sign out again and again (the sign-in figures); a few are door terminals verifying a real
face 1:1 in a loop. Bounded in time (--ramp, then --seconds measured), in requests
(--max-requests) and per request (30 s timeout). Prints throughput, p50/p95 per kind and
overall, and the errors (target: none).

Usage: .venv/bin/python bench/load.py [--clients 50] [--doors 4] [--signers 4] [--seconds 60]
"""

import argparse
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _stack  # noqa: E402

DB = "portal_bench_load"
REDIS_DB = 12
PASSWORD = "bench load password 1"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


class Budget:
    """Shared stop conditions: a deadline and a request count; `measuring` once the ramp-up
    (clients starting one by one) is over."""

    def __init__(self, ramp: float, seconds: float, max_requests: int) -> None:
        self.measure_from = time.monotonic() + ramp
        self.deadline = self.measure_from + seconds
        self.left = max_requests
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True

    def measuring(self) -> bool:
        return time.monotonic() >= self.measure_from


class Recorder:
    """Times and errors of the requests started in the measured window."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()

    def call(self, kind: str, send, ok) -> object | None:
        counted = self.budget.measuring()
        started = time.perf_counter()
        try:
            response = send()
        except Exception as error:  # a timeout or a dropped connection counts as an error
            with self.lock:
                self.errors[kind].append(repr(error)[:200])
            return None
        elapsed = time.perf_counter() - started
        if not counted:
            return response
        with self.lock:
            self.times[kind].append(elapsed)
            if not ok(response):
                self.errors[kind].append(f"{response.status_code} {response.text[:200]}")
        return response


def sign_in(session, base: str, username: str, rec) -> bool:
    session.cookies.clear()
    page = rec.call(
        "sign-in page",
        lambda: session.get(f"{base}/accounts/login/", timeout=30),
        lambda r: r.status_code == 200,
    )
    if page is None:
        return False
    token = session.cookies.get("csrftoken", "")
    response = rec.call(
        "sign-in (password)",
        lambda: session.post(
            f"{base}/accounts/login/",
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=30,
        ),
        lambda r: r.status_code == 302,
    )
    return response is not None and response.status_code == 302


def signing_in_client(base, username, budget, rec):
    """Signs in, opens My consents, signs out; again and again."""
    import requests

    session = requests.Session()
    while budget.take():
        if not sign_in(session, base, username, rec):
            continue
        rec.call(
            "My consents page",
            lambda: session.get(f"{base}/consents/", timeout=30),
            lambda r: r.status_code == 200,
        )
        rec.call(
            "sign-out",
            lambda: session.post(
                f"{base}/accounts/logout/",
                {"csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                allow_redirects=False,
                timeout=30,
            ),
            lambda r: r.status_code == 302,
        )


def resident_client(base, username, purpose_ids, notice_hashes, budget, rec):
    """Signs in once (as a person does for a session), then reads and decides."""
    import requests

    session = requests.Session()
    rounds = 0
    granted: set[int] = set()
    signed_in = False
    while budget.take():
        if not signed_in:
            signed_in = sign_in(session, base, username, rec)  # tried again until it works
            continue
        rounds += 1
        step = rounds % 4
        if step == 0:
            rec.call(
                "My consents page",
                lambda: session.get(f"{base}/consents/", timeout=30),
                lambda r: r.status_code == 200,
            )
        elif step == 1:
            rec.call(
                "My consents API",
                lambda: session.get(f"{base}/api/v1/consents/", timeout=30),
                lambda r: r.status_code == 200,
            )
        elif step == 2:
            purpose = purpose_ids[rounds % len(purpose_ids)]
            action = "withdraw" if purpose in granted else "grant"
            body = {"notice_hash": notice_hashes[purpose], "agree": True}
            headers = {"X-CSRFToken": session.cookies.get("csrftoken", "")}
            response = rec.call(
                "grant / withdraw API",
                lambda purpose=purpose, action=action, body=body, headers=headers: session.post(
                    f"{base}/api/v1/purposes/{purpose}/{action}/",
                    json=body,
                    headers=headers,
                    timeout=30,
                ),
                lambda r: r.status_code == 200,
            )
            if response is not None and response.status_code == 200:
                (granted.discard if action == "withdraw" else granted.add)(purpose)
        else:
            rec.call(
                "My data page",
                lambda: session.get(f"{base}/my-data/", timeout=30),
                lambda r: r.status_code == 200,
            )


def door_client(base, key, person_id, photo, budget, rec):
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Device {key}"}
    while budget.take():
        rec.call(
            "door verify API (face 1:1)",
            lambda: session.post(
                f"{base}/api/v1/devices/verify/",
                data={"person": person_id},
                files={"photo": ("probe.jpg", photo, "image/jpeg")},
                headers=headers,
                timeout=30,
            ),
            lambda r: r.status_code == 200 and r.json().get("open") is True,
        )


def setup(photos_dir: Path, residents: int):
    """Building, purposes, residents with consents, a door with a key, one enrolled face."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("prepare_face_model", verbosity=0)
    from consent import rules
    from consent import services as consent_services
    from consent.demo import DEMO_PURPOSES, activate_demo_purpose
    from portal.models import Building, Membership, User
    from recognition.doors import devices
    from recognition.engine import get_engine
    from recognition.lifecycle import services
    from recognition.models import Location

    building = Building.objects.create(
        name="Load", handler_name="Load Co.", handler_contact="load@example.com"
    )
    admin = User.objects.create_user("load-admin", password=PASSWORD)
    Membership.objects.create(user=admin, building=building, role="admin")
    purposes = []
    for index, spec in enumerate(DEMO_PURPOSES):
        purposes.append(activate_demo_purpose(building, spec, actor=admin))
        assert index < 2
    hashed = make_password(PASSWORD)
    people = User.objects.bulk_create(
        User(username=f"load{i}", password=hashed, adult_attested_at=datetime.now(UTC))
        for i in range(residents)
    )
    Membership.objects.bulk_create(
        Membership(user=person, building=building, role="resident") for person in people
    )
    door_purpose = next(p for p in purposes if p.method == rules.IDENTIFICATION)
    door_purpose.refresh_from_db()
    enrolled = people[0]
    consent_services.grant_consent(
        enrolled,
        door_purpose,
        actor=enrolled,
        channel="web",
        ip=None,
        user_agent="bench",
        notice_hash=door_purpose.current_notice.text_hash,
        storage_consent=True,
    )
    engine = get_engine()
    enrol_photo = (photos_dir / "person_a_1.jpg").read_bytes()
    services.store_template(enrolled, door_purpose, engine.embed(enrol_photo), engine.model_id)
    location = Location.objects.create(building=building, name="Lobby", kind="entrance")
    _device, key = devices.register_device(location, "Lobby door", door_purpose, actor=admin)
    for purpose in purposes:
        purpose.refresh_from_db()
    ids = [p.pk for p in purposes]
    hashes = {p.pk: p.current_notice.text_hash for p in purposes}
    # the enrolled resident is a door-only person, not a web client: their consent stays put
    return [p.username for p in people[1:]], ids, hashes, key, enrolled.pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--doors", type=int, default=4, help="how many of the clients are doors")
    parser.add_argument(
        "--signers", type=int, default=4, help="how many sign in and out again and again"
    )
    parser.add_argument("--seconds", type=float, default=60, help="measured, after the ramp")
    parser.add_argument("--ramp", type=float, default=60, help="seconds to start all clients")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--photos", type=Path, default=_stack.REPO.parent / "shared" / "faces")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--face-workers", type=int, default=2)
    args = parser.parse_args()

    env = _stack.stack_env(DB, REDIS_DB)
    _stack.recreate_database(DB)
    _stack.use_in_this_process(env)
    residents = args.clients - args.doors - args.signers
    usernames, purpose_ids, hashes, key, person_id = setup(
        args.photos, residents + args.signers + 1
    )
    signers, usernames = usernames[: args.signers], usernames[args.signers :]
    probe = (args.photos / "person_a_2.jpg").read_bytes()
    try:
        with _stack.processes(
            env,
            web_workers=args.web_workers,
            web_threads=args.web_threads,
            face_workers=args.face_workers,
            log_dir=_stack.REPO / "var" / "bench-load",
        ) as base:
            budget = Budget(args.ramp, args.seconds, args.max_requests)
            rec = Recorder(budget)
            threads = [
                threading.Thread(
                    target=resident_client, args=(base, name, purpose_ids, hashes, budget, rec)
                )
                for name in usernames
            ] + [
                threading.Thread(
                    target=door_client, args=(base, key, person_id, probe, budget, rec)
                )
                for _ in range(args.doors)
            ]
            threads += [
                threading.Thread(target=signing_in_client, args=(base, name, budget, rec))
                for name in signers
            ]
            for thread in threads:
                thread.start()
                time.sleep(args.ramp / len(threads))
            for thread in threads:
                thread.join(timeout=args.ramp + args.seconds + 60)
            elapsed = time.monotonic() - budget.measure_from
    finally:
        _stack.drop_database(DB)

    every = [t for times in rec.times.values() for t in times]
    errors = sum(len(e) for e in rec.errors.values())
    print(
        f"{args.clients} clients ({residents} residents, {args.signers} signing in and out, "
        f"{args.doors} doors), "
        f"{elapsed:.0f} s measured after a {args.ramp:.0f} s ramp: {len(every)} requests, "
        f"{len(every) / elapsed:.1f} req/s, "
        f"p50 {statistics.median(every) * 1000:.0f} ms, p95 {p95(every) * 1000:.0f} ms, "
        f"{errors} errors"
    )
    print("| requests | count | per second | p50 ms | p95 ms | errors |")
    print("|---|---|---|---|---|---|")
    for kind in sorted(rec.times):
        times = rec.times[kind]
        print(
            f"| {kind} | {len(times)} | {len(times) / elapsed:.1f} | "
            f"{statistics.median(times) * 1000:.0f} | {p95(times) * 1000:.0f} | "
            f"{len(rec.errors.get(kind, []))} |"
        )
    print(
        f"| all | {len(every)} | {len(every) / elapsed:.1f} | "
        f"{statistics.median(every) * 1000:.0f} | {p95(every) * 1000:.0f} | {errors} |"
    )
    print("load average (1, 5, 15 min) at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    for kind, messages in rec.errors.items():
        for message in messages[:3]:
            print(f"error in {kind}: {message}")


if __name__ == "__main__":
    main()
