"""The audit log's models move to the base layer (`portal`): state only.

The tables keep their names (`consent_auditentry`, `consent_auditcheck`,
`consent_auditcheckpoint`), rows, indexes and triggers (0002, 0004-0006 name them);
`portal`'s migration 0007 takes the models over with `db_table` set to these names.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0010_merge_audit_checkpoints_and_public_security"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditCheck"),
                migrations.DeleteModel(name="AuditCheckpoint"),
                migrations.DeleteModel(name="AuditEntry"),
            ],
            database_operations=[],
        ),
    ]
