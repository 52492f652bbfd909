"""The consent-count triggers take the audit chain's lock before they touch a count row.

Every consent writer takes that lock anyway (its audit entry); taking it first, here, gives
every transaction the same order (audit lock, then count rows, then face data further on), so
two writers can never hold one each and wait for the other. Statements that change no count
(a notice pointer, a receipt id) take nothing. Rows are upserted in key order as well.
"""

from django.db import migrations

# consent.audit._ADVISORY_LOCK_KEY; a test checks that the two agree.
AUDIT_LOCK_KEY = 0x5A_CE_C0_A5

_DELTAS = {
    "insert": "SELECT purpose_id, status, renewal_needed_at IS NOT NULL AS awaiting_renewal, "
    "1 AS delta FROM new_rows",
    "delete": "SELECT purpose_id, status, renewal_needed_at IS NOT NULL AS awaiting_renewal, "
    "-1 AS delta FROM old_rows",
}
_DELTAS["update"] = f"{_DELTAS['insert']} UNION ALL {_DELTAS['delete']}"

_BODY = """
BEGIN
    IF EXISTS (
        SELECT 1 FROM ({deltas}) AS d
        GROUP BY purpose_id, status, awaiting_renewal HAVING sum(delta) <> 0
    ) THEN
        PERFORM pg_advisory_xact_lock({key});
        INSERT INTO consent_consentcount (purpose_id, status, awaiting_renewal, count)
        SELECT purpose_id, status, awaiting_renewal, sum(delta) FROM ({deltas}) AS d
        GROUP BY purpose_id, status, awaiting_renewal
        HAVING sum(delta) <> 0
        ORDER BY purpose_id, status, awaiting_renewal
        ON CONFLICT (purpose_id, status, awaiting_renewal)
        DO UPDATE SET count = consent_consentcount.count + EXCLUDED.count;
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
                f"CREATE OR REPLACE FUNCTION consent_count_{event}() RETURNS trigger AS $$"
                f"{body}$$ LANGUAGE plpgsql"
            )


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_consent_counts_kept_by_triggers")]

    # Backwards, the functions stay as they are: they keep the same counts either way.
    operations = [migrations.RunPython(replace_functions, migrations.RunPython.noop)]
