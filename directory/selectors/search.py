"""Searching the annotated referral list (policy VII.C–D) by name, aliases, description, needs,
languages and areas, in English or Spanish, with or without accents.

The typed words are split on anything that is not a letter or a digit, folded (lower case, no
accents) and **every word must match** the beginning of a word somewhere in the listing, so a
search narrows as the clinician types ("depr" finds "Depression Anonymous"). The listing's
vocabulary words (``Group.search_terms``: needs with English and Spanish synonyms, languages
named in English and Spanish, areas) are part of what is searched, so "depresion",
"depression spanish" and "ansiedad español" find groups.

PostgreSQL: the stored, GIN-indexed ``Group.search_document`` (directory/search_document.py),
each word a prefix query (``word:*``) in the ``english`` or the ``spanish`` configuration, so
"gambling" also finds "gamblers" and "adicciones" "adicción"; ``ts_rank`` over the stored
document ranks a name or alias (A) over the vocabulary (B) over the description (C), ties by
name. One query, no per-row parsing.

SQLite (the demo and one CI pass): :func:`fallback_search`, a substring match over the same
text with accents folded on both sides (``core.text.Unaccent``), names first. By design it
also matches fragments inside words and misses stemmed variants; aliases are compared as
stored (SQLite keeps their non-ASCII letters escaped).
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import Case, F, FloatField, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.lookups import Exact

from core.text import Unaccent, fold

CONFIGS = ("english", "spanish")
MAX_WORDS = 8  # a bound on the query's size, whatever is typed
MAX_LENGTH = 200  # the form's limit on the search box

_WORD = re.compile(r"[^\W_]+")  # letters and digits only: nothing with a meaning in tsquery


def words(text: str) -> list[str]:
    """The words of a search, folded (lower case, no accents), at most MAX_WORDS of them."""
    return _WORD.findall(fold(text or ""))[:MAX_WORDS]


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


def prefix_query(terms: list[str]) -> SearchQuery:
    """Every term, as a prefix, in either configuration: (t1 english | t1 spanish) & ...

    Safe to write as raw tsquery syntax: a term holds only letters and digits. A stop word of
    one configuration becomes an empty query that ``||``/``&&`` simply drop.
    """
    query = None
    for term in terms:
        either = None
        for config in CONFIGS:
            one = SearchQuery(f"{term}:*", search_type="raw", config=config)
            either = one if either is None else either | one
        query = either if query is None else query & either
    return query


class _NumNode(Func):
    function = "numnode"
    output_field = IntegerField()


def full_text_search(queryset: QuerySet, terms: list[str]) -> QuerySet:
    for term in terms:
        per_config = [SearchQuery(f"{term}:*", search_type="raw", config=c) for c in CONFIGS]
        # A stop word of either language ("the", "de") makes an empty query there: it counts
        # as matched, or "the gamblers" would find nothing (PostgreSQL folds these tests away
        # when planning, as their arguments are constants).
        matched = Q(search_document=prefix_query([term]))
        for one in per_config:
            matched |= Q(Exact(_NumNode(one), 0))
        queryset = queryset.filter(matched)
    return queryset.annotate(rank=SearchRank(F("search_document"), prefix_query(terms))).order_by(
        "-rank", "name", "pk"
    )


# --- SQLite (and any other database) ----------------------------------------------------------


def fallback_search(queryset: QuerySet, terms: list[str]) -> QuerySet:
    """Every word somewhere in the name, aliases, description or vocabulary; names first."""
    queryset = queryset.alias(
        folded_name=Unaccent("name"),
        folded_description=Unaccent("description"),
        folded_terms=Unaccent("search_terms"),
    )
    in_name = Q()
    for term in terms:
        queryset = queryset.filter(
            Q(folded_name__icontains=term)
            | Q(aliases__icontains=term)
            | Q(folded_description__icontains=term)
            | Q(folded_terms__icontains=term)
        )
        in_name &= Q(folded_name__icontains=term)
    rank = Case(When(in_name, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
    return queryset.annotate(rank=rank).order_by("-rank", "name", "pk")
