"""The headcount triggers take the audit chain's lock before they touch a count row.

Enrolment wrote its template (and, through the trigger, the headcount row) before its audit
entry took the audit lock; a withdrawal takes the audit lock first and deletes templates
after. Each could hold one and wait for the other. Taking the audit lock here, first, gives
every writer the same order. Statements that change no person's number of templates (a
template replaced, a key rotation) take nothing. Rows are upserted in key order as well.
"""

from django.db import migrations

# consent.audit._ADVISORY_LOCK_KEY; a test checks that the two agree.
AUDIT_LOCK_KEY = 0x5A_CE_C0_A5

_DELTAS = {
    "insert": "SELECT person_id, 1 AS delta FROM new_rows",
    "delete": "SELECT person_id, -1 AS delta FROM old_rows",
}
_DELTAS["update"] = f"{_DELTAS['insert']} UNION ALL {_DELTAS['delete']}"

_BODY = """
BEGIN
    IF EXISTS (
        SELECT 1 FROM ({deltas}) AS d GROUP BY person_id HAVING sum(delta) <> 0
    ) THEN
        PERFORM pg_advisory_xact_lock({key});
        -- The one row, again if a test emptied every table: they all start from nothing.
        INSERT INTO recognition_faceheadcount (id, people) VALUES (1, 0)
        ON CONFLICT (id) DO NOTHING;
        WITH applied AS (
            INSERT INTO recognition_faceperson (person_id, templates)
            SELECT person_id, sum(delta) FROM ({deltas}) AS d
            GROUP BY person_id HAVING sum(delta) <> 0
            ORDER BY person_id
            ON CONFLICT (person_id)
            DO UPDATE SET templates = recognition_faceperson.templates + EXCLUDED.templates
            RETURNING (xmax = 0) AS first
        )
        UPDATE recognition_faceheadcount
        SET people = people + (SELECT count(*) FROM applied WHERE first) WHERE id = 1;
        WITH gone AS (
            DELETE FROM recognition_faceperson
            WHERE templates <= 0 AND person_id IN (SELECT person_id FROM ({deltas}) AS d)
            RETURNING 1
        )
        UPDATE recognition_faceheadcount
        SET people = people - (SELECT count(*) FROM gone) WHERE id = 1;
    END IF;
    RETURN NULL;
END;
"""


def replace_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for event, deltas in _DELTAS.items():
            body = _BODY.format(deltas=deltas, key=AUDIT_LOCK_KEY)
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION face_headcount_{event}() RETURNS trigger AS $$"
                f"{body}$$ LANGUAGE plpgsql"
            )


class Migration(migrations.Migration):
    dependencies = [("recognition", "0006_headcount_kept_by_triggers")]

    # Backwards, the functions stay as they are: they keep the same counts either way.
    operations = [migrations.RunPython(replace_functions, migrations.RunPython.noop)]
