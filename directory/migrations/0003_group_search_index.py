"""A GIN index for the directory's full-text search on PostgreSQL (policy VII.C–D).

An expression index, not a stored column: the expression is the very one
``directory.selectors.search.group_document()`` builds (name and aliases weighted A, description C, in the
``english`` configuration), so the planner uses the index for the query's ``@@`` and nothing
has to keep a column in step with the row. ``aliases`` is a JSON list; ``jsonb::text`` keeps its
strings and the parser drops the brackets and quotes, so the aliases are searchable words too.

Needs are a many-to-many relation and cannot be part of an index on the group's row. The search
matches them on the ``directory_need`` table (a taxonomy of a few dozen rows, scanned in well
under a millisecond) and reaches the groups through the indexed foreign key of
``directory_group_needs``, in a UNION with the indexed match on the group (see search.py).

tests/integration/directory/test_browse.py (``test_full_text_search_uses_the_index``) runs the
real query under EXPLAIN and fails if the two expressions ever drift apart. SQLite has no such
index: its fallback search is a scan, fine for a demo's few hundred rows.
"""

from django.db import migrations

INDEX_NAME = "directory_group_search"

# Keep in step with directory.selectors.search.group_document(); the test above proves it.
GROUP_DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(name, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, COALESCE((aliases)::text, '')), 'A'))"
    " || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'C')"
)

CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON directory_group USING gin (({GROUP_DOCUMENT}))"
)
DROP = f"DROP INDEX IF EXISTS {INDEX_NAME}"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("directory", "0002_roles")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
