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

from core import version_triggers

VERSION_TABLE = "directory_catalogueversion"
FUNCTION = "directory_catalogue_changed"
PREFIX = "catalogue_changed"


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
    return version_triggers.trigger_name(PREFIX, table, operation)


def install(using: str = "default") -> None:
    version_triggers.install(
        version_table=VERSION_TABLE,
        function=FUNCTION,
        prefix=PREFIX,
        tables=catalogue_tables(),
        using=using,
    )


def on_post_migrate(sender, using="default", **kwargs) -> None:
    if sender.name == "directory":
        install(using)
