"""The catalogue's version and the shared reads cached on it: every kind of write bumps it
(save, QuerySet.update, bulk_create, delete, lists), the exports and the print page answer
with an ETag, 304 when unchanged, and never serve a listing as it was before a write."""

import pytest
from django.db import connection

from directory import catalogue_version
from directory.models import Group, Meeting
from directory.selectors.catalogue import version
from tests.factories.directory import GroupFactory, MeetingFactory, NeedFactory

SHARED_READS = [
    "/directory/export.csv",
    "/directory/export.xlsx",
    "/directory/export/hsds.json",
    "/directory/meetings.json",
    "/directory/print/",
]


@pytest.fixture
def listing(db):
    group = GroupFactory(slug="calm", name="Calm Circle")
    MeetingFactory(group=group)
    return group


def _bumps(action) -> bool:
    before = version()[0]
    action()
    return version()[0] > before


def test_every_kind_of_write_bumps_the_version(listing):
    need = NeedFactory(slug="grief", name="Grief")
    assert _bumps(lambda: Group.objects.filter(pk=listing.pk).update(name="Calm"))
    assert _bumps(lambda: listing.save())
    assert _bumps(lambda: listing.needs.add(need))
    assert _bumps(
        lambda: Meeting.objects.bulk_create([Meeting(group=listing, weekday=1, start_time="10:00")])
    )
    assert _bumps(lambda: Meeting.objects.filter(group=listing).delete())
    with connection.cursor() as cursor:  # raw SQL, as the scale generator's COPY
        assert _bumps(lambda: cursor.execute("UPDATE directory_need SET name = 'Loss'"))


def test_every_catalogue_table_has_its_trigger(db):
    tables = catalogue_version.catalogue_tables()
    assert "directory_group" in tables and "directory_meeting" in tables
    assert "directory_group_needs" in tables
    assert not any(t.startswith("directory_historical") for t in tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {row[0] for row in cursor.fetchall()}
    for table in tables:
        assert any(t.startswith(catalogue_version.trigger_name(table)) for t in triggers), table


@pytest.mark.parametrize("path", SHARED_READS)
def test_shared_reads_answer_304_until_the_catalogue_changes(sign_in, clinician, listing, path):
    client = sign_in(clinician)
    first = client.get(path)
    assert first.status_code == 200
    etag = first["ETag"]
    assert first["Last-Modified"]
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304
    Group.objects.filter(pk=listing.pk).update(name="Quiet Circle")  # no signal, no save()
    fresh = client.get(path, headers={"if-none-match": etag})
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    body = b"".join(fresh.streaming_content) if fresh.streaming else fresh.content
    if not path.endswith(".xlsx"):
        assert b"Quiet Circle" in body


def test_an_export_is_built_once_per_version(
    sign_in, clinician, supervisor, listing, django_assert_max_num_queries
):
    sign_in(clinician).get("/directory/export/hsds.json")
    # Another user, same version: served from the cache (the version's row, the session).
    other = sign_in(supervisor)
    with django_assert_max_num_queries(6) as captured:
        response = other.get("/directory/export/hsds.json")
    assert response.status_code == 200
    assert not any(
        "directory_group" in q["sql"] and "FROM" in q["sql"] and "catalogueversion" not in q["sql"]
        for q in captured.captured_queries
    )


def test_the_print_page_is_never_shared_between_sessions(sign_in, clinician, supervisor, listing):
    """The layout carries the user's name and CSRF token: each session gets its own."""
    one = sign_in(clinician).get("/directory/print/")
    two = sign_in(supervisor).get("/directory/print/")
    assert one["ETag"] != two["ETag"]
    for response in (one, two):
        assert b"Calm Circle" in response.content
        assert "no-store" in response["Cache-Control"]  # never kept by a browser or proxy


def test_the_cache_needs_the_permission_first(client, listing):
    response = client.get("/directory/export.csv")
    assert response.status_code in (302, 403)
    assert "ETag" not in response
