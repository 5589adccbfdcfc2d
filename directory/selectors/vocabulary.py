"""The directory's small vocabularies (needs, headings, types, service areas, languages), kept
in each process's memory under the catalogue's version.

They change a few times a year, and the staff search reads five of them on every request.
Each request's user comes with the catalogue's version and the moment it last changed, read in
the user's own query (``accounts.backends``, ``settings.VERSIONS_READ_WITH_USER``), so a kept
list is used only while both still match: every committed write to a catalogue table bumps
them (database triggers, ``directory/catalogue_version.py``) and the next request reads the
list again. The moment is part of the key because a number alone can repeat: a write rolled
back after a request inside its transaction read a list leaves the same number to the next
write. Before the catalogue's first write (no moment yet) nothing is kept.

The rows are shared by every request of the process: callers only read them.
"""

from __future__ import annotations

from django.db.models import QuerySet

_kept: dict[str, tuple[tuple, dict]] = {}


def stamp_of(user) -> tuple | None:
    """The catalogue's (version, changed_at) read with ``user``, or None when it was not."""
    changed_at = getattr(user, "catalogue_version_at", None)
    if changed_at is None:
        return None
    return (getattr(user, "catalogue_version", None), changed_at)


def rows_by(name: str | None, queryset: QuerySet, key: str, stamp: tuple | None) -> dict:
    """The rows of ``queryset`` in its order, by ``key`` as text: kept under ``name`` while
    the catalogue is at ``stamp``; read each time without a name or a stamp."""
    if name is not None and stamp is not None:
        kept = _kept.get(name)
        if kept is not None and kept[0] == stamp:
            return kept[1]
    rows = {str(getattr(row, key)): row for row in queryset}
    if name is not None and stamp is not None:
        _kept[name] = (stamp, rows)
    return rows


def forget() -> None:
    """Drop every kept list (for tests that compare a cold read with a kept one)."""
    _kept.clear()
