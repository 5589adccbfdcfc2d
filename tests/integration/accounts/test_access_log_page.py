"""The supervisor's access-log page at scale: keyset pages, cursors, date ranges, partitions.

The page's roles, filters and first checks are in tests/integration/accounts/test_home.py
(``TestAccessLogPage``); the log's writing and append-only guard in test_access_log.py. Here:
a fixed number of queries whatever the log holds (5,000 events), every event reached exactly
once by the Older links and back by the Newer ones (ties on the time included), a cursor that
the site did not make answered with a 400 that says so, the date filters as ranges of the
clinic's calendar days, and, on PostgreSQL, the log partitioned by month with the page and the
append-only guard still working (``manage.py partition_access_log``, docs/SCALING.md).
"""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core import signing
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent, Role
from accounts.rules import partitioning
from accounts.selectors import access_log as selectors
from tests.factories.accounts import UserFactory

EVENTS = 5000
PAGE = selectors.ACCESS_LOG_PAGE_SIZE
ACTIONS = ["view", "view", "view", "edit", "create", "print", "export", "sign-in"]


@pytest.fixture
def big_log(clinic, other_clinic, supervisor):
    """5,000 events at the clinic over three weeks, ten to each moment (ties on the time), and
    noise at another clinic. Returns the clinic's staff."""
    staff = [UserFactory(clinic=clinic, roles=[Role.CLINICIAN]) for _ in range(20)]
    start = timezone.now() - timedelta(days=21)
    events = [
        AccessEvent(
            occurred_at=start + timedelta(minutes=6 * (i // 10)),
            user=staff[i % 20],
            username=staff[i % 20].username,
            clinic=clinic,
            action=ACTIONS[i % len(ACTIONS)],
            object_type="client",
            object_id=str(i % 97),
        )
        for i in range(EVENTS)
    ]
    events += [
        AccessEvent(
            occurred_at=start + timedelta(minutes=i),
            user=None,
            username="elsewhere",
            clinic=other_clinic,
            action="view",
            object_type="client",
            object_id="7",
        )
        for i in range(300)
    ]
    AccessEvent.objects.bulk_create(events, batch_size=1000)
    return staff


def walk(client, url):
    """Every page from ``url`` by the Older links: the pages' events, in the order shown."""
    pages = []
    while url:
        response = client.get("/access-log/" + url)
        assert response.status_code == 200
        page = response.context["page"]
        pages.append(page)
        url = page.next_url
    return pages


class TestQueryCount:
    # session, user, OTP device, recent activity (the permission set is the session's); the
    # clinic's staff for the filter; the page of events with their actors. No count of the log.
    QUERIES = 5

    def test_every_page_and_filter_runs_a_fixed_number_of_queries(
        self, sign_in, supervisor, big_log, count_queries
    ):
        client = sign_in(supervisor)
        first = count_queries(client, "/access-log/")
        assert first == self.QUERIES
        older_url = first.response.context["page"].next_url
        older = count_queries(client, "/access-log/" + older_url)
        assert older == self.QUERIES
        newer = count_queries(client, "/access-log/" + older.response.context["page"].previous_url)
        assert newer == self.QUERIES
        today = timezone.localdate()
        for query in [
            "?action=export",
            "?client_id=7",
            f"?date_from={today - timedelta(days=10)}&date_to={today - timedelta(days=3)}",
            "?action=view&client_id=7&date_to=" + str(today),
        ]:
            assert count_queries(client, "/access-log/" + query) == self.QUERIES, query
        # The staff-member filter checks the person is the clinic's: one query more.
        assert count_queries(client, f"/access-log/?user={big_log[0].pk}") == self.QUERIES + 1

    def test_the_page_never_counts_the_log(self, sign_in, supervisor, big_log):
        client = sign_in(supervisor)
        with CaptureQueriesContext(connection) as queries:
            client.get("/access-log/")
        assert not [q for q in queries if "COUNT(" in q["sql"].upper()]
        assert all("OFFSET" not in q["sql"].upper() for q in queries)


class TestKeysetPages:
    def test_older_links_reach_every_event_once_newest_first(self, sign_in, supervisor, big_log):
        client = sign_in(supervisor)
        total = EVENTS + 1  # and the sign-in of this test
        pages = walk(client, "?")
        events = [event for page in pages for event in page.object_list]
        assert len(events) == total
        assert len({e.pk for e in events}) == total  # none twice, across ten-way time ties
        keys = [(e.occurred_at, e.pk) for e in events]
        assert keys == sorted(keys, reverse=True)
        assert {e.clinic_id for e in events} == {supervisor.clinic_id}
        assert [len(p) for p in pages] == [PAGE] * (EVENTS // PAGE) + [1]
        assert pages[0].is_first and not pages[0].has_previous
        assert all(p.has_previous and not p.is_first for p in pages[1:])
        assert not pages[-1].has_next

    def test_newer_links_come_back_to_the_newest_page(self, sign_in, supervisor, big_log):
        client = sign_in(supervisor)
        pages = walk(client, "?action=view")
        assert len(pages) > 3
        page = pages[-1]
        seen = []
        while page.has_previous:
            page = client.get("/access-log/" + page.previous_url).context["page"]
            seen.append([e.pk for e in page.object_list])
        assert seen == [[e.pk for e in p.object_list] for p in reversed(pages[:-1])]
        assert page.is_first

    def test_links_keep_the_filters_and_carry_no_record(self, sign_in, supervisor, big_log):
        client = sign_in(supervisor)
        response = client.get("/access-log/", {"client_id": "7", "page": "3"})
        page = response.context["page"]
        query = QueryDict(page.next_url.removeprefix("?"))
        assert sorted(query) == ["client_id", "older"]  # the old page number is gone
        assert query["client_id"] == "7"
        # The cursor is the last row's time and id, signed; nothing about the client.
        cursor = selectors.Cursor.decode(query["older"])
        assert cursor == selectors.Cursor.of(page.object_list[-1])
        html = response.content.decode()
        assert page.next_url.replace("&", "&amp;") in html
        assert f"{PAGE} per page" in html

    def test_the_newest_page_says_so_and_older_pages_say_older(self, sign_in, supervisor, big_log):
        client = sign_in(supervisor)
        first = client.get("/access-log/")
        assert "The newest events, newest first" in first.content.decode()
        older = client.get("/access-log/" + first.context["page"].next_url).content.decode()
        assert "Older events, newest first" in older

    def test_an_empty_newest_page_has_no_pager(self, sign_in, supervisor):
        html = sign_in(supervisor).get("/access-log/", {"action": "export"}).content.decode()
        assert "No events match" in html
        assert 'aria-label="Access log pages"' not in html

    def test_events_written_since_do_not_shift_the_older_pages(self, sign_in, supervisor, big_log):
        client = sign_in(supervisor)
        first = client.get("/access-log/").context["page"]
        second = client.get("/access-log/" + first.next_url).context["page"]
        AccessEvent.objects.bulk_create(
            [
                AccessEvent(clinic=supervisor.clinic, action="view", username="new")
                for _ in range(30)
            ]
        )
        again = client.get("/access-log/" + first.next_url).context["page"]
        assert [e.pk for e in again.object_list] == [e.pk for e in second.object_list]
        # And the Newer link from the second page shows the newest events next to it.
        newer = client.get("/access-log/" + second.previous_url).context["page"]
        assert [e.pk for e in newer.object_list] == [e.pk for e in first.object_list]
        assert newer.has_previous  # the thirty new ones are above it


def signed(value):
    return signing.Signer(salt="accounts.access-log.cursor").sign_object(value)


class TestBadCursor:
    @pytest.mark.parametrize(
        "query",
        [
            {"older": "garbage"},
            {"newer": ""},
            {"older": "W1sxLDJd:tampered"},
            {"older": signed([1, 2]) + "x"},  # cut or edited after signing
            {"older": signing.Signer(salt="another.purpose").sign_object([1, 2])},
            {"older": signed("1,2")},  # signed by this site, but not a position
            {"older": signed([1, 0])},
            {"older": signed([10**20, 5])},  # a time past the year 9999
            {"older": signed([1, 2]), "newer": signed([1, 2])},
        ],
    )
    def test_a_cursor_the_site_did_not_make_is_a_400_that_says_so(
        self, sign_in, supervisor, big_log, query
    ):
        response = sign_in(supervisor).get("/access-log/", query)
        assert response.status_code == 400
        html = response.content.decode()
        assert "That page link is not one this site made" in html
        assert 'href="/access-log/"' in html  # the way back to the newest events
        assert response.context["page"] is None

    def test_a_repeated_cursor_is_a_400(self, sign_in, supervisor, big_log):
        cursor = selectors.Cursor(timezone.now(), 5).encode()
        response = sign_in(supervisor).get(f"/access-log/?older={cursor}&older={cursor}")
        assert response.status_code == 400

    def test_bad_filters_still_say_so_first(self, sign_in, supervisor):
        response = sign_in(supervisor).get("/access-log/", {"action": "x", "older": "x"})
        assert response.status_code == 400
        assert b"Please correct the filters" in response.content

    def test_a_good_cursor_survives_the_round_trip(self):
        moment = datetime(2026, 3, 8, 10, 0, 0, 123456, tzinfo=UTC)  # microseconds kept
        cursor = selectors.Cursor(moment, 987654321)
        assert selectors.Cursor.decode(cursor.encode()) == cursor

    def test_an_old_page_beyond_every_event_says_none_match(self, sign_in, supervisor):
        cursor = selectors.Cursor(datetime(2000, 1, 1, tzinfo=UTC), 1).encode()
        response = sign_in(supervisor).get("/access-log/", {"older": cursor})
        assert response.status_code == 200
        assert b"No events match" in response.content
        assert b"Newest" in response.content


class TestDateRange:
    """The dates are the clinic's calendar days (Los Angeles), filtered as time ranges."""

    @pytest.fixture
    def evening(self, supervisor):
        # 8:30 pm on July 3 in Los Angeles is 3:30 on July 4 in UTC; 00:00 on July 4 there.
        moments = [datetime(2026, 7, 4, 3, 30, tzinfo=UTC), datetime(2026, 7, 4, 7, 0, tzinfo=UTC)]
        return AccessEvent.objects.bulk_create(
            [AccessEvent(occurred_at=m, clinic=supervisor.clinic, action="export") for m in moments]
        )

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"date_to": "2026-07-03"}, [0]),
            ({"date_from": "2026-07-04"}, [1]),
            ({"date_from": "2026-07-03", "date_to": "2026-07-03"}, [0]),
            ({"date_from": "2026-07-03", "date_to": "2026-07-04"}, [1, 0]),
            ({"date_from": "2026-07-05"}, []),
        ],
    )
    def test_local_days(self, sign_in, supervisor, evening, query, expected):
        page = sign_in(supervisor).get("/access-log/", {"action": "export", **query})
        assert [e.pk for e in page.context["page"].object_list] == [evening[i].pk for i in expected]

    @pytest.mark.parametrize(
        "query",
        [
            {"date_from": date.min.isoformat(), "date_to": date.max.isoformat()},
            {"date_to": date.min.isoformat()},
            {"date_from": date.max.isoformat()},
        ],
    )
    def test_the_ends_of_the_calendar(self, sign_in, supervisor, evening, query):
        response = sign_in(supervisor).get("/access-log/", query)
        assert response.status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="extended statistics: PostgreSQL")
