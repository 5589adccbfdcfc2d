"""Keyset pagination: "previous" and "next" pages of a list that may hold thousands of rows.

Django's ``Paginator`` counts every row of the list (``COUNT(*)``) on each request and reaches
page *n* with ``OFFSET``, which reads and throws away every row before it. On a list that grows
with the county (a big clinic's 10,000 clients) both cost in proportion to the list, not to the
page. A keyset page instead starts from a row of the previous page, the *anchor*: the rows that
sort after it (or before it), as many as a page holds. The database finds them in the list's
index, so a page costs the same whether it is the first or the four hundredth, and nothing is
counted. What is lost is "page 7 of 400"; such lists offer the first page, the previous and the
next, and a search for anything further away.

The anchor travels in the address as the row's database id (``?after=<id>`` or
``?before=<id>``), never as the values it sorts by: those are names, and names stay out of
addresses. The anchor is looked up in the same queryset, so an id outside the list (another
clinic's client, a deleted row, a tampered address) gives the first page.

The queryset must be ordered by plain fields (joins allowed) that are never NULL and end with
the primary key, so that the order is total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
from django.http import QueryDict

AFTER, BEFORE = "after", "before"


@dataclass
class KeysetPage:
    """A page of rows, and what the previous and next links need."""

    object_list: list
    has_previous: bool
    has_next: bool
    is_first: bool
    query: QueryDict = field(repr=False, default_factory=QueryDict)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def _url(self, key: str | None, row) -> str:
        query = self.query.copy()
        for name in (AFTER, BEFORE, "page"):
            query.pop(name, None)
        if key is not None:
            query[key] = str(row.pk)
        return "?" + query.urlencode()

    @property
    def first_url(self) -> str:
        return self._url(None, None)

    @property
    def previous_url(self) -> str:
        return self._url(BEFORE, self.object_list[0]) if self.has_previous else ""

    @property
    def next_url(self) -> str:
        return self._url(AFTER, self.object_list[-1]) if self.has_next else ""

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next


def _ordering(queryset: QuerySet) -> list[tuple[str, bool]]:
    """The queryset's order as (field path, descending) pairs."""
    names = queryset.query.order_by
    if not names or not all(isinstance(name, str) for name in names):
        raise TypeError("A keyset page needs a queryset ordered by field names.")
    pairs = [(name.removeprefix("-"), name.startswith("-")) for name in names]
    if pairs[-1][0] not in ("pk", "id", queryset.model._meta.pk.name):
        raise TypeError("A keyset page's order must end with the primary key (a total order).")
    return pairs


def _beyond(ordering: list[tuple[str, bool]], values: tuple, *, forward: bool) -> Q:
    """Rows after (``forward``) or before the anchor's ``values`` in the order.

    ``(a, b, id) > (x, y, z)`` written out as ``a > x OR (a = x AND b > y) OR (a = x AND b = y
    AND id > z)``, with ``a >= x`` besides: the condition an index on the list's order can
    start its range scan from (PostgreSQL does not start one from the OR alone).
    """
    terms = []
    for position, (name, descending) in enumerate(ordering):
        later = forward != descending  # "after" in the order, for this column's direction
        equal = {ordering[i][0]: values[i] for i in range(position)}
        terms.append(Q(**equal, **{f"{name}__{'gt' if later else 'lt'}": values[position]}))
    lead, lead_descending = ordering[0]
    bound = Q(**{f"{lead}__{'gte' if forward != lead_descending else 'lte'}": values[0]})
    return bound & reduce(or_, terms)


def _anchor_id(query: QueryDict, key: str) -> int | None:
    text = query.get(key, "")
    # An id the database can hold (bigint): anything else is no anchor, not an error.
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def _first_page(queryset: QuerySet, query: QueryDict, per_page: int) -> KeysetPage:
    rows = list(queryset[: per_page + 1])
    return KeysetPage(
        rows[:per_page],
        has_previous=False,
        has_next=len(rows) > per_page,
        is_first=True,
        query=query,
    )


def keyset_page(queryset: QuerySet, query: QueryDict, *, per_page: int) -> KeysetPage:
    """The page of ``queryset`` the address asks for: two queries (the anchor's sort values,
    then the page), one on the first page. Never a count, never an OFFSET.

    No anchor, an anchor not in the list, or nothing left beyond it (the list changed since
    the link was made): the first page.
    """
    ordering = _ordering(queryset)
    after, before = _anchor_id(query, AFTER), _anchor_id(query, BEFORE)
    anchor_id = after if after is not None else before
    anchor = None
    if anchor_id is not None:
        anchor = queryset.filter(pk=anchor_id).values_list(*(name for name, _ in ordering)).first()
    if anchor is None or any(value is None for value in anchor):
        return _first_page(queryset, query, per_page)
    if after is not None:
        rows = list(queryset.filter(_beyond(ordering, anchor, forward=True))[: per_page + 1])
        if not rows:
            return _first_page(queryset, query, per_page)
        # The anchor itself is before this page, so there is always a previous one.
        return KeysetPage(
            rows[:per_page],
            has_previous=True,
            has_next=len(rows) > per_page,
            is_first=False,
            query=query,
        )
    backwards = queryset.filter(_beyond(ordering, anchor, forward=False)).reverse()
    rows = list(backwards[: per_page + 1])
    has_previous = len(rows) > per_page
    if not has_previous and len(rows) < per_page:
        # Back at the start with a short page (rows were removed since): the full first page.
        return _first_page(queryset, query, per_page)
    return KeysetPage(
        list(reversed(rows[:per_page])),
        has_previous=has_previous,
        has_next=True,  # the anchor itself comes after this page
        is_first=not has_previous,
        query=query,
    )
