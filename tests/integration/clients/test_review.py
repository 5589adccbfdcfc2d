"""The supervisor review (policy IX.A–B) through real requests and a real database: every figure
against a small clinic whose numbers are worked out by hand below, the funnel, the weekly
attendance and the gaps; roles and tenancy; sign-off (saved, refused twice with 409, bad periods
400); the CSV without client names; one access-log row per request; bad parameters answering
400; and a query count that stays the same with 10,000 attendance records.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccessEvent, Role
from clients.models import Attendance, Client, DocumentationSignOff, Feedback
from clients.selectors import review
from clients.views.review import CSV_HEADER
from core.periods import Period
from referrals.models import Referral, ReferredGroup, Screening, ScreeningReason
from tests.factories.accounts import UserFactory
from tests.factories.clients import (
    AttendanceFactory,
    ClientFactory,
    DocumentationSignOffFactory,
    FeedbackFactory,
)
from tests.factories.directory import GroupFactory
from tests.factories.referrals import (
    ReferralFactory,
    ReferredGroupFactory,
    ScreeningFactory,
    ScreeningReasonFactory,
)

LA = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 5, 6)  # a Wednesday
NOW = datetime.combine(TODAY, time(12, 0), tzinfo=LA)
START = TODAY - timedelta(days=60)  # Saturday, March 7, 2026
PERIOD = {"start": START.isoformat(), "end": TODAY.isoformat()}
URL = "/referrals/review/"
EXPORT = "/referrals/review/export.csv"
SIGN_OFF = "/referrals/review/sign-off/"

Status = Referral.Status
Decision = Screening.Decision


def ago(days: int, hour: int = 9) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days), time(hour, 0), tzinfo=LA)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- the hand-computed clinic ----------------------------------------------------------------


_CLIENT_NUMBERS = itertools.count(1)


def _screening(clinician, days, decision, *, blocks=(), client=None, name=None):
    # Clients' names are made up here, never by Faker, so that no client shares a name with
    # a member of staff (the CSV may name staff, never clients).
    n = next(_CLIENT_NUMBERS)
    first, last = name or (f"Clientfirst{n}", f"Clientlast{n}")
    client = client or ClientFactory(
        clinic=clinician.clinic, created_by=clinician, first_name=first, last_name=last
    )
    screening = ScreeningFactory(
        client=client,
        clinic=client.clinic,
        screened_by=clinician,
        screened_at=ago(days),
        decision=decision,
    )
    for order, clause in enumerate(blocks):
        ScreeningReasonFactory(
            screening=screening,
            clause=clause,
            code="blocked",
            kind=ScreeningReason.Kind.BLOCKS,
            message=f"Blocked by {clause}",
            order=order,
        )
    return screening


def _referral(screening, referred_days, groups, *, status=Status.REFERRED, close_reason=""):
    referral = ReferralFactory(
        screening=screening,
        referred_at=ago(referred_days) if referred_days is not None else None,
        status=status,
        close_reason=close_reason,
    )
    for rank, group in enumerate(groups):
        ReferredGroupFactory(
            referral=referral,
            group=group,
            suggested_rank=rank,
            chosen_at=referral.referred_at or NOW,
            chosen_by=screening.screened_by,
        )
    return referral


def _attend(client, group, days, *, status=Attendance.Status.ATTENDED, by=None):
    return AttendanceFactory(
        client=client,
        clinic=client.clinic,
        group=group,
        on_date=TODAY - timedelta(days=days),
        status=status,
        recorded_by=by or client.created_by,
    )


def _feedback(client, group, days, kinds, *, by):
    return FeedbackFactory(
        client=client,
        clinic=client.clinic,
        group=group,
        given_on=TODAY - timedelta(days=days),
        frequency=Feedback.Frequency.WEEKLY_OR_MORE,
        concern_kinds=list(kinds),
        recorded_by=by,
    )


@pytest.fixture
def groups(db):
    return {
        n: GroupFactory(name=f"Group {n}", slug=f"review-group-{n}") for n in ("g1", "g2", "g3")
    }


@pytest.fixture
def staff(clinic):
    return {
        "ana": UserFactory(
            username="ana",
            first_name="Ana",
            last_name="Alvarez",
            clinic=clinic,
            roles=[Role.CLINICIAN],
        ),
        "ben": UserFactory(
            username="ben",
            first_name="Ben",
            last_name="Brown",
            clinic=clinic,
            roles=[Role.CLINICIAN],
        ),
        # A clinician with nothing in the period: a row of zeros.
        "cy": UserFactory(
            username="cy",
            first_name="Cy",
            last_name="Chen",
            clinic=clinic,
            roles=[Role.CLINICIAN],
        ),
    }


@pytest.fixture
def hand_computed(staff, groups, outsider, other_clinic):
    """The period is March 7 to May 6, 2026 (60 days back from "today", May 6).

    Ana (the numbers in brackets are days before today):
      s1  refer [50] → r1 referred [49], G1; attended G1 [45] (and [100], before the period);
          engaged                                  → referred, documented, six in a row
      s2  refer [40] → r2 referred [40], G1; nothing documented → gap (40 days > 4 weeks)
      s3  refer [10] → r3 referred [10], G1; nothing documented → not yet a gap (10 days)
      s4  not now [20], BLOCKS V and VI.A
      s5  not now [5], BLOCKS IV
      s6  incomplete [3]
      s7  refer [70] (before the period) → r7 referred [55], G2; missed G2 [50]; engaged,
          then closed completed                    → referred, documented, six in a row
      s8  refer [45] → r8 referred [45], G1; closed declined → nothing to document, no gap
      s9  not now [61] (before the period), BLOCKS VI.B → not counted
      s10 refer [30] → r10 referred [30], G1; attended G3 [20], not a chosen group → gap
      s13 refer [8] → r13 preparing, never referred
      feedback [10] "safety" (counts), [10] no concern, [70] "stop-medication" (before)
      and a referral of Ana's at the other clinic, referred [10] → not this clinic's
    Ana: screened 9 (s1 s2 s3 s4 s5 s6 s8 s10 s13), incomplete 1, not referred 2 (IV 1, V 1,
    VI.A 1, VI.B 0), referred 6 (r1 r2 r3 r7 r8 r10), documented 2 (r1 r7), six 2 (r1 r7),
    gaps 2 (r2 r10), concerns 1.

    Ben:
      s11 refer [20] → r11 referred [19], G1; attended G1 [10]; attending
      s12 not now [15], BLOCKS VI.B
      feedback [2] "stop-medication" and "not-full-member" → one feedback, one concern raised
    Ben: screened 2, not referred 1 (VI.B 1), referred 1, documented 1, six 0, gaps 0,
    concerns 1.

    Cy: zeros. The other clinic (outsider): a screening, a referral, attendance and a concern,
    none of which count here.

    Funnel of the 11 screenings in the period: decided refer 7 (s1 s2 s3 s8 s10 s13 s11),
    referred 6 (r13 is still preparing), attendance documented 2 (r1 r11; r7's screening is
    before the period), six in a row 1 (r1).

    Attendance by week of the meeting (in the period): [50] Tue Mar 17 missed and [45] Sun
    Mar 22 attended, both in the week of Monday Mar 16; [20] Thu Apr 16 (week of Apr 13);
    [10] Sun Apr 26 (week of Apr 20). [100] is before the period.
    """
    ana, ben = staff["ana"], staff["ben"]
    g1, g2, g3 = groups["g1"], groups["g2"], groups["g3"]

    s1 = _screening(ana, 50, Decision.REFER)
    r1 = _referral(s1, 49, [g1], status=Status.ENGAGED)
    _attend(r1.client, g1, 45)
    _attend(r1.client, g1, 100)
    s2 = _screening(ana, 40, Decision.REFER, name=("Gina", "Gapworth"))
    _referral(s2, 40, [g1])
    s3 = _screening(ana, 10, Decision.REFER)
    _referral(s3, 10, [g1])
    _screening(ana, 20, Decision.NOT_NOW, blocks=["V", "VI.A"])
    _screening(ana, 5, Decision.NOT_NOW, blocks=["IV"])
    _screening(ana, 3, Decision.INCOMPLETE)
    s7 = _screening(ana, 70, Decision.REFER)
    # Engaged, then closed as completed: the history says it reached six in a row (VIII.G);
    # "completed" alone needs only an attendance.
    r7 = _referral(s7, 55, [g2], status=Status.ENGAGED)
    r7.status, r7.close_reason = Status.CLOSED, "completed"
    r7.save()
    _attend(r7.client, g2, 50, status=Attendance.Status.MISSED)
    s8 = _screening(ana, 45, Decision.REFER)
    _referral(s8, 45, [g1], status=Status.CLOSED, close_reason="declined")
    _screening(ana, 61, Decision.NOT_NOW, blocks=["VI.B"])
    s10 = _screening(ana, 30, Decision.REFER, name=("Greg", "Gapley"))
    r10 = _referral(s10, 30, [g1])
    _attend(r10.client, g3, 20)
    s13 = _screening(ana, 8, Decision.REFER)
    _referral(s13, None, [], status=Status.PREPARING)
    _feedback(r1.client, g1, 10, ["safety"], by=ana)
    _feedback(r1.client, g1, 10, [], by=ana)
    _feedback(r1.client, g1, 70, ["stop-medication"], by=ana)

    s11 = _screening(ben, 20, Decision.REFER)
    r11 = _referral(s11, 19, [g1], status=Status.ATTENDING)
    _attend(r11.client, g1, 10)
    _screening(ben, 15, Decision.NOT_NOW, blocks=["VI.B"])
    _feedback(r11.client, g1, 2, ["stop-medication", "not-full-member"], by=ben)

    # The other clinic: its own client, screened and referred by the outsider and by Ana (who
    # also works there); none of it is this clinic's.
    elsewhere = ClientFactory(
        clinic=other_clinic, created_by=outsider, first_name="Zelda", last_name="Elsewhere"
    )
    sx = _screening(outsider, 10, Decision.REFER, client=elsewhere)
    rx = _referral(sx, 10, [g1])
    _attend(rx.client, g1, 5)
    _feedback(rx.client, g1, 5, ["safety"], by=outsider)
    elsewhere_too = ClientFactory(
        clinic=other_clinic, created_by=outsider, first_name="Yusuf", last_name="Otherplace"
    )
    sy = _screening(ana, 12, Decision.REFER, client=elsewhere_too)
    _referral(sy, 12, [g1])
    return {"elsewhere": [elsewhere, elsewhere_too]}


EXPECTED = {
    # name: screened, incomplete, not referred, IV, V, VI.A, VI.B, referred, documented, six,
    #       concerns, gaps
    "Ana Alvarez": (9, 1, 2, 1, 1, 1, 0, 6, 2, 2, 1, 2),
    "Ben Brown": (2, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0),
    "Cy Chen": (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
}


def _figures(row):
    return (
        row.screened,
        row.incomplete,
        row.not_referred,
        *(count for _, count in row.not_referred_by_clause),
        row.referred,
        row.attendance_documented,
        row.six_in_a_row,
        row.concerns,
        row.gaps,
    )


def test_figures_match_the_hand_computed_clinic(clinic, hand_computed):
    """IX.A–B: every figure of every clinician, the totals, the funnel and the weeks."""
    data = review.review(clinic.pk, Period(START, TODAY))
    assert {row.name: _figures(row) for row in data.rows} == EXPECTED
    assert [row.name for row in data.rows] == ["Ana Alvarez", "Ben Brown", "Cy Chen"]
    assert _figures(data.total) == (11, 1, 3, 1, 1, 1, 1, 7, 3, 2, 2, 2)
    assert data.funnel == [
        ("Screened", 11),
        ("Decided: refer", 7),
        ("Referred", 6),
        ("Attendance documented", 2),
        ("Six in a row", 1),
    ]
    weeks = {w.monday: (w.attended, w.missed) for w in data.weeks}
    assert len(weeks) == 10  # Mondays Mar 2 to May 4
    assert weeks.pop(date(2026, 3, 16)) == (1, 1)
    assert weeks.pop(date(2026, 4, 13)) == (1, 0)
    assert weeks.pop(date(2026, 4, 20)) == (1, 0)
    assert set(weeks.values()) == {(0, 0)}
    gaps = data.gaps.object_list
    assert [(r.client.first_name, r.client.last_name) for r in gaps] == [
        ("Gina", "Gapworth"),
        ("Greg", "Gapley"),
    ]
    assert data.gaps.paginator.count == 2


def test_completed_without_having_been_engaged_is_not_six_in_a_row(clinic, staff, groups):
    """VIII.G only encourages six in a row: a referral closed as completed after one meeting
    is completed, and not counted as six in a row; one closed after being engaged is."""
    ana = staff["ana"]
    once = _referral(_screening(ana, 20, Decision.REFER), 19, [groups["g1"]])
    _attend(once.client, groups["g1"], 12)
    once.status, once.close_reason = Status.CLOSED, "completed"
    once.save()
    engaged = _referral(
        _screening(ana, 30, Decision.REFER), 29, [groups["g1"]], status=Status.ENGAGED
    )
    engaged.status, engaged.close_reason = Status.CLOSED, "completed"
    engaged.save()
    row = next(
        r for r in review.review(clinic.pk, Period(START, TODAY)).rows if r.name == "Ana Alvarez"
    )
    assert (row.referred, row.six_in_a_row) == (2, 1)


def test_the_gap_weeks_move_the_line(clinic, hand_computed):
    """One week: r3 (referred 10 days ago) is a gap too. 26 weeks: nothing is old enough."""
    one = review.review(clinic.pk, Period(START, TODAY), gap_weeks=1)
    assert [row.gaps for row in one.rows] == [3, 0, 0]
    assert one.gaps.paginator.count == 3
    assert len(one.gaps.object_list) == 3
    many = review.review(clinic.pk, Period(START, TODAY), gap_weeks=26)
    assert many.total.gaps == 0 and many.gaps.object_list == []


def test_the_period_is_whole_local_days(clinic, staff):
    """From local midnight of the first day to local midnight after the last (stored in UTC,
    so 11:59 pm in Los Angeles is the next day in UTC and must still count)."""
    ana = staff["ana"]
    first, last = date(2026, 4, 1), date(2026, 4, 30)
    for moment in [
        datetime(2026, 3, 31, 23, 59, tzinfo=LA),  # out
        datetime(2026, 4, 1, 0, 0, tzinfo=LA),  # in
        datetime(2026, 4, 30, 23, 59, tzinfo=LA),  # in
        datetime(2026, 5, 1, 0, 0, tzinfo=LA),  # out
    ]:
        s = _screening(ana, 0, Decision.NOT_NOW, blocks=["V"])
        Screening.objects.filter(pk=s.pk).update(screened_at=moment)
    rows = review.clinician_figures(clinic.pk, Period(first, last), gap_weeks=4, now=NOW)
    ana_row = next(r for r in rows if r.clinician == ana)
    assert ana_row.screened == 2
    assert ana_row.blocks["V"] == 2


def _row_cells(html: str, table_id: str, name: str) -> list[int] | None:
    """The numbers in the row headed ``name`` of the table ``table_id``."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    row = re.search(
        rf"<tr[^>]*>\s*<th scope=\"row\"[^>]*>{re.escape(name)}</th>(.*?)</tr>", table, re.S
    )
    if row is None:
        return None
    return [int(c) for c in re.findall(r"<td class=\"text-end\">(\d+)</td>", row.group(1))]


