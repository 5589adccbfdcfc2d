"""Each page: who may use it, what an outsider gets, and a query count that does not grow."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AccessEvent, Role
from accounts.services import access_log
from tests.factories.accounts import ClinicFactory, UserFactory

# Who may open each page. Anyone signed in who is not listed gets 403; anonymous visitors are
# sent to sign in. A superuser holds every permission (Django's rule); with no clinic they see
# no clinic's data.
PAGE_ACCESS = {
    "/clinician/": {"clinician", "outsider", "superuser"},
    "/supervisor/": {"supervisor", "outsider", "superuser"},
    "/site-admin/": {"site_admin", "superuser"},
    "/access-log/": {"supervisor", "outsider", "superuser"},
}
PEOPLE = ["clinician", "supervisor", "site_admin", "outsider", "no_role_user", "superuser"]


@pytest.mark.parametrize("path", PAGE_ACCESS)
@pytest.mark.parametrize("person", PEOPLE)
def test_permission_per_role(request, sign_in, path, person):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(path)
    if person in PAGE_ACCESS[path]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"do not have access" in response.content
        event = AccessEvent.objects.get(action=AccessEvent.Action.DENIED)
        assert event.user == user and event.outcome == "denied"


@pytest.mark.parametrize("path", [*PAGE_ACCESS, "/"])
def test_anonymous_is_sent_to_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


@pytest.mark.parametrize(
    ("person", "home"),
    [
        ("clinician", "/clinician/"),
        ("supervisor", "/supervisor/"),
        ("site_admin", "/site-admin/"),
        ("outsider", "/clinician/"),
        ("superuser", "/admin/"),
    ],
)
def test_home_sends_each_role_to_its_page(request, sign_in, person, home):
    response = sign_in(request.getfixturevalue(person)).get("/")
    assert response["Location"] == home


def test_navigation_follows_the_roles(sign_in, outsider):
    html = sign_in(outsider).get("/clinician/").content.decode()
    assert 'href="/clinician/"' in html and 'href="/supervisor/"' in html
    assert 'href="/access-log/"' in html
    assert 'href="/site-admin/"' not in html and 'href="/admin/"' not in html


def test_demo_banner_only_without_two_factor(client, settings, db):
    settings.REQUIRE_MFA = True
    assert b"Demo mode" not in client.get("/account/sign-in/").content
    settings.REQUIRE_MFA = False
    assert b"Demo mode" in client.get("/account/sign-in/").content


@pytest.fixture
def busy_clinic(clinic, supervisor, other_clinic):
    """Forty staff and a thousand access events at the clinic, and noise at another clinic."""
    staff = [UserFactory(clinic=clinic, roles=[Role.CLINICIAN]) for _ in range(40)]
    events = [
        AccessEvent(
            user=staff[i % 40],
            username=staff[i % 40].username,
            clinic=clinic,
            action=AccessEvent.Action.VIEW,
            object_type="client",
            object_id=str(i % 25),
        )
        for i in range(1000)
    ]
    events += [
        AccessEvent(
            user=supervisor,
            username="supervisor",
            clinic=other_clinic,
            action=AccessEvent.Action.VIEW,
            object_type="client",
            object_id="7",
        )
        for _ in range(30)
    ]
    AccessEvent.objects.bulk_create(events)
    for _ in range(10):
        access_log.record(None, AccessEvent.Action.SIGN_IN, user=supervisor)
    for n in range(20):
        ClinicFactory(name=f"Extra clinic {n}")
    return staff


@pytest.mark.parametrize(
    ("person", "path", "expected"),
    [
        # session, user, OTP device, recent activity (the permission set is the session's)
        # ... plus the worklist's three pages (each counts itself: COUNT(*) OVER ())
        # the chosen groups of open referrals VI.C may now rule out (read, never stored),
        # and the access-log row (the worklist names clients)
        ("clinician", "/clinician/", 9),
        # ... plus the clinic's staff and their groups (prefetch)
        ("supervisor", "/supervisor/", 8),
        # ... plus the clinics with their staff counts
        ("site_admin", "/site-admin/", 5),
        # ... plus staff for the filter, the page of events with their actors (no count: the
        # log is paged by keyset, accounts.selectors.access_log.access_event_page)
        ("supervisor", "/access-log/", 5),
        ("supervisor", "/access-log/?action=view&client_id=3", 5),
    ],
)
def test_query_count_does_not_grow_with_data(
    request, sign_in, busy_clinic, person, path, expected, count_queries
):
    client = sign_in(request.getfixturevalue(person))
    assert count_queries(client, path) == expected


class TestAccessLogPage:
    def test_lists_only_the_own_clinics_events_newest_first(self, sign_in, supervisor, busy_clinic):
        client = sign_in(supervisor)
        page = client.get("/access-log/").context["page"]
        seen = []
        while True:  # every page, by the Older links (the pages no longer count the whole)
            assert all(e.clinic_id == supervisor.clinic_id for e in page.object_list)
            seen += page.object_list
            if not page.has_next:
                break
            assert len(page.object_list) == 50
            page = client.get("/access-log/" + page.next_url).context["page"]
        assert len(seen) == 1000 + 10 + 1  # and the sign-in of this test
        assert len({e.pk for e in seen}) == len(seen)
        keys = [(e.occurred_at, e.pk) for e in seen]
        assert keys == sorted(keys, reverse=True)

    def test_filters_by_staff_member_client_and_date(self, sign_in, supervisor, busy_clinic):
        client = sign_in(supervisor)
        someone = busy_clinic[3]
        page = client.get("/access-log/", {"user": someone.pk}).context["page"]
        assert len(page) == 25 and not page.has_next
        assert {e.user_id for e in page.object_list} == {someone.pk}

        page = client.get("/access-log/", {"client_id": "7"}).context["page"]
        assert len(page) == 40 and not page.has_next  # not the other clinic's thirty
        assert {e.object_id for e in page.object_list} == {"7"}

        today = timezone.localdate()
        page = client.get("/access-log/", {"date_from": today.isoformat()}).context["page"]
        assert len(page) == 50 and page.has_next  # more than a page: today's thousand
        tomorrow = (today + timedelta(days=1)).isoformat()
        page = client.get("/access-log/", {"date_from": tomorrow}).context["page"]
        assert len(page) == 0

    def test_staff_of_another_clinic_cannot_be_chosen(
        self, sign_in, supervisor, outsider, busy_clinic
    ):
        response = sign_in(supervisor).get("/access-log/", {"user": outsider.pk})
        assert response.status_code == 400
        assert b"Select a valid choice" in response.content

    @pytest.mark.parametrize(
        "query",
        [
            {"date_from": "yesterday"},
            {"action": "drop table"},
            {"user": "abc"},
            {"client_id": "x" * 65},
        ],
    )
    def test_bad_filters_get_a_clear_message_and_a_400(self, sign_in, supervisor, query):
        response = sign_in(supervisor).get("/access-log/", query)
        assert response.status_code == 400
        assert b"Please correct the filters" in response.content

    def test_pages_keep_the_filters(self, sign_in, supervisor, busy_clinic):
        client = sign_in(supervisor)
        response = client.get("/access-log/", {"action": "view"})
        assert f'href="{response.context["page"].next_url.replace("&", "&amp;")}"' in (
            response.content.decode()
        )
        assert response.context["page"].next_url.startswith("?action=view&older=")
        response = client.get("/access-log/", {"action": "view", "page": "999"})
        assert response.status_code == 200  # an old page-number link: the newest events
        assert response.context["page"].is_first


def test_times_are_stored_in_utc_and_shown_in_los_angeles(sign_in, supervisor):
    from datetime import UTC, datetime

    moment = datetime(2026, 7, 4, 3, 30, tzinfo=UTC)  # 8:30 pm on July 3 in Los Angeles (PDT)
    AccessEvent.objects.bulk_create(
        [
            AccessEvent(
                occurred_at=moment,
                user=supervisor,
                username="supervisor",
                clinic=supervisor.clinic,
                action=AccessEvent.Action.EXPORT,
            )
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT occurred_at FROM accounts_accessevent WHERE action = 'export'")
        stored = cursor.fetchone()[0]
    assert str(stored).startswith("2026-07-04 03:30")
    html = sign_in(supervisor).get("/access-log/", {"action": "export"}).content.decode()
    assert "Jul 3, 2026 8:30:00 p.m." in html
