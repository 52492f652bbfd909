"""Names that admins type are read in the reader's language; a missing one is marked."""

import pytest

from consent.models import Purpose
from recognition.models import Device, Location
from tests.consent.test_admin_pages import PURPOSE_FORM
from tests.factories import ASSESSMENT, TEXTS

pytestmark = pytest.mark.django_db


def _activate(purpose, admin):
    from consent import services

    assessment = services.create_assessment(purpose, actor=admin, **ASSESSMENT)
    services.approve_assessment(assessment, actor=admin)
    services.publish_notice(purpose, actor=admin, texts=TEXTS, data_collected="One template.")
    return services.activate_purpose(purpose, actor=admin)


def test_an_admin_names_a_purpose_in_both_languages_and_each_reader_sees_theirs(
    client, sign_in, admin_a, building_a, resident
):
    sign_in(admin_a)
    form = {"building": building_a.pk, **PURPOSE_FORM, "name_zh_hans": "刷脸开大堂门"}
    # The admin's own page language does not decide which language the name is.
    response = client.post("/manage/purposes/new/", form, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 302, response.content.decode()[:2000]
    purpose = Purpose.objects.get()
    assert (purpose.name_en, purpose.name_zh_hans) == ("Lobby door by face", "刷脸开大堂门")
    _activate(purpose, admin_a)
    client.post("/accounts/logout/")

    sign_in(resident)
    chinese = client.get("/consents/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get("/consents/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "刷脸开大堂门" in chinese and "Lobby door by face" not in chinese
    assert "Lobby door by face" in english and "刷脸开大堂门" not in english
    assert '<span lang="en">Lobby door by face' not in chinese


def test_a_name_without_its_chinese_value_is_shown_in_english_and_marked(
    client, sign_in, admin_a, building_a, resident
):
    sign_in(admin_a)
    client.post("/manage/purposes/new/", {"building": building_a.pk, **PURPOSE_FORM})
    _activate(Purpose.objects.get(), admin_a)
    client.post("/accounts/logout/")
    sign_in(resident)
    chinese = client.get("/consents/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<span lang="en">Lobby door by face</span>' in chinese
    assert '<small class="untranslated">(未翻译)</small>' in chinese
    english = client.get("/consents/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Lobby door by face" in english and "untranslated" not in english


def test_locations_and_devices_take_both_names(client, sign_in, admin_a, building_a):
    sign_in(admin_a)
    response = client.post(
        "/manage/locations/new/",
        {
            "building": building_a.pk,
            "name": "Lobby",
            "name_zh_hans": "大堂",
            "kind": "entrance",
        },
    )
    assert response.status_code == 302
    location = Location.objects.get()
    assert (location.name_en, location.name_zh_hans) == ("Lobby", "大堂")
    response = client.post(
        "/manage/devices/new/",
        {"location": location.pk, "name": "Gate", "name_zh_hans": "闸机"},
    )
    assert response.status_code == 200
    device = Device.objects.get()
    assert (device.name_en, device.name_zh_hans) == ("Gate", "闸机")
    listing = client.get("/manage/devices/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "闸机" in listing and "大堂" in listing


def test_an_untranslated_name_is_still_the_plain_name_in_code(building_a):
    from django.utils import translation

    building_a.refresh_from_db()
    with translation.override("zh-hans"):
        name = building_a.name
        assert name == "Building A"
        assert f"{name}" == "Building A"
        assert type(str(name)) is str
