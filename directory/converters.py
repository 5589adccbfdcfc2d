"""The path converter of a listing's address, ``/directory/<slug>/``.

A listing's slug is never the first word of another directory page's address, so that the
site admins' and the exchange's pages stay reachable whatever order the routes are listed in.
"""

import functools

from django.urls.converters import SlugConverter


@functools.cache
def _other_pages_first_words() -> frozenset[str]:
    """The first word of every other directory page's address: "new", "manage", "import"..."""
    from directory.urls import urlpatterns  # at first use: that module registers this one

    words = set()
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        first, slash, _ = route.partition("/")
        if slash and first and "<" not in first and pattern.name != "group":
            words.add(first)
    return frozenset(words)


class ListingSlugConverter(SlugConverter):
    """A listing's slug, but never the first word of another directory page's address.

    The listing's page is ``/directory/<slug>/``; the site admins' and the exchange's pages
    (``/directory/new/``, ``/directory/manage/``, ``/directory/import/``...) would be read as
    slugs if this route came before theirs. Refusing those words (a ValueError here means "no
    match, try the next route") keeps every page reachable whatever order the routes are in.
    """

    def to_python(self, value):
        if value in _other_pages_first_words():
            raise ValueError(value)
        return value
