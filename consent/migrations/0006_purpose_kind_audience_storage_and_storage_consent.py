"""Purpose binding (kind), audience and where face data lives, with the separate consent to face
data leaving the device.

Existing rows: a 1:N purpose, or one a door device serves, is for door access; any other 1:1
purpose is for portal sign-in. Every existing purpose is for residents and staff (nobody loses
a purpose they had; admins narrow it). Face data so far was sent from the camera to the
portal's own servers, so existing purposes keep it "on the operator's own servers". Nobody has
given the separate consent to that yet and none is invented: each granted consent is marked as
awaiting renewal (face use pauses, the person gets a message and decides again, now with the
separate box; templates are kept for the renewal grace period, then purged).
"""

from django.db import migrations, models
from django.utils import timezone


def fill(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    Consent = apps.get_model("consent", "Consent")
    ConsentEvent = apps.get_model("consent", "ConsentEvent")
    Notification = apps.get_model("consent", "Notification")
    Purpose.objects.filter(method="identification").update(kind="door_access")
    Purpose.objects.filter(method="verification").update(kind="portal_sign_in")
    if apps.is_installed("recognition"):
        try:
            Device = apps.get_model("recognition", "Device")
        except LookupError:
            Device = None
        if Device is not None:
            served = Device.objects.filter(purpose__isnull=False).values("purpose_id")
            Purpose.objects.filter(pk__in=served).update(kind="door_access")
    now = timezone.now()
    pending = Consent.objects.filter(status="granted", renewal_needed_at__isnull=True).exclude(
        purpose__storage="device"
    )
    rows = list(pending.values_list("id", "person_id", "purpose_id", "notice_id"))
    if not rows:
        return
    pending.update(renewal_needed_at=now)
    ConsentEvent.objects.bulk_create(
        (
            ConsentEvent(
                consent_id=consent_id,
                person_id=person_id,
                kind="renewal_needed",
                at=now,
                notice_id=notice_id,
                channel="system",
            )
            for consent_id, person_id, _purpose_id, notice_id in rows
        ),
        batch_size=2000,
    )
    Notification.objects.bulk_create(
        (
            Notification(
                person_id=person_id,
                purpose_id=purpose_id,
                kind="notice_changed",
                created_at=now,
            )
            for _consent_id, person_id, purpose_id, _notice_id in rows
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0005_consent_count_triggers_take_the_audit_lock"),
        ("recognition", "0007_headcount_triggers_take_the_audit_lock"),
    ]

    operations = [
        migrations.AddField(
            model_name="purpose",
            name="kind",
            field=models.CharField(
                choices=[("portal_sign_in", "portal sign-in"), ("door_access", "door access")],
                default="door_access",
                help_text=(
                    "What the face data is for: portal sign-in or door access. Fixed when the "
                    "purpose is created; a template serves only purposes of its kind."
                ),
                max_length=16,
                verbose_name="kind",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="purpose",
            name="audience",
            field=models.CharField(
                choices=[
                    ("residents", "residents"),
                    ("staff", "staff"),
                    ("both", "residents and staff"),
                ],
                default="both",
                help_text="Only people with this role in the building are asked about it.",
                max_length=16,
                verbose_name="for whom",
            ),
        ),
        migrations.AddField(
            model_name="purpose",
            name="storage",
            field=models.CharField(
                choices=[
                    ("device", "kept on the recognition device only"),
                    (
                        "on_premises",
                        "on the operator's own servers inside the building's network",
                    ),
                    ("hosted", "sent over the internet to a hosted portal"),
                ],
                default="on_premises",
                help_text=(
                    "When face data leaves the device, each person is asked for a separate "
                    "consent to that."
                ),
                max_length=16,
                verbose_name="where face data is kept",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="consent",
            name="storage_consented_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "Empty: not given, or withdrawn; no face data is then kept off the device."
                ),
                null=True,
                verbose_name="separate consent to face data leaving the device given at",
            ),
        ),
        migrations.AddField(
            model_name="consentevent",
            name="storage_consent",
            field=models.BooleanField(
                blank=True,
                help_text="On a grant: whether its own box was ticked (empty when not asked).",
                null=True,
                verbose_name="separate consent to face data leaving the device",
            ),
        ),
        migrations.AlterField(
            model_name="consentevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("granted", "granted"),
                    ("refused", "refused"),
                    ("withdrawn", "withdrawn"),
                    ("renewal_needed", "renewal needed (the notice changed)"),
                    ("ended", "ended (left)"),
                    (
                        "storage_withdrawn",
                        "consent to face data leaving the device withdrawn",
                    ),
                ],
                max_length=24,
                verbose_name="event",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
