"""Database triggers that bump ``CatalogueVersion`` on every write to a catalogue table.

Why triggers rather than Django signals or a fingerprint: signals miss ``QuerySet.update``,
``bulk_create``, the generator's COPY and raw SQL; a ``max(updated_at)``/``count`` fingerprint
misses a meeting edited through ``update()`` (no ``auto_now``) and costs a scan of every table
per request. A trigger sees every statement, commits with the write it counts (a reader never
sees the new version without the new rows), and costs one indexed row read per cached request.

They are (re)installed after every ``migrate`` (``post_migrate``), for every table of the
directory app except the version itself and the history tables, so a catalogue table added
later is covered without a new migration, and SQLite's table rebuilds (which drop triggers)
are repaired. PostgreSQL: one statement-level trigger per table (a 5,000-row import bumps once
per statement, not per row); SQLite: row-level triggers, its only kind.
"""

from django.apps import apps
from django.db import connections

VERSION_TABLE = "directory_catalogueversion"
FUNCTION = "directory_catalogue_changed"

# Literal names (VERSION_TABLE, FUNCTION), no input: plain strings, not formatted SQL.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION directory_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory_catalogueversion (id, version, changed_at)
    VALUES (1, 1, clock_timestamp())
    ON CONFLICT (id) DO UPDATE
        SET version = directory_catalogueversion.version + 1, changed_at = clock_timestamp();
    RETURN NULL;
END
$$;
"""

_SQLITE_BUMP = (
    "INSERT INTO directory_catalogueversion (id, version, changed_at) "
    "VALUES (1, 1, strftime('%Y-%m-%d %H:%M:%f', 'now')) "
    "ON CONFLICT(id) DO UPDATE SET version = version + 1, changed_at = excluded.changed_at;"
)


def catalogue_tables() -> list[str]:
    """Every table of the directory app that the version counts writes to."""
    tables = set()
    for model in apps.get_app_config("directory").get_models(include_auto_created=True):
        meta = model._meta
        if meta.db_table == VERSION_TABLE or not meta.managed or meta.proxy:
            continue
        if meta.db_table.startswith("directory_historical"):
            continue  # history rows are written beside the rows they record
        tables.add(meta.db_table)
    return sorted(tables)


def trigger_name(table: str, operation: str = "") -> str:
    return f"catalogue_changed_{table}{'_' + operation if operation else ''}"


def install(using: str = "default") -> None:
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    if VERSION_TABLE not in existing:
        return  # migrated backwards past the version's table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
        for table in catalogue_tables():
            if table not in existing:
                continue
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                name = connection.ops.quote_name(trigger_name(table))
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quoted}")
                cursor.execute(
                    f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    f"ON {quoted} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
                )
            elif connection.vendor == "sqlite":
                for operation in ("INSERT", "UPDATE", "DELETE"):
                    name = connection.ops.quote_name(trigger_name(table, operation.lower()))
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {operation} ON {quoted} "
                        f"BEGIN {_SQLITE_BUMP} END"
                    )


def on_post_migrate(sender, using="default", **kwargs) -> None:
    if sender.name == "directory":
        install(using)
