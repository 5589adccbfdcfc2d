"""Keyset pages (core/pagination.py): walked forwards or backwards, at any page size and in any
order of plain fields, joined ones included, they hold every row exactly once, in order."""

import pytest
from django.http import QueryDict

from core.pagination import keyset_page
from directory.models import Contact, Group
from tests.factories.directory import ContactFactory, GroupFactory

NAMES = ["Beta", "alpha", "Alpha", "Ánimo", "beta", "Gamma", "Alpha", "Beta", "Zeta", "Alpha"]


@pytest.fixture
def groups(db):
    return [GroupFactory(name=name, slug=f"g{n}") for n, name in enumerate(NAMES)]


def walk(queryset, per_page):
    """Every page from the first by "next", then back from the last by "previous"."""
    pages = [keyset_page(queryset, QueryDict(), per_page=per_page)]
    while pages[-1].has_next:
        pages.append(keyset_page(queryset, QueryDict(pages[-1].next_url[1:]), per_page=per_page))
    back = [pages[-1]]
    while back[-1].has_previous:
        back.append(keyset_page(queryset, QueryDict(back[-1].previous_url[1:]), per_page=per_page))
    return pages, back[::-1]


@pytest.mark.parametrize("order", [("name", "pk"), ("-name", "-pk"), ("name", "-pk"), ("-pk",)])
@pytest.mark.parametrize("per_page", [1, 3, 4, 10, 11])
def test_pages_hold_every_row_once_in_order(groups, order, per_page):
    queryset = Group.objects.order_by(*order)
    expected = list(queryset)
    pages, back = walk(queryset, per_page)
    assert [g for page in pages for g in page] == expected
    assert [page.object_list for page in back] == [page.object_list for page in pages]
    assert all(len(page) == per_page for page in pages[:-1])
    assert pages[0].is_first and not pages[0].has_previous
    assert not pages[-1].has_next


def test_an_order_across_a_join(groups):
    for n, group in enumerate(groups):
        for order in range(n % 3 + 1):
            ContactFactory(group=group, order=order)
    queryset = Contact.objects.select_related("group").order_by("group__name", "order", "id")
    pages, back = walk(queryset, 4)
    assert [c for page in pages for c in page] == list(queryset)
    assert [page.object_list for page in back] == [page.object_list for page in pages]


def test_two_queries_a_page_and_no_count(groups, django_assert_num_queries):
    queryset = Group.objects.order_by("name", "pk")
    with django_assert_num_queries(1):
        first = keyset_page(queryset, QueryDict(), per_page=3)
    with django_assert_num_queries(2):  # the anchor's sort values, then the page
        keyset_page(queryset, QueryDict(first.next_url[1:]), per_page=3)


@pytest.mark.parametrize(
    "query", ["after=abc", "after=-1", "after=", "before=" + "9" * 30, "after=١٢", "page=3"]
)
def test_an_unusable_anchor_gives_the_first_page(groups, query):
    queryset = Group.objects.order_by("name", "pk")
    page = keyset_page(queryset, QueryDict(query), per_page=3)
    assert page.is_first and page.object_list == list(queryset[:3])


def test_an_anchor_outside_the_list_gives_the_first_page(groups):
    outside = groups[0]
    queryset = Group.objects.exclude(pk=outside.pk).order_by("name", "pk")
    for key in ("after", "before"):
        page = keyset_page(queryset, QueryDict(f"{key}={outside.pk}"), per_page=3)
        assert page.is_first and outside not in page.object_list


def test_the_links_keep_the_other_parameters_and_drop_old_anchors(groups):
    queryset = Group.objects.order_by("name", "pk")
    page = keyset_page(queryset, QueryDict("show=all&page=4&before=1"), per_page=3)
    assert page.next_url.startswith("?show=all&after=")
    assert "page=" not in page.next_url and "before=" not in page.next_url
    assert page.first_url == "?show=all"


def test_an_order_without_the_primary_key_is_refused(groups):
    with pytest.raises(TypeError):
        keyset_page(Group.objects.order_by("name"), QueryDict(), per_page=3)
