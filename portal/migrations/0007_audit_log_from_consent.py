"""The audit log's models, taken over from `consent` (its migration 0011): state only.

`db_table` keeps the tables `consent` made, so no table, index, trigger or row changes. The
content types follow the models, so permissions granted on them keep working.
"""

from django.db import migrations, models

MODELS = ["auditentry", "auditcheck", "auditcheckpoint"]


def _move_content_types(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(
        ContentType.objects.filter(app_label=target, model__in=MODELS).values_list(
            "model", flat=True
        )
    )
    ContentType.objects.filter(app_label=source, model__in=set(MODELS) - taken).update(
        app_label=target
    )


def content_types_to_portal(apps, schema_editor):
    _move_content_types(apps, "consent", "portal")


def content_types_to_consent(apps, schema_editor):
    _move_content_types(apps, "portal", "consent")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_merge_backup_codes"),
        ("consent", "0011_audit_log_moves_to_portal"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditCheckpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('made_at', models.DateTimeField(verbose_name='made at')),
                        ('entry_id', models.BigIntegerField(verbose_name='head entry')),
                        ('entry_hash', models.CharField(max_length=64, verbose_name='head entry hash')),
                        ('entries', models.PositiveBigIntegerField(verbose_name='entries up to the head')),
                        ('key_id', models.CharField(max_length=16, verbose_name='key fingerprint')),
                        ('signature', models.CharField(max_length=64, verbose_name='signature (HMAC-SHA256)')),
                    ],
                    options={
                        'verbose_name': 'audit checkpoint',
                        'verbose_name_plural': 'audit checkpoints',
                        'db_table': 'consent_auditcheckpoint',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='AuditCheck',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('started_at', models.DateTimeField(verbose_name='started at')),
                        ('finished_at', models.DateTimeField(verbose_name='finished at')),
                        ('entries', models.PositiveBigIntegerField(verbose_name='entries checked intact')),
                        ('last_entry_id', models.BigIntegerField(blank=True, null=True, verbose_name='last entry checked')),
                        ('intact', models.BooleanField(verbose_name='intact')),
                        ('break_entry_id', models.BigIntegerField(blank=True, null=True, verbose_name='first broken entry')),
                        ('break_reason', models.CharField(blank=True, max_length=200, verbose_name='why it is broken')),
                        ('trigger', models.CharField(choices=[('schedule', 'scheduled check'), ('manual', 'command run by hand'), ('page', 'asked for on the dashboard'), ('export', 'evidence export')], max_length=16, verbose_name='trigger')),
                    ],
                    options={
                        'verbose_name': 'audit chain check',
                        'verbose_name_plural': 'audit chain checks',
                        'db_table': 'consent_auditcheck',
                        'ordering': ['-finished_at', '-id'],
                        'indexes': [models.Index(fields=['-finished_at'], name='auditcheck_recent')],
                    },
                ),
                migrations.CreateModel(
                    name='AuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('at', models.DateTimeField()),
                        ('event', models.CharField(max_length=64)),
                        ('actor_id', models.BigIntegerField(blank=True, null=True)),
                        ('person_id', models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ('building_id', models.BigIntegerField(blank=True, null=True)),
                        ('data', models.JSONField(default=dict)),
                        ('prev_hash', models.CharField(max_length=64)),
                        ('hash', models.CharField(max_length=64, unique=True)),
                    ],
                    options={
                        'verbose_name': 'audit entry',
                        'verbose_name_plural': 'audit entries',
                        'db_table': 'consent_auditentry',
                        'ordering': ['id'],
                        'indexes': [models.Index(fields=['building_id', '-id'], name='consent_aud_buildin_0e38a4_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_portal, content_types_to_consent),
    ]