def test_the_page_shows_the_figures_charts_and_tables(sign_in, supervisor, hand_computed):
    response = sign_in(supervisor).get(URL, PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    # The per-clinician tables (screenings; referrals): each clinician's numbers in order.
    for name, expected in EXPECTED.items():
        cells = []
        for table in ("clinician-screenings", "clinician-referrals"):
            assert _row_cells(html, table, name) is not None, (table, name)
            cells += _row_cells(html, table, name)
        assert tuple(cells) == expected, name
    assert _row_cells(html, "clinician-referrals", "All clinicians") == [7, 3, 2, 2, 2]
    # Three charts, each drawn from a json_script by the static script, with a table beside.
    for name in ("funnel", "weekly", "clinicians"):
        assert f'data-review-chart="{name}"' in html
        assert f'id="review-{name}-data"' in html
    funnel = json.loads(
        re.search(r'id="review-funnel-data"[^>]*>(.*?)</script>', html, re.S).group(1)
    )
    assert funnel == {
        "labels": [
            "Screened",
            "Decided: refer",
            "Referred",
            "Attendance documented",
            "Six in a row",
        ],
        "values": [11, 7, 6, 2, 1],
    }
    clinicians = json.loads(
        re.search(r'id="review-clinicians-data"[^>]*>(.*?)</script>', html, re.S).group(1)
    )
    assert clinicians["referred"] == [6, 1, 0]
    assert clinicians["six_in_a_row"] == [2, 0, 0]
    assert html.count("<caption") >= 6  # two of figures, three charts' tables, the gaps
    assert 'scope="col"' in html and 'scope="row"' in html
    # Chart.js from static/vendor, the starter script, both with the nonce; no inline code.
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    for src in ("vendor/chartjs/chart.umd.min.js", "js/review-charts.js"):
        tag = re.search(rf"<script[^>]*{re.escape(src)}[^>]*>", html).group(0)
        assert f'nonce="{nonce}"' in tag
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\sstyle=", html) and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)
    # The gaps: client names, linked to the referral by id.
    gina = Referral.objects.get(client__last_name="Gapworth")
    assert f'href="/referrals/{gina.pk}/">Gina Gapworth</a>' in html


def test_the_chart_data_names_no_client(sign_in, supervisor, hand_computed):
    html = sign_in(supervisor).get(URL, PERIOD).content.decode()
    scripts = "".join(
        re.findall(r'<script id="review-[a-z]+-data"[^>]*>(.*?)</script>', html, re.S)
    )
    assert scripts
    for client in Client.objects.all():
        assert client.last_name not in scripts


def test_the_vendored_chart_js_is_there_with_its_map_and_licence():
    from django.conf import settings

    folder = settings.BASE_DIR / "static" / "vendor" / "chartjs"
    script = (folder / "chart.umd.min.js").read_text()
    assert script.startswith("/*!\n * Chart.js v4.")
    assert "sourceMappingURL=chart.umd.min.js.map" in script
    assert json.loads((folder / "chart.umd.min.js.map").read_text())["version"] == 3
    assert "MIT License" in (folder / "LICENSE").read_text()


# --- roles and tenancy -----------------------------------------------------------------------


def test_roles(sign_in, supervisor, clinician, site_admin, no_role_user, client):
    assert client.get(URL).status_code == 302  # signed out: to the sign-in page
    assert sign_in(supervisor).get(URL).status_code == 200
    for user in (clinician, site_admin, no_role_user):
        response = sign_in(user).get(URL)
        assert response.status_code == 403, user
        assert sign_in(user).get(EXPORT).status_code == 403, user
    denied = AccessEvent.objects.filter(action=AccessEvent.Action.DENIED)
    assert denied.count() == 6


def test_another_clinics_supervisor_sees_only_their_own_clinic(sign_in, outsider, hand_computed):
    """Tenancy: the outsider (supervisor and clinician at the other clinic) sees that clinic's
    figures; none of this clinic's clients or clinicians appear, on the page or in the CSV."""
    client = sign_in(outsider)
    html = client.get(URL, PERIOD).content.decode()
    for last_name in ("Gapworth", "Gapley"):
        assert last_name not in html
    assert "Ben Brown" not in html and "Cy Chen" not in html
    data = review.review(outsider.clinic_id, Period(START, TODAY))
    by_name = {row.clinician.username: row for row in data.rows}
    # The outsider screened and referred one client; Ana referred one there too (her row
    # there shows only that).
    assert by_name["outsider"].referred == 1 and by_name["outsider"].concerns == 1
    assert by_name["ana"].screened == 1 and by_name["ana"].referred == 1
    assert by_name["ana"].gaps == 0  # referred 12 days ago: not yet a gap
    assert data.total.screened == 2
    csv_text = b"".join(client.get(EXPORT, PERIOD).streaming_content).decode()
    assert "Ben Brown" not in csv_text and "Cy Chen" not in csv_text


# --- sign-off --------------------------------------------------------------------------------


def _sign_off(client, clinician, start=START, end=TODAY, note="Reviewed; all good."):
    return client.post(
        SIGN_OFF,
        {
            "clinician": clinician.pk,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "note": note,
            "start": START.isoformat(),
            "end": TODAY.isoformat(),
            "weeks": "4",
        },
    )


def test_a_supervisor_signs_off_a_clinicians_documentation(sign_in, supervisor, staff):
    client = sign_in(supervisor)
    response = _sign_off(client, staff["ana"])
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?start={START.isoformat()}&end={TODAY.isoformat()}"
    signed = DocumentationSignOff.objects.get()
    assert (signed.clinician, signed.signed_by, signed.clinic) == (
        staff["ana"],
        supervisor,
        supervisor.clinic,
    )
    assert (signed.period_start, signed.period_end) == (START, TODAY)
    assert signed.note == "Reviewed; all good."
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Signed off Ana Alvarez&#x27;s documentation" in html
    table = re.search(r'<table[^>]*id="clinician-referrals".*?</table>', html, re.S).group(0)
    ana = re.search(r"<th scope=\"row\"[^>]*>Ana Alvarez</th>(.*?)</tr>", table, re.S).group(1)
    assert "Yes, May 6, 2026" in ana
    ben = re.search(r"<th scope=\"row\"[^>]*>Ben Brown</th>(.*?)</tr>", table, re.S).group(1)
    assert "Not yet" in ben
    assert "Reviewed; all good." in html


def test_a_second_sign_off_of_the_same_period_is_refused(sign_in, supervisor, staff):
    client = sign_in(supervisor)
    assert _sign_off(client, staff["ana"]).status_code == 302
    response = _sign_off(client, staff["ana"], note="Again")
    assert response.status_code == 409
    assert "already signed off" in response.content.decode()
    assert DocumentationSignOff.objects.count() == 1
    assert DocumentationSignOff.objects.get().note == "Reviewed; all good."
    # Another clinician, or another period, is a sign-off of its own.
    assert _sign_off(client, staff["ben"]).status_code == 302
    assert _sign_off(client, staff["ana"], start=START + timedelta(days=1)).status_code == 302
    assert DocumentationSignOff.objects.count() == 3


@pytest.mark.parametrize(
    "start, end, message",
    [
        (TODAY, TODAY - timedelta(days=1), "starts (May 6, 2026) after it ends"),
        (TODAY - timedelta(days=5), TODAY + timedelta(days=1), "cannot end after today"),
        (date(1999, 12, 31), TODAY, "Choose a start from January 1, 2000"),
    ],
)
def test_a_bad_sign_off_period_is_refused(sign_in, supervisor, staff, start, end, message):
    response = _sign_off(sign_in(supervisor), staff["ana"], start=start, end=end)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DocumentationSignOff.objects.exists()


def test_sign_off_refuses_bad_fields(sign_in, supervisor, staff, outsider):
    client = sign_in(supervisor)
    for data, message in [
        ({"clinician": outsider.pk}, "Choose a clinician of your clinic."),
        ({"clinician": "x"}, "Choose a clinician of your clinic."),
        ({"clinician": ""}, "Choose the clinician whose documentation you reviewed."),
        ({"period_start": "31/02/2026"}, "Enter a date as YYYY-MM-DD"),
        ({"period_end": ""}, "Enter the last day of the period."),
        ({"note": "x" * 2001}, "at most 2000 characters"),
    ]:
        post = {
            "clinician": staff["ana"].pk,
            "period_start": START.isoformat(),
            "period_end": TODAY.isoformat(),
            "note": "",
            **data,
        }
        response = client.post(SIGN_OFF, post)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not DocumentationSignOff.objects.exists()


def test_a_clinician_who_worked_at_another_clinic_is_signed_off_there(
    sign_in, outsider, staff, hand_computed
):
    """Ana referred a client at the other clinic: its supervisor may sign her work there off
    (recorded for that clinic); Ben never worked there, so he is not theirs to sign off."""
    client = sign_in(outsider)
    assert _sign_off(client, staff["ana"]).status_code == 302
    signed = DocumentationSignOff.objects.get()
    assert (signed.clinic, signed.signed_by) == (outsider.clinic, outsider)
    response = _sign_off(client, staff["ben"])
    assert response.status_code == 400
    assert "Choose a clinician of your clinic." in response.content.decode()


def test_an_account_without_a_clinic_sees_an_empty_review(sign_in, superuser, hand_computed):
    client = sign_in(superuser)
    response = client.get(URL, PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No clinic set" in html and "Gapworth" not in html
    assert response.context["review"].rows == []
    text = b"".join(client.get(EXPORT, PERIOD).streaming_content).decode()
    assert text.strip().splitlines() == [",".join(CSV_HEADER)]
    refused = _sign_off(client, superuser)
    assert refused.status_code == 400
    assert "Your account has no clinic" in refused.content.decode()


def test_only_supervisors_sign_off(sign_in, clinician, site_admin, staff):
    for user in (clinician, site_admin):
        assert _sign_off(sign_in(user), staff["ana"]).status_code == 403
    assert not DocumentationSignOff.objects.exists()


def test_sign_off_is_post_only(sign_in, supervisor):
    assert sign_in(supervisor).get(SIGN_OFF).status_code == 405


def test_sign_offs_of_the_period_are_shown(sign_in, supervisor, staff, other_clinic, outsider):
    DocumentationSignOffFactory(
        clinic=supervisor.clinic,
        clinician=staff["ben"],
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),  # overlaps the period: shown
        note="Q1 reviewed",
        signed_by=supervisor,
    )
    DocumentationSignOffFactory(
        clinic=supervisor.clinic,
        clinician=staff["ben"],
        period_start=date(2025, 10, 1),
        period_end=date(2025, 12, 31),  # before the period: not shown
        note="Q4 reviewed",
        signed_by=supervisor,
    )
    DocumentationSignOffFactory(
        clinic=other_clinic,
        clinician=outsider,
        period_start=START,
        period_end=TODAY,
        note="Other clinic's sign-off",
        signed_by=outsider,
    )
    html = sign_in(supervisor).get(URL, PERIOD).content.decode()
    assert "Q1 reviewed" in html
    assert "Q4 reviewed" not in html
    assert "Other clinic" not in html


# --- CSV -------------------------------------------------------------------------------------


def test_the_csv_has_the_figures_and_no_client_names(sign_in, supervisor, hand_computed, staff):
    DocumentationSignOffFactory(
        clinic=supervisor.clinic,
        clinician=staff["ben"],
        period_start=START,
        period_end=TODAY,
        signed_by=supervisor,
    )
    response = sign_in(supervisor).get(EXPORT, PERIOD)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="supervisor-review-2026-03-07-to-2026-05-06.csv"'
    )
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["clinician"] for r in rows] == ["Ana Alvarez", "Ben Brown", "Cy Chen"]
    columns = [
        "screened",
        "screening_incomplete",
        "not_referred",
        "not_referred_IV",
        "not_referred_V",
        "not_referred_VI.A",
        "not_referred_VI.B",
        "referred",
        "attendance_documented",
        "six_in_a_row",
        "concerns_raised",
        "documentation_gaps",
    ]
    for row in rows:
        assert tuple(int(row[c]) for c in columns) == EXPECTED[row["clinician"]]
        assert (row["period_start"], row["period_end"]) == ("2026-03-07", "2026-05-06")
        assert row["clinic"] == supervisor.clinic.name
        assert row["gap_weeks"] == "4"
    assert rows[1]["signed_off_at"].startswith("2026-05-06T12:00")
    assert rows[0]["signed_off_at"] == ""
    # No client's name or record number, at this clinic or any other.
    assert "Clientfirst" not in text and "Clientlast" not in text
    for client in Client.objects.all():
        assert client.first_name not in text and client.last_name not in text
        assert client.record_number not in text


