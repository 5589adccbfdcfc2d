"""Folding text for searches that ignore accents: "García" finds "Garcia" and back.

PostgreSQL has the ``unaccent`` extension; SQLite (the demo and a CI pass) gets a function of
the same name on each connection, so one query expression (``Unaccent``) works on both.
"""

import unicodedata

from django.db.models import Func, TextField


def fold(text: str) -> str:
    """Lower case, accents removed (NFKD, combining marks dropped): "Español" → "espanol"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _unaccent(value):
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", str(value))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def add_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("unaccent", 1, _unaccent, deterministic=True)


class Unaccent(Func):
    """``unaccent(text)``: PostgreSQL's extension, or the SQLite function above."""

    function = "unaccent"
    output_field = TextField()
