"""The database refuses UPDATE and DELETE on audit entries (PostgreSQL; SQLite is a local demo)."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION consent_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER consent_auditentry_append_only
BEFORE UPDATE OR DELETE ON consent_auditentry
FOR EACH ROW EXECUTE FUNCTION consent_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS consent_auditentry_append_only ON consent_auditentry;
DROP FUNCTION IF EXISTS consent_audit_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: "%" stays literal
            cursor.execute(FUNCTION)
            cursor.execute(TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_purposes_notices_assessments_consents_audit")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
