"""Keeping ``Group.search_terms`` (the vocabulary words of the search document) current.

Called by the signals when a listing's needs, languages or areas change, or a vocabulary row is
renamed (directory/signals.py), and once at the end by writers that touch many listings at
a time (imports, the seed, the scale generator): inside :func:`deferred`, the signals collect
the listings and one refresh runs when the block ends.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager

from directory.models import Group, Meeting
from directory.rules import search_terms as rules

BATCH = 500
_pending = threading.local()


def _vocabulary(group_ids: list[int] | None) -> dict[int, dict[str, list]]:
    """For each listing, its (slug, name) needs, (code, name) languages and area names."""
    found: dict[int, dict[str, list]] = defaultdict(lambda: {"n": [], "l": [], "a": []})
    scope = {} if group_ids is None else {"group_id__in": group_ids}
    for group_id, slug, name in Group.needs.through.objects.filter(**scope).values_list(
        "group_id", "need__slug", "need__name"
    ):
        found[group_id]["n"].append((slug, name))
    for group_id, code, name in Group.languages.through.objects.filter(**scope).values_list(
        "group_id", "language__code", "language__name"
    ):
        found[group_id]["l"].append((code, name))
    # A listing with a meeting held in a language is found by that language, as the filter does.
    for group_id, code, name in (
        Meeting.objects.filter(**scope, language__isnull=False)
        .values_list("group_id", "language__code", "language__name")
        .distinct()
    ):
        found[group_id]["l"].append((code, name))
    for group_id, name in Group.service_areas.through.objects.filter(**scope).values_list(
        "group_id", "servicearea__name"
    ):
        found[group_id]["a"].append(name)
    return found


def refresh(group_ids: Iterable[int] | None = None) -> int:
    """Recompute the listings' vocabulary words (all listings when None); how many changed."""
    if group_ids is not None:
        group_ids = sorted(set(group_ids))
        if not group_ids:
            return 0
        pending = getattr(_pending, "ids", None)
        if pending is not None:  # inside deferred(): once, at the end
            pending.update(group_ids)
            return 0
    vocabulary = _vocabulary(group_ids)
    listings = Group.objects.order_by("pk").only("pk", "search_terms")
    if group_ids is not None:
        listings = listings.filter(pk__in=group_ids)
    changed = []
    for group in listings.iterator(chunk_size=2000):
        words = vocabulary.get(group.pk, {"n": [], "l": [], "a": []})
        text = rules.terms(needs=words["n"], languages=words["l"], areas=words["a"])
        if text != group.search_terms:
            group.search_terms = text
            changed.append(group)
    Group.objects.bulk_update(changed, ["search_terms"], batch_size=BATCH)
    return len(changed)


@contextmanager
def deferred():
    """Collect the listings whose vocabulary changes inside the block; refresh them once."""
    outer = getattr(_pending, "ids", None)
    if outer is not None:  # nested: the outermost block refreshes
        yield
        return
    _pending.ids = set()
    try:
        yield
        ids = _pending.ids
    finally:
        _pending.ids = None
    refresh(ids)
