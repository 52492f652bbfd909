"""One base for every refusal of the rules, and one error body for pages and the API."""

import re

import pytest

from consent.services import ConsentError
from portal.api import exception_handler
from portal.refusals import Refused, error_body
from recognition.doors.devices import DeviceRefused
from recognition.doors.locations import LocationRefused
from recognition.entry.cards import CardRefused
from recognition.entry.reception import OpeningRefused
from recognition.lifecycle.services import FaceRefused
from tests.paths import REPO

REFUSALS = [ConsentError, DeviceRefused, FaceRefused, LocationRefused, CardRefused, OpeningRefused]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda cls: cls.__name__)
def test_every_refusal_shares_the_base_and_its_body(refusal):
    refused = refusal("some_code", "Why not, in words.")
    assert isinstance(refused, Refused)
    assert (refused.code, refused.message) == ("some_code", "Why not, in words.")
    assert refused.body() == {
        "error": {"code": "some_code", "message": "Why not, in words.", "details": {}}
    }


def test_the_api_answers_a_refusal_with_its_status_and_the_one_body():
    response = exception_handler(ConsentError("invalid", "No.", {"name": ["Required."]}), {})
    assert response.status_code == 400
    assert response.data == error_body("invalid", "No.", {"name": ["Required."]})
    assert exception_handler(ConsentError("not_draft", "No."), {}).status_code == 409
    assert exception_handler(DeviceRefused("location_not_allowed", "No."), {}).status_code == 409


def test_a_location_refusal_names_its_field():
    assert LocationRefused("invalid", "Give the location a name.", "name").field == "name"


def test_the_error_body_is_built_in_one_place():
    """`{"error": {...}}` written out anywhere else would drift from the one shape."""
    pattern = re.compile(r"""["']error["']\s*:\s*\{\s*["']code["']\s*:""")
    found = [
        str(path.relative_to(REPO))
        for package in ("portal", "consent", "recognition")
        for path in (REPO / package).rglob("*.py")
        if pattern.search(path.read_text()) and path.name != "refusals.py"
    ]
    assert found == []
