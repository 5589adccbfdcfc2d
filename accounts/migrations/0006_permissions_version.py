"""The version of roles and permissions that the permission sets kept in sessions are checked
against (accounts/permission_cache.py). Its triggers are installed after every migrate; going
back past this migration drops them first, so no trigger is left writing to a missing table."""

import django.utils.timezone
from django.db import migrations, models


def drop_triggers(apps, schema_editor):
    from accounts import permission_cache

    connection = schema_editor.connection
    existing = set(connection.introspection.table_names())
    for table in permission_cache.permission_tables():
        if table not in existing:
            continue
        quoted = connection.ops.quote_name(table)
        if connection.vendor == "postgresql":
            name = connection.ops.quote_name(permission_cache.trigger_name(table))
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quoted}")
        elif connection.vendor == "sqlite":
            for operation in ("insert", "update", "delete"):
                name = connection.ops.quote_name(permission_cache.trigger_name(table, operation))
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {permission_cache.FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_sign_in_locks_enrolment_codes"),
    ]

    operations = [
        migrations.CreateModel(
            name="PermissionsVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("version", models.BigIntegerField(default=0)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_triggers),
    ]
