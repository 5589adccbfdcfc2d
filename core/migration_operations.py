"""Index operations that build CONCURRENTLY on PostgreSQL and plainly elsewhere (SQLite).

The access log, attendance and referrals are written by every request at county size; a plain
CREATE INDEX would block those writes for the minutes a build takes. Migrations using these
must be non-atomic (``atomic = False``). A failed concurrent build leaves an INVALID index of
the same name: drop it (``DROP INDEX CONCURRENTLY <name>``) and migrate again.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently


def on_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; a plain AddIndex elsewhere (the class after
    AddIndexConcurrently in the order of bases that has the step is AddIndex)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        operation = super() if on_postgresql(schema_editor) else super(AddIndexConcurrently, self)
        operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        operation = super() if on_postgresql(schema_editor) else super(AddIndexConcurrently, self)
        operation.database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyOnPostgreSQL(RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL; a plain RemoveIndex elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        operation = (
            super() if on_postgresql(schema_editor) else super(RemoveIndexConcurrently, self)
        )
        operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        operation = (
            super() if on_postgresql(schema_editor) else super(RemoveIndexConcurrently, self)
        )
        operation.database_backwards(app_label, schema_editor, from_state, to_state)
