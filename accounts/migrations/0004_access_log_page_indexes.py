"""Indexes for the access-log page's keyset pages, built without stopping the log's writes.

The supervisor's page reads a clinic's log newest first, from an (occurred_at, id) cursor,
filtered by action, client or staff member
(``accounts.selectors.access_log.access_event_page``). Each new index gives one of those reads
its rows in that order, so a page stops after its rows:

- (clinic, occurred_at desc, id desc) replaces (clinic, occurred_at desc), of which it is a
  longer form (the id settles ties, and the cursor's range starts on it);
- (clinic, action, occurred_at desc, id desc): a rare action (exports, lockouts) no longer
  means reading the clinic's whole log back to its last one;
- (object_type, object_id, occurred_at desc, id desc) replaces (object_type, object_id): a
  client's events in order, a page at a time;
- the foreign keys' own one-column indexes go: the indexes above begin with those columns.

At county scale the table holds tens of millions of rows and every request writes to it. A
plain CREATE INDEX would block those writes (every page) for the minutes the build takes, so
on PostgreSQL the indexes are built and the old ones dropped CONCURRENTLY (hence a migration
that is not atomic). If a concurrent build fails it leaves an INVALID index of the same name:
drop it (``DROP INDEX CONCURRENTLY access_...``) and migrate again. SQLite, the local demo's
database, builds them plainly. Figures: docs/SCALING.md, "The access log".
"""

from django.conf import settings
from django.db import migrations, models

from core.migration_operations import (
    AddIndexConcurrentlyOnPostgreSQL,
    RemoveIndexConcurrentlyOnPostgreSQL,
    on_postgresql,
)

FOREIGN_KEY_COLUMNS = ["clinic_id", "user_id"]


def drop_foreign_key_indexes(apps, schema_editor):
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    concurrently = "CONCURRENTLY " if on_postgresql(schema_editor) else ""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "accounts_accessevent")
    for name, about in constraints.items():
        one_column_index = about["index"] and not (about["unique"] or about["primary_key"])
        if one_column_index and about["columns"] in [[column] for column in FOREIGN_KEY_COLUMNS]:
            schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {quote(name)}")


def create_foreign_key_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    concurrently = "CONCURRENTLY " if on_postgresql(schema_editor) else ""
    for column in FOREIGN_KEY_COLUMNS:
        name = quote(f"accounts_accessevent_{column}_fk")
        schema_editor.execute(
            f"CREATE INDEX {concurrently}{name} ON accounts_accessevent ({quote(column)})"
        )


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("accounts", "0003_access_log_append_only_in_database"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The new indexes first, so the page always has one to read from.
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="accessevent",
            index=models.Index(
                fields=["clinic", "-occurred_at", "-id"], name="access_clinic_time_id"
            ),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="accessevent",
            index=models.Index(
                fields=["clinic", "action", "-occurred_at", "-id"],
                name="access_clinic_action_time",
            ),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="accessevent",
            index=models.Index(
                fields=["object_type", "object_id", "-occurred_at", "-id"],
                name="access_object_time",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgreSQL(model_name="accessevent", name="access_clinic_time"),
        RemoveIndexConcurrentlyOnPostgreSQL(model_name="accessevent", name="access_object"),
        # The foreign keys' own indexes. AlterField would also drop and re-add the foreign-key
        # constraints, and re-adding one checks every row while writes wait: so the state
        # changes as AlterField says, and the database only loses the two indexes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accessevent",
                    name=name,
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="access_events",
                        to=to,
                    ),
                )
                for name, to in [("clinic", "accounts.clinic"), ("user", settings.AUTH_USER_MODEL)]
            ],
            database_operations=[
                migrations.RunPython(drop_foreign_key_indexes, create_foreign_key_indexes)
            ],
        ),
    ]
