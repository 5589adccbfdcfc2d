"""The note for the clinical record (policy IX.A–B) through real requests: a realistic note with
and without the 42 CFR Part 2 notice, the text download, roles and tenancy, one access-log row
per request, bad dates (400), and a fixed number of queries with 10,000 attendance records."""

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import Attendance, Feedback
from clients.rules import record_note as notes
from directory.models import ReviewFlag
from referrals.models import Referral
from tests.factories.clients import AttendanceFactory, ClientFactory, FeedbackFactory
from tests.factories.directory import GroupFactory, NeedFactory, ReviewFlagFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory

RECORD_NUMBER = "90817263"
NOTICE_START = "This record which has been disclosed to you is protected by Federal"


@pytest.fixture(autouse=True)
def _midday_in_los_angeles():
    """The tests place records "N days ago" from now and expect them on the local day N days
    back. Late in the evening in Los Angeles (already the next day in UTC), and across a
    daylight-saving change, "now minus 40 days" lands on a different local date: the note was
    right and the test's arithmetic wrong. Noon on a fixed day keeps every such instant on its
    day (the clock still ticks)."""
    with time_machine.travel(datetime(2026, 11, 18, 20, 0, tzinfo=UTC), tick=True):
        yield


def _today():
    return timezone.localdate()


def _ago(days):
    return _today() - timedelta(days=days)


@pytest.fixture
def groups(db):
    emotional = NeedFactory(slug="emotional-health", name="Emotional health")
    co_occurring = NeedFactory(slug="co-occurring-substance-use", name="Co-occurring")
    alcohol = NeedFactory(slug="alcohol", name="Alcohol")
    return {
        "sunrise": GroupFactory(name="Sunrise Friends Circle", slug="sunrise", needs=[emotional]),
        "hope": GroupFactory(name="Hope Walkers", slug="hope", needs=[emotional]),
        "dual": GroupFactory(
            name="Dual Recovery Anonymous", slug="dual", needs=[emotional, co_occurring]
        ),
        "sober": GroupFactory(name="Sober Saturdays", slug="sober", needs=[alcohol]),
    }


@pytest.fixture
def person(clinic, clinician):
    return ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name="Marisol",
        last_name="Quintanilla",
        record_number=RECORD_NUMBER,
    )


def _referral(person, clinician, chosen, *, indications=("IV.A",), status="attending", **dates):
    screening = ScreeningFactory(
        client=person,
        screened_by=clinician,
        answers={"indications": [{"code": code, "detail": ""} for code in indications]},
    )
    referral = ReferralFactory(
        screening=screening,
        status=status,
        close_reason="lost-contact" if status == "closed" else "",
        referred_at=timezone.now() - timedelta(days=40),
    )
    for rank, group in enumerate(chosen, start=1):
        ReferredGroupFactory(
            referral=referral,
            group=group,
            suggested_rank=rank,
            chosen_at=timezone.now(),
            chosen_by=clinician,
        )
    if dates:  # created_at and updated_at are automatic; set them as a past would have
        Referral.objects.filter(pk=referral.pk).update(**dates)
    return referral


def _attend(person, clinician, group, days_ago, *, status="attended", accompanied=False):
    return AttendanceFactory(
        client=person,
        clinic=person.clinic,
        group=group,
        on_date=_ago(days_ago),
        status=status,
        accompanied=accompanied,
        recorded_by=clinician,
    )


def _feedback(person, clinician, group, days_ago, **fields):
    values = {"frequency": Feedback.Frequency.WEEKLY_OR_MORE} | fields
    return FeedbackFactory(
        client=person,
        clinic=person.clinic,
        group=group,
        given_on=_ago(days_ago),
        recorded_by=clinician,
        **values,
    )


