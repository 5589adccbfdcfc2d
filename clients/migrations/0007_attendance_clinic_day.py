"""Attendance indexed by (clinic, date, status), in place of (clinic, date).

The supervisor review counts a clinic's attendance per day and status for its weekly chart
(referrals/review.py, ``attendance_by_week``); with the status in the index the count reads the
index alone, not every attendance row of the period (tens of thousands at the county's largest
clinic). Every read that used (clinic, date) uses its longer form as well, so it replaces it.

Attendance is written all day, so on PostgreSQL the index is built and the old one dropped
CONCURRENTLY (hence a migration that is not atomic). If the build fails it leaves an INVALID
index of the same name: drop it (``DROP INDEX CONCURRENTLY attendance_clinic_day``) and migrate
again. SQLite builds it plainly.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


def _on_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; a plain AddIndex elsewhere (the class after
    AddIndexConcurrently in the order of bases that has the step is AddIndex)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        operation = super() if _on_postgresql(schema_editor) else super(AddIndexConcurrently, self)
        operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        operation = super() if _on_postgresql(schema_editor) else super(AddIndexConcurrently, self)
        operation.database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyOnPostgreSQL(RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL; a plain RemoveIndex elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        operation = (
            super() if _on_postgresql(schema_editor) else super(RemoveIndexConcurrently, self)
        )
        operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        operation = (
            super() if _on_postgresql(schema_editor) else super(RemoveIndexConcurrently, self)
        )
        operation.database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("clients", "0006_roles_feedback"),
    ]

    # The new index first: the date's reads always have one of the two.
    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="attendance",
            index=models.Index(
                fields=["clinic", "on_date", "status"], name="attendance_clinic_day"
            ),
        ),
        RemoveIndexConcurrentlyOnPostgreSQL(model_name="attendance", name="attendance_clinic_date"),
    ]
