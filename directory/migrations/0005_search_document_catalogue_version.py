"""The stored search document and the catalogue's version.

* ``unaccent`` (``CREATE EXTENSION IF NOT EXISTS``: harmless where another app made it) and
  ``directory_unaccent``, its IMMUTABLE wrapper pinned to the extension's dictionary, which a
  generated column needs (directory/search_document.py).
* ``Group.search_terms`` filled for the listings already there, then the generated
  ``search_document`` and its GIN index; the expression index of 0003 is replaced by it.
* ``CatalogueVersion``: its triggers are installed after every migrate (directory/signals.py).
"""

import django.utils.timezone
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations, models

import directory.search_document
from directory.rules import search_terms as rules

UNACCENT_FUNCTION = """
CREATE OR REPLACE FUNCTION directory_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


def fill_search_terms(apps, schema_editor):
    Group = apps.get_model("directory", "Group")
    words = {}
    for group_id, slug, name in Group.needs.through.objects.values_list(
        "group_id", "need__slug", "need__name"
    ):
        words.setdefault(group_id, ([], [], []))[0].append((slug, name))
    for group_id, code, name in Group.languages.through.objects.values_list(
        "group_id", "language__code", "language__name"
    ):
        words.setdefault(group_id, ([], [], []))[1].append((code, name))
    Meeting = apps.get_model("directory", "Meeting")
    for group_id, code, name in (
        Meeting.objects.filter(language__isnull=False)
        .values_list("group_id", "language__code", "language__name")
        .distinct()
    ):
        words.setdefault(group_id, ([], [], []))[1].append((code, name))
    for group_id, name in Group.service_areas.through.objects.values_list(
        "group_id", "servicearea__name"
    ):
        words.setdefault(group_id, ([], [], []))[2].append(name)
    changed = []
    for group in Group.objects.only("pk").iterator(chunk_size=2000):
        needs, languages, areas = words.get(group.pk, ([], [], []))
        group.search_terms = rules.terms(needs=needs, languages=languages, areas=areas)
        changed.append(group)
    Group.objects.bulk_update(changed, ["search_terms"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0004_criterion_status_meeting_address"),
    ]

    operations = [
        UnaccentExtension(),
        migrations.RunPython(on_postgresql(UNACCENT_FUNCTION), migrations.RunPython.noop),
        migrations.CreateModel(
            name="CatalogueVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("version", models.BigIntegerField(default=0)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name="group",
            name="search_terms",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_terms, migrations.RunPython.noop),
        migrations.AddField(
            model_name="group",
            name="search_document",
            field=models.GeneratedField(
                db_persist=True,
                expression=directory.search_document.SearchDocument(
                    "name", "aliases", "description", "search_terms"
                ),
                output_field=directory.search_document.SearchDocumentField(),
            ),
        ),
        migrations.RunPython(
            on_postgresql(
                "CREATE INDEX IF NOT EXISTS directory_group_document "
                "ON directory_group USING gin (search_document)"
            ),
            on_postgresql("DROP INDEX IF EXISTS directory_group_document"),
        ),
        migrations.RunPython(
            on_postgresql("DROP INDEX IF EXISTS directory_group_search"), migrations.RunPython.noop
        ),
    ]