def _url(person, suffix="", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/referrals/record-note/{person.pk}/{suffix}" + (f"?{query}" if query else "")


def _pre(page: str) -> str:
    match = re.search(r"<pre[^>]*>(.*?)</pre>", page, re.S)
    assert match, "the note is in a <pre>"
    return html_lib.unescape(match.group(1))


def _day(days_ago):
    return _ago(days_ago).strftime("%m/%d/%Y")


# --- a realistic note ---------------------------------------------------------------------------


@pytest.fixture
def busy_person(person, clinician, groups):
    """Referred 40 days ago to Sunrise and Hope (IV.A), going to Sunrise weekly, once with a peer
    advocate, one missed meeting; feedback with a medication concern that opened a flag."""
    _referral(person, clinician, [groups["sunrise"], groups["hope"]])
    for days_ago in (35, 28, 21, 14, 7, 0):
        _attend(person, clinician, groups["sunrise"], days_ago, accompanied=days_ago == 35)
    _attend(person, clinician, groups["sunrise"], 42, status="missed")
    _attend(person, clinician, groups["hope"], 30, status="missed")
    _attend(person, clinician, groups["sunrise"], 120)  # before the period: not in the note
    flag = ReviewFlagFactory(
        group=groups["hope"],
        source=ReviewFlag.Source.FEEDBACK,
        summary="Client feedback: medication concern",
        concerns_medication=True,
        opened_by=clinician,
    )
    _feedback(
        person,
        clinician,
        groups["hope"],
        10,
        frequency=Feedback.Frequency.ONCE,
        observations="Walked in the park with six others.",
        concerns="A member said she would not need her pills if she walked more.",
        concern_kinds=[Feedback.Concern.STOP_MEDICATION],
        review_flag=flag,
    )
    _feedback(person, clinician, groups["sunrise"], 200, observations="Too old to be in the note")
    return person


def test_realistic_note_without_part2(sign_in, clinician, clinic, busy_person):
    response = sign_in(clinician).get(_url(busy_person))
    assert response.status_code == 200
    page = response.content.decode()
    text = _pre(page)
    assert text == response.context["note"].text
    # Header: the client, the default period (the last 90 days), nothing about Part 2.
    assert "Client: Marisol Quintanilla, record no. 90817263" in text
    assert f"Period: {_day(89)} to {_day(0)}" in text
    assert NOTICE_START not in page and "42 CFR" not in page
    # The referral: when, status, groups.
    assert f"- Referred {_day(40)}, Attending: Sunrise Friends Circle; Hope Walkers" in text
    # IX.A: per group, counts, dates latest first, the peer advocate, six in a row.
    assert "Hope Walkers: attended 0, missed 1\n" in text
    assert "Sunrise Friends Circle: attended 6, missed 1; 1 with a peer advocate (VIII.H)" in text
    listed = ", ".join(_day(d) + ("*" if d == 35 else "") for d in (0, 7, 14, 21, 28, 35))
    assert listed.replace(", ", " ") in " ".join(text.split()).replace(", ", " ")
    assert f"Missed: {_day(42)}" in text
    assert _day(120) not in text
    assert "Six in a row (VIII.G), this period: reached; longest run 6, current run 6" in text
    # IX.B: the feedback with the flag's state; the old feedback is outside the period.
    flat = " ".join(text.split())
    assert f"{_day(10)}, Hope Walkers Frequency: Once" in flat
    assert "Observations: Walked in the park with six others." in flat
    assert "Concerns: A member said she would not need her pills if she walked more." in flat
    assert "Concern kinds: Members encouraged stopping prescribed medication" in flat
    assert f"Listing review: open since {_day(0)}; a site admin is reviewing" in flat
    assert "Too old to be in the note" not in text
    # Who prepared it, where, when.
    name = clinician.get_full_name() or clinician.username
    assert f"Prepared by {name}, {clinic.name}, on {_day(0)}." in flat
    assert max(len(line) for line in text.splitlines()) <= notes.WIDTH


def test_resolved_flag_shows_the_resolution(sign_in, clinician, busy_person, site_admin):
    ReviewFlag.objects.update(
        resolved_at=timezone.now(), resolved_by=site_admin, resolution_note="Spoke to the host."
    )
    text = _pre(sign_in(clinician).get(_url(busy_person)).content.decode())
    assert f"Listing review: resolved {_day(0)}: Spoke to the host." in text


def test_part2_notice_for_a_substance_use_group_top_and_end_of_page(
    sign_in, clinician, person, groups
):
    """42 CFR 2.32: attendance at a substance-use group puts the notice at the top of the note
    and again at the end of the printable page."""
    _attend(person, clinician, groups["dual"], 3)
    response = sign_in(clinician).get(_url(person))
    page = response.content.decode()
    text = _pre(page)
    assert text.startswith("42 CFR PART 2 NOTICE (42 CFR 2.32)\n" + NOTICE_START)
    # Once in the note, once more after it on the page, and nothing of the note after that.
    assert page.count(NOTICE_START) == 2
    assert page.index("</pre>") < page.rindex(NOTICE_START)
    end_notice = page[page.rindex(NOTICE_START) :]
    assert "(iii) You have received the record from a covered entity" in end_notice
    assert "Dual Recovery Anonymous" not in end_notice.split("</div>")[0]
    # The clinician is told why (not printed).
    assert "it names Dual Recovery Anonymous, a substance-use group" in page


def test_part2_notice_for_an_iv_d_referral_in_the_period(sign_in, clinician, person, groups):
    _referral(person, clinician, [groups["sunrise"]], indications=("IV.A", "IV.D"))
    text = _pre(sign_in(clinician).get(_url(person)).content.decode())
    assert NOTICE_START in text
    assert "Sunrise Friends Circle" in text


def test_no_part2_notice_for_an_iv_d_referral_the_note_does_not_mention(
    sign_in, clinician, person, groups
):
    """A referral closed before the period, or made after it, is not in the note: its IV.D
    screening does not put the notice on a note about something else."""
    long_ago = timezone.now() - timedelta(days=400)
    _referral(
        person,
        clinician,
        [groups["sunrise"]],
        indications=("IV.D",),
        status="closed",
        close_reason="lost-contact",
        created_at=long_ago,
        closed_at=long_ago,
    )
    _attend(person, clinician, groups["hope"], 5)
    client = sign_in(clinician)
    text = _pre(client.get(_url(person)).content.decode())
    assert NOTICE_START not in text
    assert "Referrals active in the period\nNone." in text
    # Seen from a period when it was still open, it is in the note, with the notice.
    start, end = (long_ago.date() - timedelta(days=1)).isoformat(), _ago(300).isoformat()
    text = _pre(client.get(_url(person, start=start, end=end)).content.decode())
    assert NOTICE_START in text and "Closed (Lost contact)" in text
    # A referral created after the period's end is not in it either.
    text = _pre(client.get(_url(person, end=_ago(310).isoformat())).content.decode())
    assert "Referrals active in the period\nNone." in text


def test_part2_notice_for_alcohol_group_feedback_only(sign_in, clinician, person, groups):
    _feedback(person, clinician, groups["sober"], 2, observations="Quiet meeting.")
    text = _pre(sign_in(clinician).get(_url(person)).content.decode())
    assert NOTICE_START in text and "Sober Saturdays" in text


def test_empty_period_note(sign_in, clinician, person):
    text = _pre(sign_in(clinician).get(_url(person)).content.decode())
    assert "Referrals active in the period\nNone." in text
    assert "Attendance (IX.A)\nNone documented in the period." in text
    assert "Feedback (IX.B)\nNone documented in the period." in text
    assert NOTICE_START not in text


def test_chosen_period_bounds_attendance(sign_in, clinician, person, groups):
    for days_ago in (50, 40, 30, 20):
        _attend(person, clinician, groups["sunrise"], days_ago)
    page = sign_in(clinician).get(
        _url(person, start=_ago(45).isoformat(), end=_ago(25).isoformat())
    )
    text = _pre(page.content.decode())
    assert "Sunrise Friends Circle: attended 2, missed 0" in text
    assert _day(50) not in text and _day(20) not in text


# --- the download -------------------------------------------------------------------------------


def test_download_is_the_same_text_as_an_attachment_without_phi(sign_in, clinician, busy_person):
    client = sign_in(clinician)
    start, end = _ago(60).isoformat(), _ago(1).isoformat()
    page = client.get(_url(busy_person, start=start, end=end))
    download = client.get(_url(busy_person, "note.txt", start=start, end=end))
    assert download.status_code == 200
    assert download["Content-Type"] == "text/plain; charset=utf-8"
    disposition = download["Content-Disposition"]
    assert disposition == f'attachment; filename="self-help-note-{busy_person.pk}-{end}.txt"'
    for phi in ("Marisol", "Quintanilla", RECORD_NUMBER):
        assert phi not in disposition
    assert download.content.decode() == page.context["note"].text
    assert "&amp;" not in download.content.decode() and "&#x27;" not in download.content.decode()
    # The page links to it with the same period, ids and dates only.
    assert (
        f'href="/referrals/record-note/{busy_person.pk}/note.txt?start={start}&amp;end={end}"'
        in (page.content.decode())
    )


def test_text_is_not_html_escaped_in_the_download(sign_in, clinician, person, groups):
    _feedback(
        person, clinician, groups["sunrise"], 1, observations='She said <b>"it\'s ok"</b> & left'
    )
    body = sign_in(clinician).get(_url(person, "note.txt")).content.decode()
    assert 'She said <b>"it\'s ok"</b> & left' in body


# --- the access log -----------------------------------------------------------------------------


def test_viewing_writes_one_print_row_and_downloading_one_export_row(
    sign_in, clinician, busy_person
):
    client = sign_in(clinician)
    before = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client.get(_url(busy_person))
    (row,) = AccessEvent.objects.filter(id__gt=before)
    assert row.action == AccessEvent.Action.PRINT and row.outcome == AccessEvent.Outcome.SUCCESS
    assert row.object_type == "client" and row.object_id == str(busy_person.pk)
    assert row.clinic_id == busy_person.clinic_id and row.user == clinician
    client.get(_url(busy_person, "note.txt"))
    (row,) = AccessEvent.objects.filter(id__gt=row.id)
    assert row.action == AccessEvent.Action.EXPORT and row.outcome == AccessEvent.Outcome.SUCCESS
    assert row.object_type == "client" and row.object_id == str(busy_person.pk)
    # Ids only: nothing of the record in the row.
    assert RECORD_NUMBER not in f"{row.reason} {row.object_id} {row.username}"


# --- roles and tenancy --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix, action", [("", "print"), ("note.txt", "export")])
@pytest.mark.parametrize(
    "who, expected",
    [
        ("clinician", 200),
        ("supervisor", 200),
        ("site_admin", 403),
        ("no_role_user", 403),
        ("outsider", 404),
        ("superuser", 404),
    ],
)
def test_who_may_see_the_note(request, sign_in, busy_person, who, expected, suffix, action):
    user = request.getfixturevalue(who)
    response = sign_in(user).get(_url(busy_person, suffix))
    assert response.status_code == expected
    body = response.content.decode()
    if expected != 200:
        assert "Quintanilla" not in body and "Sunrise Friends Circle" not in body
    if expected == 404:
        # Another clinic's client is "not found", and the probe is logged with the id.
        event = AccessEvent.objects.get(user=user, action=action)
        assert event.outcome == AccessEvent.Outcome.NOT_FOUND
        assert event.object_type == "client" and event.object_id == str(busy_person.pk)
    if expected == 403:
        assert AccessEvent.objects.filter(user=user, outcome=AccessEvent.Outcome.DENIED).exists()
        assert not AccessEvent.objects.filter(action=action).exists()


def test_anonymous_is_sent_to_sign_in(client, busy_person):
    response = client.get(_url(busy_person))
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


@pytest.mark.parametrize("suffix", ["", "note.txt"])
def test_note_is_read_only(sign_in, clinician, busy_person, suffix):
    assert sign_in(clinician).post(_url(busy_person, suffix)).status_code == 405


def test_unknown_client_is_404(sign_in, clinician, db):
    assert sign_in(clinician).get("/referrals/record-note/999999/").status_code == 404


# --- bad dates: 400, never a 500 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "2026-02-30"}, "is not a date (use YYYY-MM-DD)"),
        ({"end": "tomorrow"}, "is not a date"),
        ({"end": "9999-12-31"}, "is in the future"),
        ({"start": "2020-01-10", "end": "2020-01-01"}, "is before the start date"),
        ({"start": "2000-01-01", "end": "2020-01-01"}, "at most 366 days"),
        ({"start": "<script>"}, "is not a date"),
    ],
)
@pytest.mark.parametrize("suffix, action", [("", "print"), ("note.txt", "export")])
def test_bad_dates_answer_400_with_a_message(
    sign_in, clinician, busy_person, params, message, suffix, action
):
    response = sign_in(clinician).get(_url(busy_person, suffix, **params))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    if suffix:
        # Plain text, never sniffed as HTML: what was typed may be echoed as it was.
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["X-Content-Type-Options"] == "nosniff"
    else:
        assert "<script>" not in body.replace('<script src="', "")
    assert NOTICE_START not in body and "Sunrise Friends Circle" not in body
    (row,) = AccessEvent.objects.filter(action=action)
    assert row.outcome == AccessEvent.Outcome.FAILURE
    assert row.object_id == str(busy_person.pk)


