"""Bad input at the API: malformed query parameters and deeply nested JSON answer 400 in the
portal's error shape and change nothing; personal answers carry Cache-Control: no-store."""

import pytest

from consent.models import Consent
from portal.models import AuditEntry
from portal.parsers import MAX_JSON_DEPTH, json_depth
from tests.factories import grant

pytestmark = pytest.mark.django_db


def _error(response, status=400) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.parametrize("value", ["abc", "1.5", "%00", "1%00", "-3", "0", "9" * 40])
def test_a_malformed_person_parameter_is_a_400(sign_in, client, resident, value):
    sign_in(resident)
    _error(client.get(f"/api/v1/consents/?person={value}"))


def test_a_nul_byte_in_any_api_query_parameter_is_a_400(sign_in, client, resident):
    sign_in(resident)
    _error(client.get("/api/v1/my-data/?x=%00"))
    _error(client.get("/api/v1/consents/?cursor=%00"))


def test_a_deeply_nested_json_body_is_a_400_and_changes_nothing(sign_in, client, resident, purpose):
    sign_in(resident)
    before = AuditEntry.objects.count()
    depth = 100_000
    body = "[" * depth + "]" * depth
    url = f"/api/v1/purposes/{purpose.pk}/grant/"
    error = _error(client.post(url, body, content_type="application/json"))
    assert error["code"] == "parse_error"
    nested = (
        '{"agree": true, "notice_hash": '
        + "[" * (MAX_JSON_DEPTH + 1)
        + "]" * (MAX_JSON_DEPTH + 1)
        + "}"
    )
    _error(client.post(url, nested, content_type="application/json"))
    assert AuditEntry.objects.count() == before and not Consent.objects.exists()


def test_json_depth_is_counted_without_recursion():
    deep = []
    for _ in range(200_000):
        deep = [deep]
    assert json_depth(deep, limit=10) == 11
    assert json_depth({"a": {"b": [1, 2]}}) == 3


def test_personal_api_answers_are_never_stored_by_caches(sign_in, client, resident, purpose):
    sign_in(resident)
    consent = grant(resident, purpose)
    for path in [
        "/api/v1/me/",
        "/api/v1/my-data/",
        "/api/v1/consents/",
        f"/api/v1/consents/{consent.pk}/",
        f"/api/v1/consents/{consent.pk}/receipt/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
    refused = client.get("/api/v1/consents/?person=abc")
    assert "no-store" in refused["Cache-Control"]
