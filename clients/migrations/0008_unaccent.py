"""PostgreSQL's unaccent extension, for finding clients whatever the accents typed
(core.search). Nothing on SQLite, where the function is registered on the connection."""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0007_attendance_clinic_day"),
    ]

    operations = [UnaccentExtension()]
