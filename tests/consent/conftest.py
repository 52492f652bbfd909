"""Consent fixtures: a second building's purpose, made through the services as an admin would."""

import pytest

from tests.factories import make_active_purpose


@pytest.fixture
def purpose_b(building_b, admin_b):
    return make_active_purpose(building_b, admin_b, name="B door")
