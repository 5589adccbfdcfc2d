"""Pagination, the one module for it: keyset pages and counted (numbered) pages.

Both kinds are rendered by ``templates/_partials/pagination.html``.

* **Keyset pages** (:func:`keyset_page`): first, previous and next, for lists that grow with the
  county. ``Paginator`` counts every row and reaches page *n* by ``OFFSET``, both costing in
  proportion to the list; a keyset page starts from a row of the previous page (the *anchor*)
  and reads the next rows from the list's index, so every page costs the same. What is lost is
  "page 7 of 400". The anchor travels as the row's id (``?after=`` or ``?before=``), never as the
  names it sorts by, and is looked up in the same queryset, so an id outside the list gives the
  first page. The ordering must be total: plain non-NULL fields ending with the primary key.
* **Counted pages** (:class:`CountedPaginator`): "Page 2 of 7", for lists that are short or whose
  count comes free (``COUNT(*) OVER ()`` in the page's own query, or a count the caller already
  read). Each page knows its links, which keep the rest of the address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import ClassVar

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Count, Q, QuerySet, Window
from django.http import QueryDict

AFTER, BEFORE = "after", "before"


@dataclass
class KeysetPage:
    """A page of rows, and what the first, previous and next links need.

    A subclass may carry its position differently in the address: other parameter names
    (``previous_key``, ``next_key``) and another token for a row (:meth:`anchor`).
    """

    object_list: list
    has_previous: bool
    has_next: bool
    is_first: bool
    query: QueryDict = field(repr=False, default_factory=QueryDict)

    numbered: ClassVar[bool] = False  # for the pager partial: no "Page n of m"
    previous_key: ClassVar[str] = BEFORE
    next_key: ClassVar[str] = AFTER

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def anchor(self, row) -> str:
        """The row's token in the address."""
        return str(row.pk)

    def _url(self, key: str | None, row) -> str:
        # The filters stay; the page's own parameters (and an old page number) do not.
        query = self.query.copy()
        for name in (self.previous_key, self.next_key, "page"):
            query.pop(name, None)
        if key is not None:
            query[key] = self.anchor(row)
        return "?" + query.urlencode()

    @property
    def first_url(self) -> str:
        return self._url(None, None)

    @property
    def previous_url(self) -> str:
        return self._url(self.previous_key, self.object_list[0]) if self.has_previous else ""

    @property
    def next_url(self) -> str:
        return self._url(self.next_key, self.object_list[-1]) if self.has_next else ""

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


# --- Counted pages ---------------------------------------------------------------------------


class CountedPage(Page):
    """A numbered page whose rows are a list (read once) and which knows its own links."""

    numbered = True  # for the pager partial: "Page n of m"

    @property
    def previous_url(self) -> str:
        return self.paginator.url(self.previous_page_number()) if self.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.paginator.url(self.next_page_number()) if self.has_next() else ""


class CountedPaginator(Paginator):
    """Django's paginator, counting in the page's own query or told the count.

    ``count=None``: the page's rows carry the count of the whole list (``COUNT(*) OVER ()``,
    computed over every row before the ``LIMIT``), so the list's query runs once where Django's
    runs it twice (count, then page). Only a page past the last (an old link, a typed number)
    or below 1 costs Django's two queries and shows the last page, as ``Paginator.get_page``
    does. ``count=n``: a count the caller has already read (an aggregate it runs anyway); the
    page is then one query.

    Links: ``?<query>&<param>=<n><fragment>``. ``query`` (the request's ``GET``, say) keeps
    the other parameters of the address, such as a filter or another list's page; none by
    default. ``param`` names the page number (``page``); ``fragment`` (``#gaps-heading``)
    brings the reader back to the list.

    No orphans (none of the lists uses them).
    """

    COUNT = "results_count"

    def __init__(
        self,
        object_list,
        per_page: int,
        *,
        count: int | None = None,
        query: QueryDict | None = None,
        param: str = "page",
        fragment: str = "",
    ):
        super().__init__(object_list, per_page)
        self.counted_by_window = count is None
        if count is not None:
            self.count = count  # instead of the cached COUNT(*) query
        self.query = query if query is not None else QueryDict()
        self.param = param
        self.fragment = fragment

    def url(self, number: int) -> str:
        query = self.query.copy()
        query[self.param] = str(number)
        return "?" + query.urlencode() + self.fragment

    def get_page(self, number) -> CountedPage:
        if not self.counted_by_window:
            return self._read(super().get_page(number))
        try:
            number = self._validate_number(number, float("inf"))
        except PageNotAnInteger:
            number = 1
        except EmptyPage:
            return self._read(super().get_page(number))  # below 1
        bottom = (number - 1) * self.per_page
        counted = self.object_list.annotate(**{self.COUNT: Window(Count("*"))})
        rows = list(counted[bottom : bottom + self.per_page])
        if rows:
            self.count = getattr(rows[0], self.COUNT)
        elif number == 1 and self.allow_empty_first_page:
            self.count = 0
        else:
            return self._read(super().get_page(number))  # past the last page
        return self._get_page(rows, number, self)

    def _get_page(self, *args, **kwargs) -> CountedPage:
        return CountedPage(*args, **kwargs)

    @staticmethod
    def _read(page: CountedPage) -> CountedPage:
        # One query, here: nothing reads the rows again later, row by row.
        page.object_list = list(page.object_list)
        return page
