"""Accent- and case-insensitive matching of names, the same on PostgreSQL and SQLite.

"Garcia" must find García and "maria" María: a client searched for and not found is a client
added twice. On PostgreSQL ``Fold`` is ``lower(unaccent(...))`` (the ``unaccent`` extension,
created by the clients app's migration); SQLite has no such function, so the same ``fold``
this module applies to the search terms is registered on the connection as ``unaccent``.
The terms are folded in Python, so both sides of the comparison are folded alike.
"""

from __future__ import annotations

import unicodedata

from django.db.models import CharField, Func
from django.db.models.functions import Lower


def fold(text: str) -> str:
    """Lower case, without accents: "María Ñúñez" → "maria nunez"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _unaccent(text):
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Unaccent(Func):
    function = "unaccent"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        # Registered on each use: cheap, and true of every connection whenever it was opened.
        connection.ensure_connection()
        connection.connection.create_function("unaccent", 1, _unaccent, deterministic=True)
        return self.as_sql(compiler, connection, **extra)


def Fold(expression) -> Func:  # noqa: N802 (an expression, named like one)
    """The column lower-cased and without accents, to compare with ``fold(term)``."""
    return Lower(Unaccent(expression))
