"""Two indexes for the search's area and language filters: which listings meet in an area or a
language, read from the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0008_merge_search_document"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="meeting",
            index=models.Index(fields=["service_area", "group"], name="meeting_area_group"),
        ),
        migrations.AddIndex(
            model_name="meeting",
            index=models.Index(fields=["language", "group"], name="meeting_language_group"),
        ),
    ]
