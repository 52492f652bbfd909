"""Consent fixtures: purposes made through the services, as an admin would."""

import pytest

from consent import rules, services

TEXT = {
    key: f"{key} text"
    for key in (
        "purpose",
        "method",
        "data",
        "retention",
        "necessity_and_impact",
        "alternatives",
        "rights",
        "withdrawal",
    )
}
TEXTS = {"en": TEXT, "zh-hans": {k: f"{v} (zh)" for k, v in TEXT.items()}}
ASSESSMENT = {
    "lawfulness_and_necessity": "Consent; optional.",
    "impact_and_mitigations": "Encrypted template.",
    "security_risks": "Leakage; encrypted.",
    "protection_adequacy": "Adequate.",
}


def purpose_fields(**overrides) -> dict:
    fields = {
        "name": "Door access by face",
        "specific_purpose": "Open the lobby door.",
        "necessity_and_impact": "Hands-free entry.",
        "method": rules.IDENTIFICATION,
        "kind": rules.KIND_DOOR,
        "audience": rules.AUDIENCE_BOTH,
        "storage": rules.STORAGE_ON_PREMISES,
        "retention_days": 365,
        "until_person_leaves": True,
        "alternatives": ["door_code"],
    }
    fields.update(overrides)
    return fields


def make_active_purpose(building, admin, **overrides):
    purpose = services.create_purpose(building, actor=admin, **purpose_fields(**overrides))
    assessment = services.create_assessment(purpose, actor=admin, **ASSESSMENT)
    services.approve_assessment(assessment, actor=admin)
    services.publish_notice(purpose, actor=admin, texts=TEXTS, data_collected="One template.")
    return services.activate_purpose(purpose, actor=admin)


def grant(person, purpose, **kwargs):
    """A grant with the separate consent to face data leaving the device, unless told not."""
    kwargs.setdefault("storage_consent", True)
    purpose.refresh_from_db()
    return services.grant_consent(
        person,
        purpose,
        channel="web",
        ip="127.0.0.1",
        user_agent="pytest",
        notice_hash=purpose.current_notice.text_hash,
        **kwargs,
    )


def refuse(person, purpose, **kwargs):
    purpose.refresh_from_db()
    return services.refuse_consent(
        person,
        purpose,
        channel="web",
        ip="127.0.0.1",
        user_agent="pytest",
        notice_hash=purpose.current_notice.text_hash,
        **kwargs,
    )


@pytest.fixture
def purpose(building_a, admin_a):
    return make_active_purpose(building_a, admin_a)


@pytest.fixture
def purpose_b(building_b, admin_b):
    return make_active_purpose(building_b, admin_b, name="B door")
