"""Attendance indexed by (clinic, date, status), in place of (clinic, date).

The supervisor review counts a clinic's attendance per day and status for its weekly chart
(clients/selectors/review.py, ``attendance_by_week``); with the status in the index the count reads the
index alone, not every attendance row of the period (tens of thousands at the county's largest
clinic). Every read that used (clinic, date) uses its longer form as well, so it replaces it.

Attendance is written all day, so on PostgreSQL the index is built and the old one dropped
CONCURRENTLY (hence a migration that is not atomic). If the build fails it leaves an INVALID
index of the same name: drop it (``DROP INDEX CONCURRENTLY attendance_clinic_day``) and migrate
again. SQLite builds it plainly.
"""

from django.db import migrations, models

from core.migration_operations import (
    AddIndexConcurrentlyOnPostgreSQL,
    RemoveIndexConcurrentlyOnPostgreSQL,
)


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
