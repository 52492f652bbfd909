"""The filters that put the rows of "My data" into words."""

from django.utils import translation

from portal.templatetags.pages import data_label, data_value


def test_columns_are_named_in_words_and_unknown_ones_readably():
    with translation.override("en"):
        assert data_label("last_sign_in") == "Last sign-in"
        assert data_label("some_new_column") == "Some new column"
    with translation.override("zh-hans"):
        assert data_label("last_sign_in") == "上次登录"


def test_codes_are_spelled_out_only_in_coded_columns():
    with translation.override("zh-hans"):
        assert data_value("resident", "role") == "住户"
        assert data_value("resident", "username") == "resident"
        assert data_value("granted", "status") == "已同意"


def test_dates_are_local_and_short_and_empty_values_a_dash(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    assert data_value("2026-01-02T03:04:05.123456+00:00", "at") == "2026-01-02 11:04"
    assert data_value(None, "left") == "—"
    assert data_value({"notice": 2, "channel": "web"}, "details") == "Channel: web page"


def test_audit_events_and_details_read_as_words_ids_left_out():
    with translation.override("zh-hans"):
        assert data_value("consent.withdrawn", "event") == "已撤回同意"
        assert data_value("face.enrolled", "event") == "人脸已录入"
        details = data_value({"attempt": 10, "channel": "door", "device": 1}, "details")
        assert details == "渠道: 门禁"
        assert data_value({"purpose": 2}, "details") == "—"
