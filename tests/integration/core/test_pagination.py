"""Counted pages (core/pagination.py): the count read with the page or given, and the links."""

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from core.pagination import CountedPaginator
from directory.models import Group
from tests.factories.directory import GroupFactory


@pytest.fixture
def groups(db):
    return [GroupFactory(name=f"Group {n:02d}", slug=f"g{n}") for n in range(25)]


def test_the_page_carries_the_count_in_one_query(groups):
    queryset = Group.objects.order_by("name", "pk")
    with CaptureQueriesContext(connection) as captured:
        page = CountedPaginator(queryset, 10).get_page("2")
        assert [g.pk for g in page] == [g.pk for g in groups[10:20]]
        assert page.paginator.count == 25 and page.paginator.num_pages == 3
    assert len(captured.captured_queries) == 1


@pytest.mark.parametrize(("asked", "shown"), [("9", 3), ("0", 3), ("x", 1), (None, 1)])
def test_out_of_range_or_unreadable_numbers_give_a_page_as_djangos_get_page(groups, asked, shown):
    page = CountedPaginator(Group.objects.order_by("name", "pk"), 10).get_page(asked)
    assert page.number == shown
    assert isinstance(page.object_list, list)


def test_an_empty_list_has_one_empty_page(db):
    page = CountedPaginator(Group.objects.order_by("pk"), 10).get_page(None)
    assert page.number == 1 and page.object_list == [] and page.paginator.count == 0


def test_a_given_count_is_not_read_again(groups):
    queryset = Group.objects.order_by("name", "pk")
    with CaptureQueriesContext(connection) as captured:
        page = CountedPaginator(queryset, 10, count=25).get_page("3")
        assert len(page.object_list) == 5 and page.paginator.num_pages == 3
    assert len(captured.captured_queries) == 1


def test_links_keep_the_address_and_name_their_own_number(groups):
    query = QueryDict("period=2026-q1&page=2&other=1")
    page = CountedPaginator(
        Group.objects.order_by("pk"), 10, count=25, query=query, fragment="#gaps"
    ).get_page("2")
    assert page.previous_url == "?period=2026-q1&page=1&other=1#gaps"
    assert page.next_url == "?period=2026-q1&page=3&other=1#gaps"
    last = CountedPaginator(Group.objects.order_by("pk"), 10, param="fpage").get_page("3")
    assert last.previous_url == "?fpage=2" and last.next_url == ""
