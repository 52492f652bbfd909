"""The OpenAPI schema at /api/schema/ against the API itself, fuzzed with schemathesis.

For every operation, generated requests are sent through the WSGI application signed in as a
resident, as a building admin (second factor passed) and as a door device; no answer may be
a 5xx, and every answer must match the schema (status code, content type, body). Bounded:
a few derandomized examples per operation, so the suite stays fast and repeatable.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consent import rules as consent_rules
from portal.wsgi import application
from tests.factories import grant, make_active_purpose, make_door

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _fuzz(schema, headers: dict, cookies: dict) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(headers=headers, cookies=cookies)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # report every operation at the end
            failures.append(f"{operation.label}: {error}")
    return failures


@pytest.fixture
def schema():
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def world(celery_worker_process, building_a, resident, admin_a):
    purpose = make_active_purpose(building_a, demo=consent_rules.VERIFICATION)
    door = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    grant(resident, purpose)
    _device, key = make_door(building_a, door)
    return {"purpose": purpose, "key": key}


def _session(client) -> tuple[dict, dict]:
    client.get("/accounts/login/")
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    return {"X-CSRFToken": cookies.get("csrftoken", "")}, cookies


@pytest.mark.parametrize("role", ["resident", "admin_a"])
def test_api_answers_match_the_schema_and_never_5xx_for_people(
    schema, world, sign_in, client, request, role
):
    sign_in(request.getfixturevalue(role))
    headers, cookies = _session(client)
    failures = _fuzz(schema, headers, cookies)
    assert not failures, "\n\n".join(failures)


def test_api_answers_match_the_schema_and_never_5xx_for_a_device(schema, world):
    failures = _fuzz(schema, {"Authorization": f"Device {world['key']}"}, {})
    assert not failures, "\n\n".join(failures)
