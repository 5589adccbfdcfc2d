from django.apps import AppConfig
from django.db.backends.signals import connection_created


class DirectoryConfig(AppConfig):
    name = "directory"

    def ready(self):
        from core import text
        from directory import signals

        signals.connect()
        # SQLite's stand-in for PostgreSQL's unaccent(), for the accent-insensitive searches.
        connection_created.connect(text.add_sqlite_functions, dispatch_uid="sqlite-unaccent")
