"""The database refuses TRUNCATE of the audit log (PostgreSQL), as it refuses UPDATE and DELETE.

A test database sets `portal.audit_truncate = on` on its connections so Django can empty it
between tests; no production setting does.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION consent_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('portal.audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER consent_auditentry_no_truncate
BEFORE TRUNCATE ON consent_auditentry
FOR EACH STATEMENT EXECUTE FUNCTION consent_audit_no_truncate();
"""
DROP = """
DROP TRIGGER IF EXISTS consent_auditentry_no_truncate ON consent_auditentry;
DROP FUNCTION IF EXISTS consent_audit_no_truncate();
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
    dependencies = [("consent", "0005_consent_count_triggers_take_the_audit_lock")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