def test_the_csv_guards_against_formulas(sign_in, supervisor, clinic):
    UserFactory(
        username="formula",
        first_name="=HYPERLINK(1)",
        last_name="x",
        clinic=clinic,
        roles=[Role.CLINICIAN],
    )
    text = b"".join(sign_in(supervisor).get(EXPORT).streaming_content).decode()
    assert "'=HYPERLINK(1) x" in text


def test_the_csv_refuses_bad_parameters(sign_in, supervisor):
    response = sign_in(supervisor).get(EXPORT, {"start": "2026-05-01", "end": "2026-04-01"})
    assert response.status_code == 400
    assert "after it ends" in response.content.decode()


# --- the access log --------------------------------------------------------------------------


def test_each_request_writes_one_access_log_row(sign_in, supervisor, hand_computed, staff):
    client = sign_in(supervisor)
    before = AccessEvent.objects.count()
    client.get(URL, PERIOD)
    view = AccessEvent.objects.order_by("-id").first()
    assert AccessEvent.objects.count() == before + 1
    assert (view.action, view.outcome, view.user, view.clinic_id) == (
        "view",
        "success",
        supervisor,
        supervisor.clinic_id,
    )
    assert (view.object_type, view.object_id) == ("supervisor-review", "2026-03-07/2026-05-06")

    b"".join(client.get(EXPORT, PERIOD).streaming_content)
    export = AccessEvent.objects.order_by("-id").first()
    assert AccessEvent.objects.count() == before + 2
    assert (export.action, export.outcome) == ("export", "success")
    assert export.object_id == "2026-03-07/2026-05-06"

    client.get(URL, {"start": "nonsense"})
    failed = AccessEvent.objects.order_by("-id").first()
    assert AccessEvent.objects.count() == before + 3
    assert (failed.action, failed.outcome) == ("view", "failure")

    # A sign-off saved is one "create" of the sign-off; refused, one failed "create".
    _sign_off(client, staff["ana"])
    assert AccessEvent.objects.count() == before + 4
    signed = AccessEvent.objects.order_by("-id").first()
    assert (signed.action, signed.object_type, signed.outcome) == (
        "create",
        "documentationsignoff",
        "success",
    )
    _sign_off(client, staff["ana"])
    assert AccessEvent.objects.count() == before + 5
    refused = AccessEvent.objects.order_by("-id").first()
    assert (refused.action, refused.outcome) == ("create", "failure")


