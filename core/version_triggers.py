"""A one-row version counter that database triggers bump on every write to a set of tables.

Why triggers rather than Django signals: signals miss ``QuerySet.update``, ``bulk_create``,
COPY, raw SQL and the historical models of data migrations. A trigger sees every statement
and commits with the write it counts, so a reader never sees the new version without the new
rows. Used for the catalogue (directory/catalogue_version.py) and for roles and permissions
(accounts/permission_cache.py).

PostgreSQL: one statement-level trigger per table (a bulk write bumps once per statement);
SQLite: row-level triggers, its only kind. Installing is idempotent and runs after every
``migrate`` (SQLite's table rebuilds drop triggers).
"""

from django.db import connections


def trigger_name(prefix: str, table: str, operation: str = "") -> str:
    return f"{prefix}_{table}{'_' + operation if operation else ''}"


def install(
    *, version_table: str, function: str, prefix: str, tables, using: str = "default"
) -> None:
    """(Re)install ``prefix``'s triggers on ``tables``, each bumping row 1 of
    ``version_table`` (columns ``id``, ``version``, ``changed_at``).

    Every name comes from the code, never from input: the SQL is formatted, not parametrised.
    """
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    if version_table not in existing:
        return  # migrated backwards past the version's table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"  # noqa: S608  # nosec B608
                "BEGIN\n"
                f"    INSERT INTO {version_table} (id, version, changed_at)\n"
                "    VALUES (1, 1, clock_timestamp())\n"
                "    ON CONFLICT (id) DO UPDATE\n"
                f"        SET version = {version_table}.version + 1,"
                " changed_at = clock_timestamp();\n"
                "    RETURN NULL;\n"
                "END\n"
                "$$;"
            )
        bump = (
            f"INSERT INTO {version_table} (id, version, changed_at) "  # noqa: S608  # nosec B608
            "VALUES (1, 1, strftime('%Y-%m-%d %H:%M:%f', 'now')) "
            "ON CONFLICT(id) DO UPDATE SET version = version + 1, "
            "changed_at = excluded.changed_at;"
        )
        for table in tables:
            if table not in existing:
                continue
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                name = connection.ops.quote_name(trigger_name(prefix, table))
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quoted}")
                cursor.execute(
                    f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    f"ON {quoted} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )
            elif connection.vendor == "sqlite":
                for operation in ("INSERT", "UPDATE", "DELETE"):
                    name = connection.ops.quote_name(trigger_name(prefix, table, operation.lower()))
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {operation} ON {quoted} "
                        f"BEGIN {bump} END"
                    )
