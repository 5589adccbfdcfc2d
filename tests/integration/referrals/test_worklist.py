"""The clinician's worklist on their home page (VIII.I–J) and the clinic's follow-up schedule
(VIII.J), through real requests: what each list holds and where its boundaries are, pages,
tenancy, roles, bad input, and a query count that does not grow with the referrals."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from clients.models import Attendance
from referrals.models import (
    FollowUp,
    FollowUpSchedule,
    ProcedureStep,
    Referral,
)
from referrals.rules import procedure
from referrals.rules.schedule import parse_weeks
from referrals.selectors import procedure as procedure_selectors
from referrals.selectors import worklist
from referrals.services import followups as followup_services
from tests.factories.accounts import UserFactory
from tests.factories.clients import AttendanceFactory, ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import (
    FollowUpFactory,
    ReferralFactory,
    ReferredGroupFactory,
    ScreeningFactory,
)

LA = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 5, 6)  # a Wednesday
NOON = datetime.combine(TODAY, time(12, 0), tzinfo=LA)
Code = ProcedureStep.Code
ALL_BUT_K = [c for c in Code.values if c != Code.K]


@pytest.fixture
def frozen():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def group(db):
    return GroupFactory(name="Depression Anonymous", slug="depression-anonymous")


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LA)


def make_referral(
    clinician,
    *,
    status=Referral.Status.REFERRED,
    groups=(),
    done=(),
    not_applicable=(),
    approval=None,
    referred_on: date | None = None,
    clinic=None,
    first_name=None,
):
    """A referral of ``clinician``'s at ``clinic`` (theirs by default), with its eleven steps
    (all pending unless named in ``done`` / ``not_applicable``) and the groups chosen."""
    clinic = clinic or clinician.clinic
    client = ClientFactory(
        clinic=clinic,
        created_by=clinician,
        **({"first_name": first_name} if first_name else {}),
    )
    screening = ScreeningFactory(client=client, clinic=clinic, screened_by=clinician)
    active = status != Referral.Status.PREPARING
    referral = ReferralFactory(
        screening=screening,
        client=client,
        clinic=clinic,
        clinician=clinician,
        status=status,
        close_reason=(
            Referral.CloseReason.LOST_CONTACT if status == Referral.Status.CLOSED else ""
        ),
        approval=approval or (Referral.Approval.APPROVED if active else "pending"),
        referred_at=at(referred_on) if referred_on else (timezone.now() if active else None),
    )
    for g in groups:
        ReferredGroupFactory(
            referral=referral, group=g, chosen_at=timezone.now(), chosen_by=clinician
        )
    ProcedureStep.objects.filter(referral=referral, code__in=list(done)).update(
        status=ProcedureStep.Status.DONE
    )
    ProcedureStep.objects.filter(referral=referral, code__in=list(not_applicable)).update(
        status=ProcedureStep.Status.NOT_APPLICABLE, not_applicable_reason="No peer available."
    )
    return referral


def settled(clinician, **kwargs):
    """A referred referral with every step but K settled: nothing waits (K needs attendance)."""
    return make_referral(clinician, done=ALL_BUT_K, **kwargs)


def home(client, **params):
    response = client.get("/clinician/", params)
    assert response.status_code == 200
    return response.context["worklist"]


# --- follow-ups (VIII.J) ----------------------------------------------------------------------


class TestFollowUps:
    def test_overdue_then_today_then_this_week_and_nothing_else(
        self, sign_in, clinician, group, frozen
    ):
        referral = settled(clinician, groups=[group])
        closed = settled(clinician, status=Referral.Status.CLOSED)
        rows = {
            "overdue": FollowUpFactory(referral=referral, due_on=TODAY - timedelta(days=1)),
            "long-overdue": FollowUpFactory(referral=referral, due_on=TODAY - timedelta(days=30)),
            "today": FollowUpFactory(referral=referral, due_on=TODAY),
            "tomorrow": FollowUpFactory(referral=referral, due_on=TODAY + timedelta(days=1)),
            "week-end": FollowUpFactory(
                referral=referral, due_on=TODAY + timedelta(days=worklist.UPCOMING_DAYS)
            ),
        }
        FollowUpFactory(
            referral=referral, due_on=TODAY + timedelta(days=worklist.UPCOMING_DAYS + 1)
        )  # too far
        FollowUpFactory(
            referral=referral, due_on=TODAY - timedelta(days=2), done_at=timezone.now()
        )  # done
        FollowUpFactory(referral=closed, due_on=TODAY)  # its referral is closed

        work = home(sign_in(clinician))

        listed = work.followups.rows
        assert [f.pk for f in listed] == [
            rows[k].pk for k in ["long-overdue", "overdue", "today", "tomorrow", "week-end"]
        ]
        assert [f.when for f in listed] == ["overdue", "overdue", "today", "upcoming", "upcoming"]
        assert (work.overdue_count, work.due_today_count, work.upcoming_count) == (2, 1, 2)
        assert work.followups.count == 5
        assert listed[0].days_overdue == 30
        assert listed[0].group_names == ["Depression Anonymous"]

    def test_today_is_the_local_day_not_the_utc_one(self, sign_in, clinician):
        referral = settled(clinician)
        FollowUpFactory(referral=referral, due_on=TODAY)
        # 11:30 pm in Los Angeles is already the next day in UTC.
        with time_machine.travel(at(TODAY, 23, 30), tick=False):
            work = home(sign_in(clinician))
            assert work.today == TODAY
            assert [f.when for f in work.followups.rows] == ["today"]
        with time_machine.travel(at(TODAY + timedelta(days=1), 0, 5), tick=False):
            work = home(sign_in(clinician))
            assert [f.when for f in work.followups.rows] == ["overdue"]
            assert work.overdue_count == 1

    def test_rows_link_by_id_and_carry_a_record_form(self, sign_in, clinician, group, frozen):
        referral = settled(clinician, groups=[group], first_name="Zebulon")
        followup = FollowUpFactory(referral=referral, due_on=TODAY)
        html = sign_in(clinician).get("/clinician/").content.decode()
        assert f'href="/referrals/{referral.pk}/"' in html
        assert "Zebulon" in html and "Depression Anonymous" in html
        action = f'action="/referrals/{referral.pk}/follow-ups/{followup.pk}/done/"'
        assert action in html
        assert 'name="next" value="worklist"' in html
        assert 'name="outcome"' in html and 'name="note"' in html
        # No name in any address on the page.
        assert "Zebulon" not in "".join(part.split('"')[0] for part in html.split('href="')[1:])

    def test_recording_from_the_worklist_comes_back_to_it(self, sign_in, clinician, group, frozen):
        referral = settled(clinician, groups=[group])
        followup = FollowUpFactory(referral=referral, due_on=TODAY - timedelta(days=3))
        client = sign_in(clinician)
        response = client.post(
            f"/referrals/{referral.pk}/follow-ups/{followup.pk}/done/",
            {"outcome": "reported", "note": "Went twice.", "next": "worklist"},
        )
        assert response.status_code == 302 and response["Location"] == "/clinician/"
        followup.refresh_from_db()
        assert followup.done_at is not None and followup.outcome == "reported"
        work = home(client)
        assert work.followups.count == 0 and work.overdue_count == 0


# --- referrals waiting on a step (VIII.A–K) ---------------------------------------------------


class TestWaiting:
    @pytest.fixture
    def referrals(self, frozen, clinician, group):
        approved_prep = make_referral(
            clinician,
            status=Referral.Status.PREPARING,
            approval=Referral.Approval.APPROVED,
            done=[Code.A, Code.B],
        )
        made = {
            "preparing, nothing yet": make_referral(clinician, status=Referral.Status.PREPARING),
            "preparing, approved": approved_prep,
            "referred, E and F pending": make_referral(
                clinician,
                groups=[group],
                done=[c for c in ALL_BUT_K if c not in (Code.E, Code.F)],
            ),
            "referred, all but K": settled(clinician, groups=[group]),
            "attending, K pending": settled(
                clinician, groups=[group], status=Referral.Status.ATTENDING
            ),
            "referred, C not applicable, D pending": make_referral(
                clinician,
                groups=[group],
                done=[c for c in ALL_BUT_K if c not in (Code.C, Code.D)],
                not_applicable=[Code.C],
            ),
            "referred, C done, D pending": make_referral(
                clinician,
                groups=[group],
                done=[c for c in ALL_BUT_K if c != Code.D],
            ),
            "closed, all pending": make_referral(
                clinician, groups=[group], status=Referral.Status.CLOSED
            ),
        }
        # Groups chosen schedule the follow-ups (VIII.J): one three weeks ahead is not yet due.
        for name, referral in made.items():
            if name.startswith(("referred", "attending")):
                FollowUpFactory(referral=referral, due_on=TODAY + timedelta(weeks=3))
        # VIII.J waits when a follow-up is due by today, or when none is scheduled at all.
        made["referred, a follow-up due today"] = settled(clinician, groups=[group])
        FollowUpFactory(referral=made["referred, a follow-up due today"], due_on=TODAY)
        made["referred, no follow-up"] = settled(clinician, groups=[group])
        made["referred, follow-ups all recorded"] = settled(clinician, groups=[group])
        FollowUpFactory(
            referral=made["referred, follow-ups all recorded"],
            due_on=TODAY - timedelta(days=1),
            done_at=timezone.now(),
        )
        return made

    def test_which_referrals_wait_and_on_which_steps(self, sign_in, clinician, referrals, frozen):
        work = home(sign_in(clinician))
        shown = {r.pk: [s.code for s in r.waiting_steps] for r in work.waiting.rows}
        by_name = {name: shown.get(r.pk) for name, r in referrals.items()}
        assert by_name == {
            "preparing, nothing yet": ["VIII.A"],
            "preparing, approved": ["VIII.C"],
            "referred, E and F pending": ["VIII.E", "VIII.F"],
            "referred, all but K": None,
            "attending, K pending": ["VIII.K"],
            "referred, C not applicable, D pending": ["VIII.D"],
            "referred, C done, D pending": None,
            "closed, all pending": None,
            "referred, a follow-up due today": ["VIII.J"],
            "referred, no follow-up": ["VIII.J"],
            "referred, follow-ups all recorded": None,
        }
        assert work.waiting.count == 7

    def test_the_sql_rule_agrees_with_the_procedures_rules(
        self, sign_in, clinician, referrals, group, frozen
    ):
        # Make the attending referral's status true: an attendance at the chosen group.
        attending = referrals["attending, K pending"]
        AttendanceFactory(
            client=attending.client,
            clinic=attending.clinic,
            group=group,
            on_date=TODAY,
            recorded_by=clinician,
        )
        work = home(sign_in(clinician))
        shown = {r.pk: [s.step for s in r.waiting_steps] for r in work.waiting.rows}
        for referral in referrals.values():
            expected = procedure.waiting_steps(procedure_selectors.procedure_facts(referral))
            assert shown.get(referral.pk, []) == expected, referral

    def test_the_page_names_the_steps(self, sign_in, clinician, referrals, frozen):
        html = sign_in(clinician).get("/clinician/").content.decode()
        assert "VIII.E Client Coalition contact given" in html
        assert "VIII.D SHARE! and the Friendship Line given" in html


# --- clients due to report back (VIII.I) ------------------------------------------------------


class TestReportBack:
    def test_the_rule_and_its_boundaries(self, sign_in, clinician, group, frozen):
        other = GroupFactory(name="Another Group", slug="another-group")
        long_ago = TODAY - timedelta(days=30)
        window = worklist.report_back_since(TODAY)  # midnight, fourteen days ago
        assert window == at(TODAY - timedelta(days=14), 0, 0)

        def referred(**kwargs):
            return settled(clinician, groups=[group], referred_on=long_ago, **kwargs)

        cases = {}
        cases["nothing heard"] = (referred(), True)
        cases["referred in the window"] = (
            settled(clinician, groups=[group], referred_on=TODAY - timedelta(days=10)),
            False,
        )
        cases["referred the day before the window"] = (
            settled(clinician, groups=[group], referred_on=TODAY - timedelta(days=15)),
            True,
        )
        r = referred()
        FollowUpFactory(
            referral=r,
            due_on=TODAY - timedelta(days=3),
            done_at=at(TODAY - timedelta(days=3)),
            outcome="reported",
        )
        cases["follow-up done 3 days ago"] = (r, False)
        r = referred()
        FollowUpFactory(
            referral=r, due_on=TODAY - timedelta(days=3), done_at=window, outcome="reminded"
        )
        cases["follow-up done as the window opened"] = (r, False)
        r = referred()
        FollowUpFactory(
            referral=r,
            due_on=TODAY - timedelta(days=20),
            done_at=window - timedelta(minutes=1),
            outcome="reported",
        )
        cases["follow-up done just before the window"] = (r, True)
        r = referred()
        FollowUpFactory(
            referral=r,
            due_on=TODAY - timedelta(days=3),
            done_at=at(TODAY - timedelta(days=3)),
            outcome="not-reached",
        )
        cases["could not reach the client"] = (r, True)
        r = referred(status=Referral.Status.ATTENDING)
        a = AttendanceFactory(
            client=r.client, clinic=r.clinic, group=group, on_date=long_ago, recorded_by=clinician
        )
        Attendance.objects.filter(pk=a.pk).update(recorded_at=at(TODAY - timedelta(days=2)))
        cases["attendance documented 2 days ago"] = (r, False)
        r = referred(status=Referral.Status.ATTENDING)
        a = AttendanceFactory(
            client=r.client, clinic=r.clinic, group=group, on_date=long_ago, recorded_by=clinician
        )
        Attendance.objects.filter(pk=a.pk).update(recorded_at=at(long_ago))
        cases["attendance documented long ago"] = (r, True)
        r = referred()
        AttendanceFactory(
            client=r.client, clinic=r.clinic, group=other, on_date=TODAY, recorded_by=clinician
        )
        cases["attendance at a group not chosen"] = (r, True)
        cases["engaged"] = (referred(status=Referral.Status.ENGAGED), True)
        cases["closed"] = (referred(status=Referral.Status.CLOSED), False)
        cases["preparing"] = (
            make_referral(clinician, status=Referral.Status.PREPARING, referred_on=long_ago),
            False,
        )

        work = home(sign_in(clinician))
        listed = {r.pk for r in work.report_back.rows}
        assert {name: r.pk in listed for name, (r, _) in cases.items()} == {
            name: expected for name, (_, expected) in cases.items()
        }
        assert work.report_back.count == sum(expected for _, expected in cases.values())

    def test_the_page_states_the_rule_and_when_last_heard(self, sign_in, clinician, group, frozen):
        r = settled(clinician, groups=[group], referred_on=TODAY - timedelta(days=40))
        FollowUpFactory(
            referral=r,
            due_on=TODAY - timedelta(days=30),
            done_at=at(date(2026, 4, 6)),
            outcome="reported",
        )
        html = sign_in(clinician).get("/clinician/").content.decode()
        assert "Clients due to report back" in html
        assert f"nothing heard in the last {worklist.REPORT_BACK_DAYS} days" in html
        assert "Follow-up Apr 6, 2026" in html


# --- pages ------------------------------------------------------------------------------------


def test_each_list_pages_on_its_own_and_keeps_the_others(sign_in, clinician, frozen):
    referral = settled(clinician)
    FollowUp.objects.bulk_create(
        FollowUp(
            referral=referral,
            clinic_id=referral.clinic_id,
            clinician=clinician,
            due_on=TODAY - timedelta(days=n),
        )
        for n in range(45)
    )
    for _ in range(worklist.PAGE_SIZE + 1):
        make_referral(clinician, status=Referral.Status.PREPARING)
    client = sign_in(clinician)

    work = home(client)
    assert work.followups.count == 45 and len(work.followups.rows) == worklist.PAGE_SIZE
    # The preparing referrals, and the one whose follow-ups are overdue (VIII.J to do now).
    assert work.waiting.count == worklist.PAGE_SIZE + 2
    assert work.followups.next_url == "?fpage=2"

    work = home(client, fpage="3", wpage="2")
    assert len(work.followups.rows) == 5
    # Oldest first: the third page holds the five most recent.
    assert [f.due_on for f in work.followups.rows] == [
        TODAY - timedelta(days=n) for n in range(4, -1, -1)
    ]
    assert len(work.waiting.rows) == 2
    assert work.followups.previous_url == "?fpage=2&wpage=2"
    assert work.waiting.previous_url == "?fpage=3&wpage=1"
    html = client.get("/clinician/", {"fpage": "3", "wpage": "2"}).content.decode()
    assert 'href="?fpage=2&amp;wpage=2"' in html

    # Past the end, or not a number: the last page, or the first.
    past = home(client, fpage="999")
    assert past.followups.page.number == 3
    # The list counts itself on every page, the last one reached from past the end too.
    assert (past.followups.count, past.overdue_count, past.due_today_count) == (45, 44, 1)
    assert home(client, fpage="abc").followups.page.number == 1


# --- tenancy and roles ------------------------------------------------------------------------


def test_only_the_clinicians_own_referrals_at_their_clinic(
    sign_in, clinician, other_clinic, outsider, clinic, group, frozen
):
    mine = settled(clinician, groups=[group], referred_on=TODAY - timedelta(days=30))
    FollowUpFactory(referral=mine, due_on=TODAY)
    colleague = UserFactory(username="colleague", clinic=clinic, roles=[Role.CLINICIAN])
    theirs = make_referral(colleague, groups=[group], referred_on=TODAY - timedelta(days=30))
    FollowUpFactory(referral=theirs, due_on=TODAY)
    # A referral that names this clinician but belongs to another clinic (they moved).
    elsewhere = make_referral(
        clinician, clinic=other_clinic, groups=[group], referred_on=TODAY - timedelta(days=30)
    )
    FollowUpFactory(referral=elsewhere, due_on=TODAY)
    outsiders = make_referral(outsider, groups=[group], referred_on=TODAY - timedelta(days=30))
    FollowUpFactory(referral=outsiders, due_on=TODAY)

    work = home(sign_in(clinician))
    assert {f.referral_id for f in work.followups.rows} == {mine.pk}
    # Mine waits on VIII.J (its follow-up is due today); no one else's referral appears.
    assert {r.pk for r in work.waiting.rows} == {mine.pk}
    assert {r.pk for r in work.report_back.rows} == {mine.pk}
    assert (work.followups.count, work.waiting.count, work.report_back.count) == (1, 1, 1)

    html = sign_in(outsider).get("/clinician/").content.decode()
    assert f"/referrals/{outsiders.pk}/" in html
    for pk in (mine.pk, theirs.pk, elsewhere.pk):
        assert f"/referrals/{pk}/" not in html


@pytest.mark.parametrize("person", ["supervisor", "site_admin", "no_role_user"])
def test_without_the_clinician_role_there_is_no_worklist(request, sign_in, person, clinician):
    referral = settled(clinician)
    FollowUpFactory(referral=referral, due_on=timezone.localdate())
    client = sign_in(request.getfixturevalue(person))
    assert client.get("/clinician/").status_code == 403
    html = client.get("/", follow=True).content.decode()
    assert "Your worklist" not in html and f"/referrals/{referral.pk}/" not in html


def test_a_clinician_without_a_clinic_gets_an_empty_worklist(sign_in, superuser):
    work = home(sign_in(superuser))
    assert (work.followups.count, work.waiting.count, work.report_back.count) == (0, 0, 0)


# --- a fixed number of queries ----------------------------------------------------------------


def _busy(clinician, group, n):
    for i in range(n):
        r = make_referral(
            clinician,
            groups=[group],
            done=[Code.A, Code.B, Code.C, Code.J],
            referred_on=TODAY - timedelta(days=20 + i % 5),
        )
        FollowUpFactory(referral=r, due_on=TODAY - timedelta(days=i % 3))


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/clinician/")
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_referrals(sign_in, clinician, clinic, group, frozen):
    client = sign_in(clinician)
    _busy(clinician, group, 5)
    few = _queries(client)
    work = home(client)
    assert (work.followups.count, work.waiting.count, work.report_back.count) == (5, 5, 5)

    _busy(clinician, group, 195)
    many = _queries(client)
    work = home(client)
    assert (work.followups.count, work.waiting.count, work.report_back.count) == (200, 200, 200)
    assert many == few
    # The home page's own four (session, user, device, activity; the permission set is the
    # session's) plus the
    # worklist's five: three pages (each counting itself, COUNT(*) OVER ()), their groups,
    # the waiting rows' steps; VI.C (the chosen groups it may rule out, with the clients'
    # names and how many groups each referral chose: 1, none here); and the access-log row
    # (the worklist names clients).
    assert many == 4 + 5 + 1 + 1


# --- the clinic's follow-up schedule (VIII.J) -------------------------------------------------

SCHEDULE = "/referrals/follow-up-schedule/"


class TestSchedule:
    @pytest.mark.parametrize(
        ("person", "status"),
        [
            ("supervisor", 200),
            ("outsider", 200),
            ("clinician", 403),
            ("site_admin", 403),
            ("no_role_user", 403),
        ],
    )
    def test_who_may_open_it(self, request, sign_in, person, status):
        assert sign_in(request.getfixturevalue(person)).get(SCHEDULE).status_code == status

    def test_a_clinician_cannot_change_it(self, sign_in, clinician, clinic):
        response = sign_in(clinician).post(SCHEDULE, {"weeks": "2, 4"})
        assert response.status_code == 403
        assert not FollowUpSchedule.objects.filter(clinic=clinic).exists()

    def test_the_supervisor_home_links_to_it(self, sign_in, supervisor):
        html = sign_in(supervisor).get("/supervisor/").content.decode()
        assert f'href="{SCHEDULE}"' in html

    def test_shows_the_default_until_changed(self, sign_in, supervisor):
        response = sign_in(supervisor).get(SCHEDULE)
        assert response.context["current"] == [1, 3, 6]
        assert response.context["form"].initial["weeks"] == "1, 3, 6"

    def test_saving_records_who_and_applies_to_new_referrals_only(
        self, sign_in, supervisor, clinician, clinic, outsider, frozen
    ):
        before = settled(clinician)
        followup_services.schedule_followups(referral=before, start=TODAY, by=clinician)
        client = sign_in(supervisor)

        response = client.post(SCHEDULE, {"weeks": " 2, 4,8 "})
        assert response.status_code == 302 and response["Location"] == SCHEDULE

        schedule = FollowUpSchedule.objects.get(clinic=clinic)
        assert schedule.weeks == [2, 4, 8] and schedule.updated_by == supervisor
        latest = schedule.history.latest()
        assert latest.history_user == supervisor and latest.weeks == [2, 4, 8]
        page = client.get(SCHEDULE)
        assert page.context["current"] == [2, 4, 8]
        assert b"2, 4, 8" in page.content

        # Follow-ups already scheduled keep their dates.
        assert sorted(f.due_on for f in before.followups.all()) == [
            TODAY + timedelta(weeks=w) for w in (1, 3, 6)
        ]
        # A new referral follows the new schedule; another clinic keeps the default.
        after = settled(clinician)
        followup_services.schedule_followups(referral=after, start=TODAY, by=clinician)
        assert sorted(f.due_on for f in after.followups.all()) == [
            TODAY + timedelta(weeks=w) for w in (2, 4, 8)
        ]
        theirs = settled(outsider)
        followup_services.schedule_followups(referral=theirs, start=TODAY, by=outsider)
        assert sorted(f.due_on for f in theirs.followups.all()) == [
            TODAY + timedelta(weeks=w) for w in (1, 3, 6)
        ]

    def test_saving_the_same_weeks_again_adds_no_history(self, sign_in, supervisor, clinic):
        client = sign_in(supervisor)
        client.post(SCHEDULE, {"weeks": "2, 4"})
        client.post(SCHEDULE, {"weeks": "2,4"})
        assert FollowUpSchedule.history.filter(clinic_id=clinic.pk).count() == 1

    @pytest.mark.parametrize(
        ("weeks", "message"),
        [
            ("", "This field is required."),
            ("   ", "This field is required."),
            ("0, 3", "Weeks run from 1 to 52"),
            ("1, 53", "53 is outside that"),
            ("3, 1", "increasing order"),
            ("1, 1, 2", "increasing order"),
            ("1, 2, 3, 4, 5, 6, 7, 8, 9", "at most 8"),
            ("one, three", "is not a whole number"),
            ("1.5, 3", "is not a whole number"),
            ("-1, 3", "is not a whole number"),
        ],
    )
    def test_bad_weeks_get_a_clear_message_and_a_400(
        self, sign_in, supervisor, clinic, weeks, message
    ):
        response = sign_in(supervisor).post(SCHEDULE, {"weeks": weeks})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert "Nothing was saved" in response.content.decode()
        assert not FollowUpSchedule.objects.filter(clinic=clinic).exists()


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("1, 3, 6", [1, 3, 6]),
        ("1 3 6", [1, 3, 6]),
        ("52", [52]),
        ("1,2,3,4,5,6,7,8", list(range(1, 9))),
    ],
)
def test_parse_weeks_accepts(text, weeks):
    assert parse_weeks(text) == weeks