# --- bad parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "nonsense"}, "Enter a date as YYYY-MM-DD"),
        ({"end": "2026-02-30"}, "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-05-01", "end": "2026-04-01"}, "after it ends"),
        ({"end": "2026-05-07"}, "cannot end after today"),
        ({"start": "2023-01-01"}, "at most 731 days"),
        ({"start": "1999-01-01", "end": "1999-06-01"}, "from January 1, 2000"),
        ({"end": "0001-01-01"}, "Choose an end from January 1, 2000"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "Choose an end from January 1, 2000"),
        ({"weeks": "0"}, "from 1 to 26"),
        ({"weeks": "27"}, "from 1 to 26"),
        ({"weeks": "four"}, "from 1 to 26"),
        ({"weeks": "1e3"}, "from 1 to 26"),
    ],
)
def test_bad_parameters_answer_400_with_a_message(sign_in, supervisor, query, message):
    response = sign_in(supervisor).get(URL, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "The review could not be shown" in html
    assert 'id="review-funnel-data"' not in html


def test_defaults_are_the_last_90_days_and_4_weeks(sign_in, supervisor):
    response = sign_in(supervisor).get(URL)
    assert response.status_code == 200
    assert response.context["period"] == Period(date(2026, 2, 6), TODAY)
    assert response.context["weeks"] == 4
    html = response.content.decode()  # the form shows the period in effect
    assert 'name="start" value="2026-02-06"' in html and 'name="end" value="2026-05-06"' in html
    only_end = sign_in(supervisor).get(URL, {"end": "2026-04-30"})
    assert only_end.context["period"] == Period(date(2026, 1, 31), date(2026, 4, 30))


def test_gaps_are_paginated(sign_in, supervisor, staff, groups):
    for n in range(30):
        screening = _screening(staff["ana"], 40, Decision.REFER)
        _referral(screening, 40 - n % 5, [groups["g1"]])
    client = sign_in(supervisor)
    first = client.get(URL, PERIOD)
    assert len(first.context["review"].gaps.object_list) == review.GAPS_PAGE_SIZE
    assert "page=2" in first.content.decode()
    second = client.get(URL, {**PERIOD, "page": "2"})
    assert len(second.context["review"].gaps.object_list) == 5
    assert client.get(URL, {**PERIOD, "page": "x"}).status_code == 200
    assert client.get(URL, {**PERIOD, "page": "999"}).status_code == 200


# --- scale -----------------------------------------------------------------------------------


def _bulk_clinic(clinic, clinicians, groups, *, clients, referrals_each, dates):
    """Many clients, screenings with reasons, referrals with chosen groups, attendance (one a
    client, group and date) and feedback, written in bulk."""
    people = Client.objects.bulk_create(
        Client(
            clinic=clinic,
            record_number=f"{500000 + n}",
            first_name=f"Bulk{n}",
            last_name="Client",
            created_by=clinicians[n % len(clinicians)],
        )
        for n in range(clients)
    )
    screenings = Screening.objects.bulk_create(
        Screening(
            client=people[n % clients],
            clinic=clinic,
            screened_by=clinicians[n % len(clinicians)],
            screened_at=ago(n % 55 + 1),
            answers={},
            decision=[Decision.REFER, Decision.NOT_NOW, Decision.INCOMPLETE][n % 3],
        )
        for n in range(referrals_each * 3)
    )
    ScreeningReason.objects.bulk_create(
        ScreeningReason(
            screening=s,
            clause=["IV", "V", "VI.A", "VI.B"][n % 4],
            code="blocked",
            kind=ScreeningReason.Kind.BLOCKS,
            message="Blocked",
        )
        for n, s in enumerate(screenings)
        if s.decision == Decision.NOT_NOW
    )
    referrals = Referral.objects.bulk_create(
        Referral(
            client=s.client,
            clinic=clinic,
            clinician=s.screened_by,
            screening=s,
            status=[Status.REFERRED, Status.ATTENDING, Status.ENGAGED][n % 3],
            referred_at=s.screened_at,
        )
        for n, s in enumerate(x for x in screenings if x.decision == Decision.REFER)
    )
    ReferredGroup.objects.bulk_create(
        ReferredGroup(
            referral=r,
            group=groups[n % len(groups)],
            chosen_at=r.referred_at,
            chosen_by=r.clinician,
        )
        for n, r in enumerate(referrals)
    )
    Attendance.objects.bulk_create(
        Attendance(
            client=person,
            clinic=clinic,
            group=group,
            on_date=TODAY - timedelta(days=d),
            status=Attendance.Status.ATTENDED if d % 4 else Attendance.Status.MISSED,
            recorded_by=person.created_by,
        )
        for person in people
        for group in groups
        for d in range(1, dates + 1)
    )
    Feedback.objects.bulk_create(
        Feedback(
            client=person,
            clinic=clinic,
            group=groups[0],
            given_on=TODAY - timedelta(days=3),
            frequency=Feedback.Frequency.ONCE,
            concern_kinds=["safety"] if n % 2 else [],
            recorded_by=person.created_by,
        )
        for n, person in enumerate(people)
    )


def _page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, PERIOD)
    assert response.status_code == 200
    return len(queries), [q["sql"] for q in queries.captured_queries]


