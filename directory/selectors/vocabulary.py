"""The directory's small vocabularies (needs, headings, types, service areas, languages), and
which listings each area and language reaches, kept in each process's memory under the
catalogue's version.

They change a few times a year, and the staff search reads five of them on every request;
its area and language filters looked up the listings of an area (its own, its contacts', its
meetings') and of a language (its own, its meetings') in subqueries of every search.
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

from collections import defaultdict
from collections.abc import Callable

from django.db.models import QuerySet

from directory.models import Contact, Group, Meeting

_kept: dict[str, tuple[tuple, object]] = {}


def stamp_of(user) -> tuple | None:
    """The catalogue's (version, changed_at) read with ``user``, or None when it was not."""
    changed_at = getattr(user, "catalogue_version_at", None)
    if changed_at is None:
        return None
    return (getattr(user, "catalogue_version", None), changed_at)


def kept[T](name: str | None, stamp: tuple | None, read: Callable[[], T]) -> T:
    """What ``read()`` returns, kept under ``name`` while the catalogue is at ``stamp``; read
    each time without a name or a stamp."""
    if name is None or stamp is None:
        return read()
    entry = _kept.get(name)
    if entry is not None and entry[0] == stamp:
        return entry[1]
    value = read()
    _kept[name] = (stamp, value)
    return value


def rows_by(name: str | None, queryset: QuerySet, key: str, stamp: tuple | None) -> dict:
    """The rows of ``queryset`` in its order, by ``key`` as text (``kept``)."""
    return kept(name, stamp, lambda: {str(getattr(row, key)): row for row in queryset})


def _grouped(*pairs) -> dict[int, frozenset[int]]:
    found: defaultdict[int, set[int]] = defaultdict(set)
    for rows in pairs:
        for key, group_id in rows:
            found[key].add(group_id)
    return {key: frozenset(ids) for key, ids in found.items()}


def listings_by_area(stamp: tuple | None) -> dict[int, frozenset[int]]:
    """Each service area's listings (archived ones too): mapped to the area themselves, or
    through one of their contacts or meetings (``kept``)."""
    return kept(
        "listings_by_area",
        stamp,
        lambda: _grouped(
            Group.service_areas.through.objects.values_list("servicearea_id", "group_id"),
            Contact.service_areas.through.objects.values_list(
                "servicearea_id", "contact__group_id"
            ),
            Meeting.objects.filter(service_area__isnull=False)
            .order_by()
            .values_list("service_area_id", "group_id")
            .distinct(),
        ),
    )


def listings_by_language(stamp: tuple | None) -> dict[int, frozenset[int]]:
    """Each language's listings (archived ones too): in the language themselves, or with a
    meeting held in it (``kept``)."""
    return kept(
        "listings_by_language",
        stamp,
        lambda: _grouped(
            Group.languages.through.objects.values_list("language_id", "group_id"),
            Meeting.objects.filter(language__isnull=False)
            .order_by()
            .values_list("language_id", "group_id")
            .distinct(),
        ),
    )
