"""On PostgreSQL the database itself refuses to change or delete access-log rows.

The ORM already refuses (``AccessEventQuerySet``, ``AccessEvent.save``); this trigger covers
raw SQL and any other client. TRUNCATE, which only the schema owner can run and which the test
suite uses to reset tables, is not a row change and is not blocked. SQLite, the local demo's
database, relies on the ORM guard alone.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_accessevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_accessevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_accessevent
    FOR EACH ROW EXECUTE FUNCTION accounts_accessevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_accessevent_append_only ON accounts_accessevent;
DROP FUNCTION IF EXISTS accounts_accessevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # no placeholders: keep the % as is


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
