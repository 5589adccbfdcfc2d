"""Searching the annotated referral list (policy VII.C–D) by name, aliases, description and needs.

The typed words are split on anything that is not a letter or a digit, and **every word must
match** the beginning of a word somewhere in the listing (its name, an alias, its description or
a need's name), so a search narrows as the clinician types ("depr" finds "Depression Anonymous").

PostgreSQL: full-text search, each word a prefix query (``word:*``) in the ``english``
configuration, so "gambling" also finds "gamblers". The listing's text goes through the GIN
expression index on :func:`group_document`, its needs through the small needs table, a UNION per
word; ``ts_rank`` ranks a name or alias (A) over a need (B) over the description (C), ties by name.

SQLite (the demo and one CI pass): :func:`fallback_search`, a case-insensitive substring match
over the same fields, names first, giving the same listings for whole words. By design it also
matches stop words and fragments inside words, misses stemmed variants, and compares non-ASCII
letters case-sensitively (aliases store them escaped).
"""

import re

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorExact,
)
from django.db import connections
from django.db.models import (
    Case,
    Exists,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import Exact

from directory.models import Group

CONFIG = "english"
MAX_WORDS = 8  # a bound on the query's size, whatever is typed
MAX_LENGTH = 200  # the form's limit on the search box

_WORD = re.compile(r"[^\W_]+")  # letters and digits only: nothing with a meaning in tsquery

GroupNeed = Group.needs.through


def words(text: str) -> list[str]:
    """The words of a search, lower-cased, at most MAX_WORDS of them."""
    return _WORD.findall((text or "").lower())[:MAX_WORDS]


def search_groups(queryset: QuerySet, text: str) -> QuerySet:
    """The listings of ``queryset`` matching every word of ``text``, best match first.

    Without a word to search for, the queryset is returned as it is.
    """
    terms = words(text)
    if not terms:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        return full_text_search(queryset, terms)
    return fallback_search(queryset, terms)


# --- PostgreSQL -------------------------------------------------------------------------------


def group_document() -> SearchVector:
    """The listing's own searchable text: the expression migration 0003 indexes."""
    return (
        SearchVector("name", weight="A", config=CONFIG)
        + SearchVector("aliases", weight="A", config=CONFIG)
        + SearchVector("description", weight="C", config=CONFIG)
    )


def prefix_query(terms: list[str]) -> SearchQuery:
    # Safe to write as raw tsquery syntax: a term holds only letters and digits.
    return SearchQuery(" & ".join(f"{term}:*" for term in terms), search_type="raw", config=CONFIG)


class _NumNode(Func):
    function = "numnode"
    output_field = IntegerField()


def _groups_matching(term: str) -> QuerySet:
    """The ids of listings whose text or needs match one word (an indexed UNION)."""
    query = prefix_query([term])
    # The ``@@`` lookups are filtered on directly, not through an annotation: the same SQL,
    # built with half the work (measured on the search's Python time).
    by_text = Group.objects.filter(SearchVectorExact(group_document(), query)).values("pk")
    by_need = GroupNeed.objects.filter(
        SearchVectorExact(SearchVector("need__name", config=CONFIG), query)
    ).values("group_id")
    return by_text.order_by().union(by_need.order_by())


def full_text_search(queryset: QuerySet, terms: list[str]) -> QuerySet:
    for term in terms:
        # A stop word ("the") makes an empty query that matches nothing; it must not empty the
        # results, so it counts as matched (PostgreSQL folds this test away when planning).
        is_stop_word = Exact(_NumNode(prefix_query([term])), 0)
        queryset = queryset.filter(Q(pk__in=_groups_matching(term)) | Q(is_stop_word))

    needs_text = Subquery(
        GroupNeed.objects.filter(group_id=OuterRef("pk"))
        .order_by()
        .values("group_id")
        .annotate(text=StringAgg("need__name", delimiter=Value(" ")))
        .values("text")
    )
    document = group_document() + SearchVector(needs_text, weight="B", config=CONFIG)
    return queryset.annotate(rank=SearchRank(document, prefix_query(terms))).order_by(
        "-rank", "name", "pk"
    )


# --- SQLite (and any other database) ----------------------------------------------------------


def fallback_search(queryset: QuerySet, terms: list[str]) -> QuerySet:
    """Every word somewhere in the name, aliases, description or needs; names first."""
    in_name = Q()
    for term in terms:
        has_need = Exists(
            GroupNeed.objects.filter(group_id=OuterRef("pk"), need__name__icontains=term)
        )
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(aliases__icontains=term)
            | Q(description__icontains=term)
            | Q(has_need)
        )
        in_name &= Q(name__icontains=term)
    rank = Case(When(in_name, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
    return queryset.annotate(rank=rank).order_by("-rank", "name", "pk")