def test_the_page_runs_a_fixed_number_of_queries(
    sign_in, supervisor, clinic, staff, groups, hand_computed
):
    """The figures are aggregate queries: 10,000 more attendance records, 150 more referrals
    and ten more clinicians cost no query more."""
    client = sign_in(supervisor)
    DocumentationSignOffFactory(
        clinic=clinic, clinician=staff["ana"], period_start=START, period_end=TODAY,
        signed_by=supervisor,
    )  # fmt: skip
    client.get(URL, PERIOD)  # warm: the session's first read
    few, _ = _page_queries(client)

    more = [
        UserFactory(username=f"bulk{n}", clinic=clinic, roles=[Role.CLINICIAN]) for n in range(10)
    ]
    _bulk_clinic(
        clinic,
        [staff["ana"], staff["ben"], *more],
        list(groups.values()),
        clients=100,
        referrals_each=150,
        dates=34,
    )
    assert Attendance.objects.filter(clinic=clinic).count() >= 10_000
    assert Referral.objects.filter(clinic=clinic).count() >= 150
    for n in range(12):
        DocumentationSignOffFactory(
            clinic=clinic,
            clinician=more[n % 10],
            period_start=START + timedelta(days=n),
            period_end=TODAY,
            signed_by=supervisor,
        )
    # New clinicians changed the roles' members: the session's permission set is read once more.
    client.get(URL, PERIOD)
    many, sql = _page_queries(client)
    assert many == few, "\n".join(sql)
    # Session, user (with its clinic), OTP device (3; the permission set is the session's);
    # the clinician roles' ids, then the clinic's staff with this period's sign-off, which are
    # also the sign-off form's choices (2); screenings with the funnel, their BLOCKS reasons,
    # referrals and feedback counted by clinician (4); the weeks, the page of gaps (its count
    # is the figures' total), the sign-offs (3); VI.C alerts: the chosen groups that may be
    # unsafe now, the decisions and the concerns found unfounded in the period (3); the
    # access-log row.
    assert many == 16, "\n".join(sql)
    data = review.review(clinic.pk, Period(START, TODAY))
    assert len(data.rows) == 13
    assert (
        sum(w.total for w in data.weeks)
        == Attendance.objects.filter(clinic=clinic, on_date__gte=START).count()
    )
    # The sign-off form lists the clinic's staff without a query of its own, and lists them all.
    assert re.findall(r'<option value="(\d+)"', _select(client)) == [
        str(user.pk) for user in review.clinicians_for_sign_off(clinic.pk)
    ]


