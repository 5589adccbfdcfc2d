"""The supervisor review's figures, computed the way they were before the scale work (one ``EXISTS``
chain per figure) and the way they are now (the funnel folded into the screening query, the
BLOCKS reasons counted apart, attendance asked group by group, one query for the clinic's
staff), must be the same on a clinic with many rows and every edge the figures have: every
number, every row and its order, every chart series, every sign-off state, the page of gaps,
the sign-off form's options and every CSV line.

The old queries are kept here, verbatim but for names, as the reference (``_old_*``). The data
is random but seeded, and larger than the hand-computed clinic of test_review.py: ~40 people
(clinicians active and not, a clinician of another clinic who worked here, a supervisor, staff
without the role), ~900 screenings with BLOCKS reasons (several per clause, and other kinds
citing the same clauses), ~600 referrals in every status with none to three chosen groups,
attendance at chosen and other groups around the period's edges, feedback with and without
concerns, and sign-offs of this period and others, here and at another clinic.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek

from accounts.models import Role
from clients.forms import SignOffForm
from clients.models import Attendance, Client, DocumentationSignOff, Feedback
from clients.selectors import review
from clients.selectors.review import (
    NOT_REFERRED_CLAUSES,
    SIX_IN_A_ROW,
    STILL_TO_DOCUMENT,
    ClinicianFigures,
)
from clients.views.review import csv_lines
from core.periods import Period
from referrals.models import Referral, ReferredGroup, Screening, ScreeningReason
from tests.factories.accounts import UserFactory
from tests.factories.clients import DocumentationSignOffFactory
from tests.factories.directory import GroupFactory

LA = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 5, 6)
NOW = datetime.combine(TODAY, time(12, 0), tzinfo=LA)
Status = Referral.Status
Decision = Screening.Decision
CLAUSES = ["IV", "IV.H", "V", "VI.A", "VI.B", "VI.C"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- the reference: the queries as they were -------------------------------------------------


def _old_holds_clinician_role():
    return Exists(
        Permission.objects.filter(
            group__user=OuterRef("pk"),
            content_type__app_label="accounts",
            codename="use_clinician_home",
        )
    )


def _old_clinicians_for_sign_off(clinic_id):
    worked_here = Exists(
        Screening.objects.filter(clinic_id=clinic_id, screened_by=OuterRef("pk"))
    ) | Exists(Referral.objects.filter(clinic_id=clinic_id, clinician=OuterRef("pk")))
    worked_here |= Exists(Feedback.objects.filter(clinic_id=clinic_id, recorded_by=OuterRef("pk")))
    return (
        get_user_model()
        .objects.filter((Q(clinic_id=clinic_id) & Q(_old_holds_clinician_role())) | Q(worked_here))
        .order_by("last_name", "first_name", "username")
    )


def _old_documented():
    chosen = ReferredGroup.objects.filter(referral_id=OuterRef(OuterRef("pk"))).values("group_id")
    return Exists(Attendance.objects.filter(client_id=OuterRef("client_id"), group_id__in=chosen))


def _old_gap(cutoff):
    return Q(referred_at__lt=cutoff) & ~Q(_old_documented()) & STILL_TO_DOCUMENT


def _old_figures(clinic_id, period, *, gap_weeks, now):
    """Rows as tuples: (user id, name, figures..., signed_off_at)."""
    cutoff = now - timedelta(weeks=gap_weeks)
    not_now = Q(decision=Decision.NOT_NOW)
    blocks = {
        key: Count(
            "pk",
            filter=not_now
            & Q(
                Exists(
                    ScreeningReason.objects.filter(
                        screening_id=OuterRef("pk"),
                        kind=ScreeningReason.Kind.BLOCKS,
                        clause=clause,
                    )
                )
            ),
        )
        for clause, key in NOT_REFERRED_CLAUSES
    }
    screenings = {
        row["screened_by"]: row
        for row in Screening.objects.filter(clinic_id=clinic_id)
        .filter(period.moments("screened_at"))
        .order_by()
        .values("screened_by")
        .annotate(
            screened=Count("pk"),
            incomplete=Count("pk", filter=Q(decision=Decision.INCOMPLETE)),
            not_referred=Count("pk", filter=not_now),
            **blocks,
        )
    }
    referrals = {
        row["clinician"]: row
        for row in Referral.objects.filter(clinic_id=clinic_id)
        .filter(period.moments("referred_at"))
        .order_by()
        .values("clinician")
        .annotate(
            referred=Count("pk"),
            attendance_documented=Count("pk", filter=Q(_old_documented())),
            six_in_a_row=Count("pk", filter=SIX_IN_A_ROW),
            gaps=Count("pk", filter=_old_gap(cutoff)),
        )
    }
    concerns = {
        row["recorded_by"]: row["concerns"]
        for row in Feedback.objects.filter(clinic_id=clinic_id)
        .filter(period.dates("given_on"))
        .exclude(concern_kinds=[])
        .order_by()
        .values("recorded_by")
        .annotate(concerns=Count("pk"))
    }
    with_figures = set(screenings) | set(referrals) | set(concerns)
    signed_off_at = DocumentationSignOff.objects.filter(
        clinic_id=clinic_id,
        clinician=OuterRef("pk"),
        period_start=period.start,
        period_end=period.end,
    ).values("signed_at")[:1]
    users = (
        get_user_model()
        .objects.filter(
            (Q(clinic_id=clinic_id, is_active=True) & Q(_old_holds_clinician_role()))
            | Q(pk__in=with_figures)
        )
        .annotate(signed_off_at=Subquery(signed_off_at))
        .order_by("last_name", "first_name", "username")
    )
    rows = []
    for user in users:
        s, r = screenings.get(user.pk, {}), referrals.get(user.pk, {})
        rows.append(
            (
                user.pk,
                user.get_full_name() or user.get_username(),
                s.get("screened", 0),
                s.get("incomplete", 0),
                s.get("not_referred", 0),
                *(s.get(key, 0) for _, key in NOT_REFERRED_CLAUSES),
                r.get("referred", 0),
                r.get("attendance_documented", 0),
                r.get("six_in_a_row", 0),
                concerns.get(user.pk, 0),
                r.get("gaps", 0),
                user.signed_off_at,
            )
        )
    return rows


def _old_funnel(clinic_id, period):
    made = Referral.objects.filter(screening_id=OuterRef("pk"), referred_at__isnull=False)
    documented = made.filter(_old_documented())
    refer = Q(decision=Decision.REFER)
    counts = (
        Screening.objects.filter(clinic_id=clinic_id)
        .filter(period.moments("screened_at"))
        .aggregate(
            screened=Count("pk"),
            decided_refer=Count("pk", filter=refer),
            referred=Count("pk", filter=refer & Q(Exists(made))),
            attendance_documented=Count("pk", filter=refer & Q(Exists(documented))),
            six_in_a_row=Count("pk", filter=refer & Q(Exists(documented.filter(SIX_IN_A_ROW)))),
        )
    )
    return [(label, counts[key]) for key, label in review.FUNNEL_STAGES]


def _old_weeks(clinic_id, period):
    rows = (
        Attendance.objects.filter(clinic_id=clinic_id)
        .filter(period.dates("on_date"))
        .annotate(week=TruncWeek("on_date"))
        .order_by()
        .values("week")
        .annotate(
            attended=Count("pk", filter=Q(status=Attendance.Status.ATTENDED)),
            missed=Count("pk", filter=Q(status=Attendance.Status.MISSED)),
        )
    )
    counts = {
        (row["week"].date() if isinstance(row["week"], datetime) else row["week"]): row
        for row in rows
    }
    return [
        (week, counts.get(week, {}).get("attended", 0), counts.get(week, {}).get("missed", 0))
        for week in period.weeks()
    ]


def _old_gap_ids(clinic_id, period, *, gap_weeks, now):
    return list(
        Referral.objects.filter(clinic_id=clinic_id)
        .filter(period.moments("referred_at"))
        .filter(_old_gap(now - timedelta(weeks=gap_weeks)))
        .order_by("referred_at", "id")
        .values_list("id", flat=True)
    )


# --- the data --------------------------------------------------------------------------------


def _moment(rng, first: date, last: date) -> datetime:
    """A moment between local midnight of ``first`` and the end of ``last``; often right on a
    midnight, where a period starts or ends."""
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    if rng.random() < 0.15:
        return datetime.combine(day, time(0, 0), tzinfo=LA) + timedelta(
            microseconds=rng.choice([0, -1, 1])
        )
    return datetime.combine(day, time(rng.randrange(24), rng.randrange(60)), tzinfo=LA)


@pytest.fixture
def busy_clinic(clinic, other_clinic, supervisor):
    rng = random.Random(8)
    User = get_user_model()
    people = [
        UserFactory(
            username=f"clin{n:02d}",
            first_name=rng.choice(["Ana", "Ben", "Cy", ""]),
            last_name=rng.choice(["Alvarez", "Brown", "Chen", ""]),
            clinic=clinic,
            roles=[Role.CLINICIAN],
            is_active=n % 9 != 0,  # some have left: listed only where they have figures
        )
        for n in range(30)
    ]
    # Staff without the clinician role (listed only with figures), a clinician of another
    # clinic who worked here, and one with nothing here at all.
    people += [
        UserFactory(username="nrole", clinic=clinic),
        UserFactory(username="visitor", clinic=other_clinic, roles=[Role.CLINICIAN]),
    ]
    UserFactory(username="elsewhere", clinic=other_clinic, roles=[Role.CLINICIAN])
    people.append(supervisor)
    workers = people + [User.objects.get(username="visitor")]
    groups = [GroupFactory(slug=f"equivalence-{n}") for n in range(6)]

    clients = Client.objects.bulk_create(
        Client(
            clinic=clinic if n % 10 else other_clinic,
            record_number=f"{700000 + n}",
            first_name=f"Eq{n}",
            last_name="Client",
            created_by=people[n % 30],
        )
        for n in range(260)
    )
    first, last = TODAY - timedelta(days=400), TODAY
    screenings = Screening.objects.bulk_create(
        Screening(
            client=(person := rng.choice(clients)),
            clinic=person.clinic,
            screened_by=rng.choice(workers),
            screened_at=_moment(rng, first, last),
            answers={},
            decision=rng.choice([Decision.REFER] * 3 + [Decision.NOT_NOW, Decision.INCOMPLETE]),
        )
        for _ in range(900)
    )
    kinds = list(ScreeningReason.Kind)
    ScreeningReason.objects.bulk_create(
        ScreeningReason(
            screening=s,
            clause=rng.choice(CLAUSES),
            code=f"code-{n}",
            kind=rng.choice(kinds),
            message="A reason",
            order=n,
        )
        for s in screenings
        for n in range(rng.randrange(4))
    )
    closed = list(Referral.CloseReason)
    referrals = []
    drafting = set()  # one draft (preparing) referral per client
    for s in screenings:
        if s.decision != Decision.REFER or rng.random() < 0.2:
            continue
        status = rng.choice(list(Status))
        if status == Status.PREPARING and s.client_id in drafting:
            status = Status.REFERRED
        if status == Status.PREPARING:
            drafting.add(s.client_id)
        referrals.append(
            Referral(
                client=s.client,
                clinic=s.clinic,
                clinician=rng.choice(workers) if rng.random() < 0.2 else s.screened_by,
                screening=s,
                status=status,
                close_reason=rng.choice(closed) if status == Status.CLOSED else "",
                referred_at=None
                if rng.random() < 0.1
                else s.screened_at + timedelta(days=rng.randrange(10)),
            )
        )
    referrals = Referral.objects.bulk_create(referrals)
    ReferredGroup.objects.bulk_create(
        ReferredGroup(referral=r, group=g, chosen_at=NOW, chosen_by=r.clinician)
        for r in referrals
        for g in rng.sample(groups, rng.randrange(4))
    )
    attendance = {
        (rng.choice(clients), rng.choice(groups), last - timedelta(days=rng.randrange(200)))
        for _ in range(2500)
    }
    Attendance.objects.bulk_create(
        Attendance(
            client=person,
            clinic=person.clinic,
            group=group,
            on_date=day,
            status=rng.choice(list(Attendance.Status)),
            recorded_by=person.created_by,
        )
        for person, group, day in attendance
    )
    Feedback.objects.bulk_create(
        Feedback(
            client=(person := rng.choice(clients)),
            clinic=person.clinic,
            group=rng.choice(groups),
            given_on=last - timedelta(days=rng.randrange(200)),
            frequency=Feedback.Frequency.ONCE,
            concern_kinds=rng.choice([[], [], ["safety"], ["safety", "stop-medication"]]),
            recorded_by=rng.choice(workers),
        )
        for _ in range(300)
    )
    signed = set()
    for n in range(40):
        who = rng.choice(workers)
        start, end = rng.choice(PERIODS)
        if (who.pk, start, end) not in signed:
            signed.add((who.pk, start, end))
            DocumentationSignOffFactory(
                clinic=clinic if n % 5 else other_clinic,
                clinician=who,
                period_start=start,
                period_end=end,
                signed_by=supervisor,
            )
    return clinic


PERIODS = [
    (TODAY - timedelta(days=89), TODAY),  # the default: the last 90 days
    (TODAY - timedelta(days=60), TODAY),
    (date(2025, 6, 1), date(2025, 12, 31)),
    (TODAY - timedelta(days=730), TODAY),  # two years
    (TODAY, TODAY),
]


def _new_rows(rows):
    return [
        (
            row.clinician.pk,
            row.name,
            row.screened,
            row.incomplete,
            row.not_referred,
            *(count for _, count in row.not_referred_by_clause),
            row.referred,
            row.attendance_documented,
            row.six_in_a_row,
            row.concerns,
            row.gaps,
            row.signed_off_at,
        )
        for row in rows
    ]


@pytest.mark.parametrize("start, end", PERIODS)
def test_the_figures_are_the_ones_the_old_queries_gave(busy_clinic, start, end):
    for gap_weeks in (1, 4, 26):
        _compare(busy_clinic, Period(start, end), gap_weeks)


def _compare(clinic, period, gap_weeks):
    data = review.review(clinic.pk, period, gap_weeks=gap_weeks, now=NOW)

    old_rows = _old_figures(clinic.pk, period, gap_weeks=gap_weeks, now=NOW)
    assert _new_rows(data.rows) == old_rows
    assert len(old_rows) > 20
    total = data.total
    assert [
        total.screened,
        total.incomplete,
        total.not_referred,
        *(count for _, count in total.not_referred_by_clause),
        total.referred,
        total.attendance_documented,
        total.six_in_a_row,
        total.concerns,
        total.gaps,
    ] == [sum(row[n] for row in old_rows) for n in range(2, 14)]
    assert data.funnel == _old_funnel(clinic.pk, period)
    assert [(w.monday, w.attended, w.missed) for w in data.weeks] == _old_weeks(clinic.pk, period)

    gap_ids = _old_gap_ids(clinic.pk, period, gap_weeks=gap_weeks, now=NOW)
    assert data.gaps.paginator.count == len(gap_ids)
    pages = [data.gaps]
    while pages[-1].has_next():
        pages.append(
            review.review(
                clinic.pk,
                period,
                gap_weeks=gap_weeks,
                now=NOW,
                gaps_page_number=pages[-1].next_page_number(),
            ).gaps
        )
    assert [r.pk for page in pages for r in page.object_list] == gap_ids

    # The export's rows, read on their own, are the old rows, and so are its lines.
    alone = review.clinician_figures(clinic.pk, period, gap_weeks=gap_weeks, now=NOW)
    assert _new_rows(alone) == old_rows
    people = get_user_model().objects.in_bulk([row[0] for row in old_rows])
    as_before = [
        ClinicianFigures(
            clinician=people[row[0]],
            screened=row[2],
            incomplete=row[3],
            not_referred=row[4],
            blocks=dict(zip((clause for clause, _ in NOT_REFERRED_CLAUSES), row[5:9], strict=True)),
            referred=row[9],
            attendance_documented=row[10],
            six_in_a_row=row[11],
            concerns=row[12],
            gaps=row[13],
            signed_off_at=row[14],
        )
        for row in old_rows
    ]
    assert list(
        csv_lines(alone, clinic_name=clinic.name, period=period, gap_weeks=gap_weeks)
    ) == list(csv_lines(as_before, clinic_name=clinic.name, period=period, gap_weeks=gap_weeks))


@pytest.mark.parametrize("start, end", PERIODS[:3])
def test_the_charts_are_the_ones_the_old_queries_gave(busy_clinic, start, end):
    clinic, period = busy_clinic, Period(start, end)
    data = review.review(clinic.pk, period, now=NOW)
    old_rows = _old_figures(clinic.pk, period, gap_weeks=review.DEFAULT_GAP_WEEKS, now=NOW)
    assert data.clinician_chart == {
        "labels": [row[1] for row in old_rows],
        "referred": [row[9] for row in old_rows],
        "attendance_documented": [row[10] for row in old_rows],
        "six_in_a_row": [row[11] for row in old_rows],
    }
    old_funnel = _old_funnel(clinic.pk, period)
    assert data.funnel_chart == {
        "labels": [label for label, _ in old_funnel],
        "values": [value for _, value in old_funnel],
    }
    assert data.weekly_chart["attended"] == [a for _, a, _ in _old_weeks(clinic.pk, period)]
    assert data.weekly_chart["missed"] == [m for _, _, m in _old_weeks(clinic.pk, period)]


def test_the_sign_off_choices_are_the_ones_the_old_query_gave(busy_clinic):
    """The people offered (and their order) are the old query's, and the form's markup is the
    one the field gives when it reads its queryset itself."""
    clinic, period = busy_clinic, Period(*PERIODS[0])
    staff = review.clinic_staff(clinic.pk, period)
    old = list(_old_clinicians_for_sign_off(clinic.pk))
    assert [u.pk for u in staff] == [u.pk for u in old]
    assert [u.pk for u in review.clinicians_for_sign_off(clinic.pk)] == [u.pk for u in old]
    # Who worked here from another clinic is offered; a clinician who never did is not.
    assert "visitor" in {u.username for u in staff}
    assert "elsewhere" not in {u.username for u in staff}

    def form():
        return SignOffForm(clinic_id=clinic.pk, today=TODAY, initial={"period_end": TODAY})

    offered = form()
    offered.offer(staff)
    assert str(offered["clinician"]) == str(form()["clinician"])
    sent = SignOffForm({"clinician": str(old[3].pk)}, clinic_id=clinic.pk, today=TODAY)
    sent.is_valid()
    shown = str(sent["clinician"])
    sent.offer(staff)
    assert str(sent["clinician"]) == shown and f'value="{old[3].pk}" selected' in shown