def test_the_planner_knows_a_staff_members_rows_belong_to_their_clinic(db):
    """Without it, a staff member's filtered log read the person's whole month through a
    bitmap and sorted it (10.5 ms at county size), where the (user, time) index newest first
    stops after the page (0.07 ms): migration accounts/0007."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.stxkind, array_agg(a.attname ORDER BY a.attname)"
            " FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(s.stxkeys)"
            " WHERE s.stxname = 'access_user_clinic' AND c.relname = 'accounts_accessevent'"
            " GROUP BY s.stxkind"
        )
        assert cursor.fetchall() == [(["f"], ["clinic_id", "user_id"])]


class TestMonths:
    def test_month_arithmetic_and_names(self):
        month = partitioning.Month(2026, 11)
        assert month.plus(1) == partitioning.Month(2026, 12)
        assert month.plus(2) == partitioning.Month(2027, 1)
        assert month.plus(-11) == partitioning.Month(2025, 12)
        assert month.partition == "accounts_accessevent_y2026m11"
        assert "FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00')" in (
            month.create_sql()
        )
        # Each partition carries the staff member's rows-belong-to-their-clinic statistic.
        assert (
            "CREATE STATISTICS IF NOT EXISTS accounts_accessevent_y2026m11_user_clinic"
            " (dependencies)\n    ON user_id, clinic_id FROM accounts_accessevent_y2026m11;"
        ) in month.create_sql()
        # A moment late on Nov 30 in Los Angeles is already December in UTC: its partition.
        late = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
        assert partitioning.Month.of(late) == partitioning.Month(2026, 12)
        span = partitioning.months(partitioning.Month(2025, 11), partitioning.Month(2026, 2))
        assert [m.partition[-7:] for m in span] == ["2025m11", "2025m12", "2026m01", "2026m02"]

    @pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is for SQLite")
    def test_the_command_refuses_other_databases(self, db):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="PostgreSQL"):
            call_command("partition_access_log")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions: PostgreSQL")
class TestPartitionedByMonth:
    """The conversion applied to the test database, inside the test's transaction (PostgreSQL's
    DDL is transactional: the rollback at the end puts the plain table back)."""

    @pytest.fixture
    def partitioned(self, supervisor, other_clinic):
        now = timezone.now()
        two_months_ago = now - timedelta(days=62)
        self.before = AccessEvent.objects.bulk_create(
            [
                AccessEvent(occurred_at=two_months_ago, clinic=supervisor.clinic, action="view"),
                AccessEvent(occurred_at=now, clinic=supervisor.clinic, action="view"),
            ]
        )
        out = StringIO()
        call_command("partition_access_log", "--apply", "--create-ahead", "2", stdout=out)
        assert "Partitioned" in out.getvalue()
        return now

    def where(self, event_id):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tableoid::regclass::text FROM accounts_accessevent WHERE id = %s",
                [event_id],
            )
            return cursor.fetchone()[0]

    def test_rows_live_in_their_months_partition(self, partitioned, supervisor):
        now = partitioned
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relkind FROM pg_class WHERE oid = 'accounts_accessevent'::regclass"
            )
            assert cursor.fetchone()[0] == "p"
        old, recent = self.before
        assert self.where(old.pk) == partitioning.Month.of(old.occurred_at).partition
        assert self.where(recent.pk) == partitioning.Month.of(now).partition
        # New rows through the ORM: ids go on after the copied ones, into the right month.
        event = AccessEvent.objects.create(clinic=supervisor.clinic, action="export")
        assert event.pk > recent.pk
        assert self.where(event.pk) == partitioning.Month.of(event.occurred_at).partition
        ahead = AccessEvent.objects.bulk_create(
            [
                AccessEvent(occurred_at=now + timedelta(days=40), action="view"),
                AccessEvent(occurred_at=now + timedelta(days=800), action="view"),  # no month
            ]
        )
        assert self.where(ahead[0].pk) == partitioning.Month.of(ahead[0].occurred_at).partition
        assert self.where(ahead[1].pk) == partitioning.DEFAULT_PARTITION
        assert AccessEvent.objects.count() == 5

    def test_the_page_still_works(self, partitioned, sign_in, supervisor, count_queries):
        client = sign_in(supervisor)
        AccessEvent.objects.bulk_create(
            [
                AccessEvent(clinic=supervisor.clinic, action="view", object_id=str(i))
                for i in range(PAGE + 5)
            ]
        )
        response = client.get("/access-log/")
        assert response.status_code == 200
        page = response.context["page"]
        assert len(page) == PAGE and page.has_next
        older = client.get("/access-log/" + page.next_url).context["page"]
        assert len(older) == 5 + 1 + 2  # the rest (and this test's sign-in), the two copied
        assert older.object_list[-1].pk == self.before[0].pk
        assert count_queries(client, "/access-log/?action=view") == TestQueryCount.QUERIES

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE accounts_accessevent SET reason = 'tampered'",
            "DELETE FROM accounts_accessevent",
            "DELETE FROM {partition}",  # a partition itself, not only through the parent
            "UPDATE {partition} SET reason = 'tampered'",
        ],
    )
    def test_the_database_still_refuses_changes(self, partitioned, sql):
        partition = partitioning.Month.of(partitioned).partition
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql.format(partition=partition))
        assert AccessEvent.objects.filter(reason="").count() == 2

    def test_the_monthly_run_adds_only_missing_months(self, partitioned):
        out = StringIO()
        call_command("partition_access_log", "--create-ahead", "2", stdout=out)
        assert out.getvalue().strip() == "-- Nothing to do."
        out = StringIO()
        call_command("partition_access_log", "--create-ahead", "4", stdout=out)
        wanted = [partitioning.Month.of(partitioned).plus(n).partition for n in (3, 4)]
        lines = out.getvalue().splitlines()
        assert [line.split()[5] for line in lines if "CREATE TABLE" in line] == wanted
        assert [line.split()[5] for line in lines if "CREATE STATISTICS" in line] == [
            f"{name}_user_clinic" for name in wanted
        ]
        call_command("partition_access_log", "--apply", "--create-ahead", "4", stdout=StringIO())
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)::text", [wanted[-1]])
            assert cursor.fetchone()[0] == wanted[-1]
            cursor.execute(
                "SELECT stxrelid::regclass::text FROM pg_statistic_ext WHERE stxname = %s",
                [f"{wanted[-1]}_user_clinic"],
            )
            assert cursor.fetchone()[0] == wanted[-1]

    def test_retention_only_prints(self, partitioned):
        out = StringIO()
        call_command("partition_access_log", "--retention", "1", stdout=out)
        oldest = partitioning.Month.of(self.before[0].occurred_at).partition
        assert f"DETACH PARTITION {oldest};" in out.getvalue()
        assert f"DROP TABLE {oldest};" in out.getvalue()
        assert self.where(self.before[0].pk) == oldest  # nothing was run
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="only prints"):
            call_command("partition_access_log", "--retention", "1", "--apply")


class TestFilterByClient:
    """ "Who opened this client's record": the client id finds the events about the client and
    about every record of theirs the views log by its own type (a screening, a referral,
    feedback), and nothing about another client whose record id is the same number."""

    def test_the_clients_screening_referral_and_feedback_are_found(
        self, sign_in, clinician, supervisor, clinic
    ):
        from tests.factories.clients import ClientFactory, FeedbackFactory
        from tests.factories.referrals import ReferralFactory

        client = ClientFactory(clinic=clinic)
        other = ClientFactory(clinic=clinic)
        referral = ReferralFactory(
            screening__client=client, screening__clinic=clinic, screening__screened_by=clinician
        )
        feedback = FeedbackFactory(client=client)
        other_referral = ReferralFactory(
            screening__client=other, screening__clinic=clinic, screening__screened_by=clinician
        )
        staff = sign_in(clinician)
        assert staff.get(f"/clients/{client.pk}/").status_code == 200
        assert staff.get(f"/referrals/screenings/{referral.screening_id}/").status_code == 200
        assert staff.get(f"/referrals/{referral.pk}/").status_code == 200
        assert staff.get(f"/referrals/{other_referral.pk}/").status_code == 200
        AccessEvent.objects.create(
            user=clinician,
            username=clinician.username,
            clinic=clinic,
            action="view",
            object_type="feedback",
            object_id=str(feedback.pk),
        )
        # Another record type whose id happens to be the client's number is not the client.
        AccessEvent.objects.create(
            user=clinician,
            username=clinician.username,
            clinic=clinic,
            action="view",
            object_type="group",
            object_id=str(client.pk),
        )

        page = sign_in(supervisor).get("/access-log/", {"client_id": str(client.pk)})
        assert page.status_code == 200
        found = {(e.object_type, e.object_id) for e in page.context["page"].object_list}
        assert found == {
            ("client", str(client.pk)),
            ("screening", str(referral.screening_id)),
            ("referral", str(referral.pk)),
            ("feedback", str(feedback.pk)),
        }

    @pytest.mark.parametrize("value", ["7; drop", "9223372036854775808", "١٢", "-3"])
    def test_a_client_id_no_record_can_have_finds_nothing_and_is_no_error(
        self, sign_in, supervisor, value
    ):
        page = sign_in(supervisor).get("/access-log/", {"client_id": value})
        assert page.status_code == 200
        assert list(page.context["page"].object_list) == []
