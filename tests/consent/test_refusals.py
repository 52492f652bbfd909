"""A refusal is respected: the purpose shows "refused" and a "change my mind" action instead of
the notice and the form, and a new notice asks again only when it would also ask those who
granted to renew (purpose, method, data, retention), not for a wording fix."""

import pytest

from consent import rules, services
from consent.models import Consent
from tests.factories import TEXTS, grant, refuse

pytestmark = pytest.mark.django_db

PAGE = "/consents/"
TERMS = {
    "specific_purpose": "Open the lobby door.",
    "method": "identification",
    "data_collected": "One template.",
    "retention": [365, True],
}


def test_only_a_material_change_asks_a_refusal_again():
    wording = dict(TERMS)
    material = {**TERMS, "data_collected": "One template and a photo."}
    for state in (rules.REFUSED, rules.WITHDRAWN):
        assert not rules.needs_decision(state, 1, 1, decided_terms=TERMS, current_terms=TERMS)
        assert not rules.needs_decision(state, 1, 2, decided_terms=TERMS, current_terms=wording)
        assert rules.needs_decision(state, 1, 2, decided_terms=TERMS, current_terms=material)
    assert rules.needs_decision(rules.NOT_ASKED, None, 2, decided_terms=None, current_terms=TERMS)


def _grant_form(purpose) -> str:
    return f'action="/consents/purposes/{purpose.pk}/decide/"'


def test_a_refused_purpose_shows_its_status_and_change_my_mind(client, sign_in, resident, purpose):
    refuse(resident, purpose)
    sign_in(resident)
    page = client.get(PAGE).content.decode()
    assert "You said no on" in page and "Change my mind" in page
    assert _grant_form(purpose) not in page
    assert "Read the notice before deciding" not in page
    again = client.get(f"{PAGE}?reconsider={purpose.pk}").content.decode()
    assert _grant_form(purpose) in again and 'value="grant"' in again
    response = client.post(
        f"/consents/purposes/{purpose.pk}/decide/",
        {"action": "grant", "agree": "on", "notice_hash": purpose.current_notice.text_hash},
    )
    assert response.status_code == 302
    assert Consent.objects.get(person=resident).status == rules.GRANTED


def test_a_wording_fix_does_not_ask_those_who_refused(
    client, sign_in, resident, other_resident, purpose, admin_a
):
    refuse(resident, purpose)
    grant(other_resident, purpose)
    fixed = {lang: {**texts, "rights": "Write to the office."} for lang, texts in TEXTS.items()}
    services.publish_notice(purpose, actor=admin_a, texts=fixed, data_collected="One template.")
    assert Consent.objects.get(person=other_resident).renewal_needed_at is None
    sign_in(resident)
    page = client.get(PAGE).content.decode()
    assert "Change my mind" in page and "Your decision is needed" not in page


def test_a_material_change_asks_those_who_refused_as_well(
    client, sign_in, resident, other_resident, purpose, admin_a
):
    refuse(resident, purpose)
    grant(other_resident, purpose)
    services.publish_notice(
        purpose, actor=admin_a, texts=TEXTS, data_collected="One template and its photo."
    )
    assert Consent.objects.get(person=other_resident).renewal_needed_at is not None
    sign_in(resident)
    page = client.get(PAGE).content.decode()
    assert "Your decision is needed" in page
    assert _grant_form(purpose) in page and "Change my mind" not in page


def test_a_bad_reconsider_value_is_ignored(client, sign_in, resident, purpose):
    refuse(resident, purpose)
    sign_in(resident)
    for value in ("abc", "-1", "99999999999999999999", ""):
        response = client.get(f"{PAGE}?reconsider={value}")
        assert response.status_code == 200
        assert "Change my mind" in response.content.decode()