def test_bad_dates_page_keeps_what_was_typed_and_marks_the_fields(sign_in, clinician, person):
    page = sign_in(clinician).get(_url(person, start="2026-13-01")).content.decode()
    assert 'value="2026-13-01"' in page and 'aria-invalid="true"' in page
    assert 'id="note-problems"' in page


# --- printing: a button, no inline script -------------------------------------------------------


def test_print_button_uses_the_static_script_with_the_nonce(sign_in, clinician, person):
    response = sign_in(clinician).get(_url(person))
    page = response.content.decode()
    assert "data-print-page" in page
    nonce = response.context["csp_nonce"]
    assert f'<script src="/static/js/print.js" nonce="{nonce}"' in page
    assert "onclick" not in page and "window.print" not in page
    # No name in the page title (titles go into browser histories).
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "Quintanilla" not in title


# --- a fixed number of queries ------------------------------------------------------------------


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_query_count_is_fixed_with_10000_attendance_records(sign_in, clinician, person, groups):
    client = sign_in(clinician)
    _referral(person, clinician, [groups["sunrise"]], indications=("IV.D",))
    _attend(person, clinician, groups["sunrise"], 1)
    _feedback(person, clinician, groups["sunrise"], 1)
    few = {suffix: _count(client, _url(person, suffix)) for suffix in ("", "note.txt")}

    # 10,000 attendance records: ten groups, a thousand days each, most before the period.
    many_groups = [GroupFactory(name=f"Circle {n}", slug=f"circle-{n}") for n in range(10)]
    Attendance.objects.bulk_create(
        Attendance(
            client=person,
            clinic=person.clinic,
            group=group,
            on_date=_ago(days_ago + 2),
            status="missed" if days_ago % 9 == 0 else "attended",
            accompanied=days_ago % 5 == 0,
            recorded_by=clinician,
        )
        for group in many_groups
        for days_ago in range(1000)
    )
    assert Attendance.objects.filter(client=person).count() == 10_001
    for n in range(3):
        _referral(person, clinician, many_groups[n * 3 : n * 3 + 3])
        _feedback(person, clinician, many_groups[n], n + 2)
    many = {suffix: _count(client, _url(person, suffix)) for suffix in ("", "note.txt")}
    assert many == few
    # Session, user, OTP device (permissions: the session's); the client with its clinic; the
    # referrals with their screenings, their chosen groups, attendance counts per group, the
    # period's attendance dates, the feedback with its flags, the groups' needs (7); the
    # access-log row.
    assert many == {"": 11, "note.txt": 11}
    # The long lists are cut to the latest dates, with the rest counted.
    text = client.get(_url(person, "note.txt")).content.decode()
    assert text.count("earlier") == 10
    assert max(len(line) for line in text.splitlines()) <= notes.WIDTH
