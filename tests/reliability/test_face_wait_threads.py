"""A face wait never holds up other people's pages and code routes.

With a worker alive but slow (busy, or paused here: it beats but answers nothing), each face
request waits up to FACE_VERIFY_DEADLINE. The web runs gunicorn exactly as the Procfile says
(threads per worker), so the waits take threads, and the sign-in page, the door's code route and
the door's devices/me are still answered at once. With sync workers the same test fails: every
worker is held by a face wait and the others queue behind them.
"""

import os
import shlex
import threading
import time
from contextlib import contextmanager

import pytest
import requests

from recognition.doors import doorcodes
from tests.factories import grant, make_active_purpose, make_door
from tests.launcher import gunicorn
from tests.liveness_frames import SIGN_IN, burst, data_urls, warm_turns
from tests.paths import ARTIFACTS, REPO
from tests.reliability.stack import test_database_url

pytestmark = pytest.mark.django_db(transaction=True)

UNAVAILABLE = "Face recognition is unavailable right now"
DEADLINE = 5.0  # seconds each face request may wait: short, to keep the test short
WAITERS = 4  # face requests in flight at once: more than gunicorn's worker processes
QUICK = 1.5  # the page and the code route, each, while the face requests wait


def procfile_web_arguments() -> list[str]:
    """The Procfile's web line as production runs it, less the program, the app and the bind
    address (the launcher binds a free port)."""
    line = next(
        line.split(":", 1)[1]
        for line in (REPO / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    args = shlex.split(line)
    assert args[0].endswith("gunicorn") and args[1] == "portal.wsgi", args
    args = args[2:]
    at = args.index("--bind")
    del args[at : at + 2]
    return args


@contextmanager
def procfile_portal(stack, database_url: str, deadline: float):
    """The portal under gunicorn with the Procfile's settings, on the private stack's Redis."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.reliability.http_settings",
        TEST_DATABASE_URL=database_url,
        TEST_REDIS_URL=stack.redis.url,
        FACE_SIGNIN_ANY_BROWSER="true",  # a shared kiosk: anonymous face sign-ins reach Redis
        FACE_VERIFY_DEADLINE=str(deadline),
    )
    with gunicorn(env, ARTIFACTS / "procfile-web.log", *procfile_web_arguments()) as base:
        yield base


@pytest.fixture
def portal_on_paused_worker(private_face_stack, django_db_blocker):
    """The Procfile's portal on the private stack, whose worker beats but holds the first task
    it takes (and so answers nothing)."""
    with procfile_portal(
        private_face_stack, test_database_url(django_db_blocker), DEADLINE
    ) as base:
        private_face_stack.pause("before")
        try:
            yield base
        finally:
            private_face_stack.unpause()
            for marker in private_face_stack.fault_dir.glob("paused-*"):
                pid = marker.read_text().strip()
                if pid:
                    private_face_stack.kill(int(pid))  # its pool starts a fresh child


def test_face_waits_on_a_slow_worker_do_not_hold_up_the_sign_in_page_or_the_door_code(
    portal_on_paused_worker, resident, building_a, photos
):
    from consent import rules as consent_rules

    base = portal_on_paused_worker
    purpose = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    grant(resident, purpose)
    _device, key = make_door(building_a, purpose)
    warm_turns(photos["a1"])
    ready = threading.Barrier(WAITERS + 1)
    answers: list[tuple[int, bool, float]] = []

    def face_sign_in() -> None:
        session = requests.Session()
        session.get(base + "/accounts/login/face/", timeout=15)
        token = session.cookies["csrftoken"]
        challenge_url, form_url = SIGN_IN
        issued = session.post(base + challenge_url, headers={"X-CSRFToken": token}, timeout=15)
        steps = [step["pose"] for step in issued.json()["steps"]]
        frames = data_urls(burst([photos["a1"]], steps))
        ready.wait(timeout=60)
        started = time.monotonic()
        response = session.post(
            base + form_url,
            data={
                "username": "nobody",
                "csrfmiddlewaretoken": token,
                "nonce": issued.json()["nonce"],
                "frame": frames,
            },
            timeout=DEADLINE + 20,
        )
        took = time.monotonic() - started
        answers.append((response.status_code, UNAVAILABLE in response.text, took))

    waiters = [threading.Thread(target=face_sign_in) for _ in range(WAITERS)]
    for thread in waiters:
        thread.start()
    ready.wait(timeout=60)
    sent = time.monotonic()
    time.sleep(0.5)  # the face requests are in, each waiting for an answer
    timings = []
    try:
        while time.monotonic() - sent < DEADLINE - QUICK:
            _code, code = doorcodes.issue_door_code(resident)
            started = time.monotonic()
            page = requests.get(base + "/accounts/login/", timeout=30)
            page_took = time.monotonic() - started
            started = time.monotonic()
            door = requests.post(
                base + "/api/v1/devices/code/",
                json={"code": code},
                headers={"Authorization": f"Device {key}"},
                timeout=30,
            )
            door_took = time.monotonic() - started
            started = time.monotonic()
            me = requests.get(
                base + "/api/v1/devices/me/", headers={"Authorization": f"Device {key}"}, timeout=30
            )
            timings.append((page_took, door_took, time.monotonic() - started))
            assert page.status_code == 200
            assert door.status_code == 200 and door.json()["open"] is True
            assert me.status_code == 200
            time.sleep(0.1)
    finally:
        for thread in waiters:
            thread.join(timeout=DEADLINE + 30)
    # Each face request really waited (the worker is alive, so nothing answered "unavailable"
    # at once) and ended with the code route offered, not an error.
    assert len(answers) == WAITERS, answers
    assert all(status == 200 and said for status, said, _took in answers), answers
    assert all(took >= DEADLINE - 1.0 for _s, _said, took in answers), answers
    # Meanwhile the sign-in page, the door code and the door's own page answered at once.
    assert max(max(round_) for round_ in timings) < QUICK, timings
    assert len(timings) >= 2, timings


def test_answers_to_face_requests_in_flight_together_never_cross_threads(
    private_face_stack,
    django_db_blocker,
    resident,
    other_resident,
    door_purpose,
    front_door,
    photos,
):
    """Threads of one web process wait for their face answers at the same time (each through its
    own result connection): each request gets the answer to its own question."""
    from recognition import tasks
    from recognition.engine import jobs

    for person, photo in ((resident, photos["a1"]), (other_resident, photos["b1"])):
        grant(person, door_purpose)
        assert jobs.run(tasks.enrol_face, person.pk, door_purpose.pk, image=photo)["ok"]
    _device, key = front_door
    asked = [resident, other_resident] * 3  # photo a2 is the resident: open, then not
    answers: dict[int, dict] = {}
    ready = threading.Barrier(len(asked))

    def verify(index: int, base: str) -> None:
        ready.wait(timeout=60)
        response = requests.post(
            base + "/api/v1/devices/verify/",
            data={"person": asked[index].pk},
            files={"photo": ("face.jpg", photos["a2"], "image/jpeg")},
            headers={"Authorization": f"Device {key}"},
            timeout=60,
        )
        answers[index] = response.json() if response.status_code == 200 else {"status": response}

    database_url = test_database_url(django_db_blocker)
    with procfile_portal(private_face_stack, database_url, 30.0) as base:
        threads = [threading.Thread(target=verify, args=(i, base)) for i in range(len(asked))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
    assert sorted(answers) == list(range(len(asked))), answers
    for index, person in enumerate(asked):
        expected = person == resident
        assert answers[index]["open"] is expected, (index, answers[index])
        if expected:
            assert answers[index]["person_id"] == resident.pk, answers[index]