def _select(client) -> str:
    html = client.get(URL, PERIOD).content.decode()
    return html[html.index('<select name="clinician"') : html.index("</select>")]


def test_the_export_runs_a_fixed_number_of_queries(
    sign_in, supervisor, clinic, staff, groups, hand_computed
):
    """The CSV's figures are the page's aggregate queries: more rows cost no query more."""
    client = sign_in(supervisor)
    client.get(EXPORT, PERIOD)

    def export_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(EXPORT, PERIOD)
            lines = b"".join(response.streaming_content).decode().splitlines()
        return len(queries), len(lines)

    few, few_lines = export_queries()
    more = [
        UserFactory(username=f"bulk{n}", clinic=clinic, roles=[Role.CLINICIAN]) for n in range(10)
    ]
    _bulk_clinic(
        clinic,
        [staff["ana"], staff["ben"], *more],
        list(groups.values()),
        clients=100,
        referrals_each=150,
        dates=34,
    )
    client.get(EXPORT, PERIOD)  # new clinicians: the permission set is read once more
    many, many_lines = export_queries()
    assert (few_lines, many_lines) == (4, 14)
    # Session, user, OTP device (3; permissions: the session's); the clinician roles' ids and
    # the clinic's staff (2); screenings, BLOCKS reasons, referrals, feedback (4); the
    # access-log row.
    assert many == few == 10
