"""The migration that gives purposes a kind, an audience and a storage place fills existing rows
sensibly: 1:N or door-bound purposes are for doors, other 1:1 ones for sign-in, everyone stays
asked, and no separate consent to face data leaving the device is invented (each granted
consent awaits renewal instead, with a message to its person)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

BEFORE = [
    ("consent", "0005_consent_count_triggers_take_the_audit_lock"),
    ("recognition", "0007_headcount_triggers_take_the_audit_lock"),
]
AFTER = [("consent", "0006_purpose_kind_audience_storage_and_storage_consent")]


def _migrate(targets):
    """Migrates to ``targets``; the models as the database then is (every migration applied,
    other apps' included: rolling these back rolls back what depends on them)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    graph = executor.loader.graph
    applied = [
        key for key in MigrationRecorder(connection).applied_migrations() if key in graph.nodes
    ]
    return executor.loader.project_state(applied).apps


@pytest.mark.django_db(transaction=True)
def test_existing_purposes_and_consents_are_filled_sensibly():
    apps = _migrate(BEFORE)
    try:
        # The portal app is rolled back too as far as its migrations depend on these (the
        # audit log's move and what came after it): its rows are made with its models then.
        Building = apps.get_model("portal", "Building")
        User = apps.get_model("portal", "User")
        Purpose = apps.get_model("consent", "Purpose")
        Notice = apps.get_model("consent", "Notice")
        Consent = apps.get_model("consent", "Consent")
        Location = apps.get_model("recognition", "Location")
        Device = apps.get_model("recognition", "Device")
        now = timezone.now()
        building = Building.objects.create(name="Old", handler_name="H", handler_contact="c")
        person = User.objects.create(username="old_resident")

        def purpose(name, method):
            made = Purpose.objects.create(
                building_id=building.pk,
                name=name,
                specific_purpose=name,
                necessity_and_impact="x",
                method=method,
                retention_days=30,
                until_person_leaves=True,
                alternatives=["card"],
                status="active",
                created_at=now,
            )
            notice = Notice.objects.create(
                purpose=made,
                version=1,
                handler_name="H",
                handler_contact="c",
                data_collected="One template.",
                terms={},
                texts={},
                text_hash=f"{made.pk:064d}",
                published_at=now,
            )
            made.current_notice = notice
            made.save()
            return made, notice

        signin, signin_notice = purpose("Sign-in", "verification")
        card_door, _notice = purpose("Card door", "verification")
        lobby, _notice = purpose("Lobby", "identification")
        location = Location.objects.create(building_id=building.pk, name="Hall", kind="entrance")
        Device.objects.create(
            building_id=building.pk, location=location, name="D", purpose=card_door
        )
        Consent.objects.create(
            person_id=person.pk,
            purpose=signin,
            building_id=building.pk,
            notice=signin_notice,
            notice_hash=signin_notice.text_hash,
            status="granted",
            decided_at=now,
            granted_at=now,
            channel="web",
        )

        apps = _migrate(AFTER)
        Purpose = apps.get_model("consent", "Purpose")
        Consent = apps.get_model("consent", "Consent")
        kinds = dict(Purpose.objects.values_list("name", "kind"))
        assert kinds == {
            "Sign-in": "portal_sign_in",
            "Card door": "door_access",
            "Lobby": "door_access",
        }
        assert set(Purpose.objects.values_list("audience", "storage")) == {("both", "on_premises")}
        consent = Consent.objects.get()
        assert consent.status == "granted" and consent.storage_consented_at is None
        assert consent.renewal_needed_at is not None
        events = apps.get_model("consent", "ConsentEvent").objects.filter(consent_id=consent.pk)
        assert list(events.values_list("kind", flat=True)) == ["renewal_needed"]
        messages = apps.get_model("consent", "Notification").objects.filter(person_id=person.pk)
        assert list(messages.values_list("kind", flat=True)) == ["notice_changed"]
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
