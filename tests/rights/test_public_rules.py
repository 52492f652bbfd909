"""The public processing rules: per building, without sign-in, linked from the sign-in page,
printable and downloadable; active purposes only, nothing about any person."""

import pytest
from django.test import Client

from consent import services as consent_services
from tests.factories import grant, make_active_purpose, purpose_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(building_a, admin_a, resident):
    active = make_active_purpose(building_a, admin_a, name="Lobby door by face")
    consent_services.create_purpose(
        building_a, actor=admin_a, **purpose_fields(name="Secret draft purpose")
    )
    grant(resident, active)
    return active


def test_anyone_reads_the_rules_without_signing_in(published, building_a):
    client = Client()
    login = client.get("/accounts/login/").content.decode()
    assert "/rules/" in login
    index = client.get("/rules/").content.decode()
    assert f"/rules/{building_a.pk}/" in index
    page = client.get(f"/rules/{building_a.pk}/").content.decode()
    assert "Lobby door by face" in page
    assert "Secret draft purpose" not in page
    assert "A Property Co." in page and "a@example.com" in page  # handler and contact
    assert "purpose text" in page  # the current notice's own words
    published.refresh_from_db()
    assert published.alternative_labels()
    for way in published.alternative_labels():  # the ways in without a face
        assert way in page
    assert "Retention and destruction schedule" in page
    assert "1095 days" in page  # attempt logs, the processing records
    assert "resident" not in page


def test_the_rules_download_as_a_standalone_page(published, building_a):
    response = Client().get(f"/rules/{building_a.pk}/download/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("<!DOCTYPE html>") and "Lobby door by face" in body
    assert "<script" not in body


def test_the_rules_in_chinese(published, building_a):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = client.get(f"/rules/{building_a.pk}/").content.decode()
    assert "保存与销毁时间表" in page
    assert "purpose text (zh)" in page  # the notice in the reader's language


def test_an_unknown_building_is_not_found(db):
    assert Client().get("/rules/999999/").status_code == 404
