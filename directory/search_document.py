"""The listing's stored search document: one ``tsvector`` column PostgreSQL keeps in step.

``Group.search_document`` is a generated (stored) column over the listing's name and aliases
(weight A), the words of its needs, languages and areas (``search_terms``, weight B) and its
description (C), each passed through ``unaccent`` and parsed in both the ``english`` and the
``spanish`` configuration, so "depresión", "depresion" and "depression" all reach it and each
language's stemming applies. Being stored, ranking reads it instead of re-parsing every match's
text (measured: 19.4 ms for the county's matches, 2.4 ms stored); a GIN index serves ``@@``.

``unaccent()`` is only STABLE (its dictionary could change), and a generated column needs an
IMMUTABLE expression: migration 0005 wraps it as ``directory_unaccent``, pinned to its
dictionary, the usual way to index it.

SQLite has no ``tsvector``: the column is a NULL text there, and the search falls back to an
accent-folding substring match (directory.selectors.search).
"""

from django.contrib.postgres.search import SearchVectorField
from django.db.models import Func, TextField

CONFIGS = ("english", "spanish")
# (expression, weight) pairs: which text gets which weight.
WEIGHTED = (
    ("COALESCE({name}, '') || ' ' || COALESCE(({aliases})::text, '')", "A"),
    ("COALESCE({search_terms}, '')", "B"),
    ("COALESCE({description}, '')", "C"),
)


class SearchDocumentField(SearchVectorField):
    """``tsvector`` on PostgreSQL, a plain (always NULL) text column elsewhere."""

    def db_type(self, connection):
        return "tsvector" if connection.vendor == "postgresql" else "text"


class SearchDocument(Func):
    """The generated column's expression; arguments: name, aliases, description, search_terms."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra_context):
        parts = {}
        for key, expression in zip(
            ("name", "aliases", "description", "search_terms"),
            self.get_source_expressions(),
            strict=True,
        ):
            sql, params = compiler.compile(expression)
            if params:  # columns only: a generated column takes no parameters
                raise ValueError("The search document is made of columns only.")
            parts[key] = sql
        pieces = [
            f"setweight(to_tsvector('{config}'::regconfig, "
            f"directory_unaccent({text.format(**parts)})), '{weight}')"
            for text, weight in WEIGHTED
            for config in CONFIGS
        ]
        return "(" + " || ".join(pieces) + ")", []
