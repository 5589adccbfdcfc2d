"""The note for the clinical record (policy IX.A–B) as a pure builder: when the 42 CFR Part 2
notice is on it (exactly then), its layout, wrapping and dates, and the period's rules."""

from datetime import date, timedelta

import pytest

from clients.rules import record_note as notes
from clients.rules.attendance import Run
from clients.rules.record_note import (
    AttendedDate,
    GroupAttendance,
    NoteData,
    NoteFeedback,
    NoteGroup,
    NoteReferral,
    build,
    parse_period,
)
from core.periods import BadPeriod

# The directory's own slugs, written out here rather than read from the constant, so that a
# change to the definition of a substance-use group has to change this test too.
SUBSTANCE_SLUGS = [
    "co-occurring-substance-use",
    "addiction",
    "alcohol",
    "narcotics",
    "marijuana",
    "nicotine",
    "sobriety-secular",
]
NOT_SUBSTANCE_SLUGS = ["emotional-health", "depression", "gambling", "eating", "sex-love-addiction"]

SUNRISE = NoteGroup(pk=1, name="Sunrise Friends Circle", needs=frozenset({"emotional-health"}))
DUAL = NoteGroup(
    pk=2, name="Dual Recovery Anonymous", needs=frozenset({"co-occurring-substance-use"})
)
SOBER = NoteGroup(pk=3, name="Sober Saturdays", needs=frozenset({"alcohol"}))
GAMBLERS = NoteGroup(pk=4, name="Gamblers Anonymous", needs=frozenset({"gambling"}))

# The first and last words of 42 CFR 2.32(a)(1) as revised in 2024 (89 FR 12472).
NOTICE_START = "This record which has been disclosed to you is protected by Federal"
NOTICE_END = "the record (see 42 CFR 2.31)."


def _attendance(group, *, attended=3, missed=0, accompanied=0, dates=None, run=None):
    if dates is None:
        first = date(2026, 1, 5)
        dates = tuple(AttendedDate(first + timedelta(weeks=n)) for n in range(attended))[::-1]
    return GroupAttendance(
        group=group,
        attended=attended,
        missed=missed,
        accompanied=accompanied,
        attended_dates=dates,
        missed_dates=(),
        run=run or Run(current=attended, longest=attended),
    )


def _referral(groups=(SUNRISE,), indications=("IV.A",), referred_on=date(2026, 2, 20)):
    return NoteReferral(
        pk=7, status="Attending", referred_on=referred_on, groups=groups, indications=indications
    )


def _feedback(group, **fields):
    values = {"frequency": "Every week or more often"} | fields
    return NoteFeedback(given_on=date(2026, 3, 20), group=group, **values)


def _data(**parts):
    base = {
        "client_name": "Marisol Quintanilla",
        "record_number": "90817263",
        "clinic_name": "Hollywood Mental Health Center",
        "start": date(2026, 1, 1),
        "end": date(2026, 3, 31),
        "prepared_by": "Dana Whitfield",
        "prepared_on": date(2026, 4, 2),
    }
    return NoteData(**(base | parts))


def _unwrapped(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


# --- the Part 2 notice: present exactly when it should be --------------------------------------


@pytest.mark.parametrize(
    "case, parts, expected",
    [
        ("substance group attendance", {"attendance": (_attendance(DUAL),)}, True),
        ("non-substance attendance", {"attendance": (_attendance(SUNRISE),)}, False),
        ("IV.D referral", {"referrals": (_referral(indications=("IV.A", "IV.D")),)}, True),
        ("referral without IV.D", {"referrals": (_referral(indications=("IV.A", "IV.H")),)}, False),
        ("IV.D referral, no group yet", {"referrals": (_referral((), ("IV.D",), None),)}, True),
        (
            "substance group chosen in a referral",
            {"referrals": (_referral((SUNRISE, DUAL)),)},
            True,
        ),
        ("alcohol group feedback only", {"feedback": (_feedback(SOBER),)}, True),
        (
            "non-substance only, everywhere",
            {
                "referrals": (_referral((SUNRISE, GAMBLERS)),),
                "attendance": (_attendance(SUNRISE), _attendance(GAMBLERS)),
                "feedback": (_feedback(SUNRISE), _feedback(GAMBLERS)),
            },
            False,
        ),
        ("empty period", {}, False),
    ],
)
def test_part2_notice_present_exactly_when_required(case, parts, expected):
    """42 CFR 2.32: a substance-use group or the IV.D indication in the note, and only then."""
    note = build(_data(**parts))
    assert note.part2 is expected, case
    assert (NOTICE_START in note.text) is expected, case
    assert ("42 CFR PART 2 NOTICE" in note.text) is expected, case
    assert bool(note.part2_reasons) is expected, case


@pytest.mark.parametrize("slug", SUBSTANCE_SLUGS)
def test_each_substance_need_makes_a_substance_use_group(slug):
    group = NoteGroup(pk=9, name="Some Group", needs=frozenset({"emotional-health", slug}))
    assert group.is_substance_use
    assert build(_data(attendance=(_attendance(group),))).part2


@pytest.mark.parametrize("slug", NOT_SUBSTANCE_SLUGS)
def test_other_needs_do_not(slug):
    group = NoteGroup(pk=9, name="Some Group", needs=frozenset({slug}))
    assert not group.is_substance_use
    assert not build(_data(attendance=(_attendance(group),))).part2


def test_the_definition_is_the_documented_list():
    assert frozenset(SUBSTANCE_SLUGS) == notes.SUBSTANCE_USE_NEEDS


def test_reasons_name_the_group_once_and_the_iv_d_referral():
    note = build(
        _data(
            referrals=(_referral((DUAL,), ("IV.D",)),),
            attendance=(_attendance(DUAL),),
            feedback=(_feedback(DUAL),),
        )
    )
    assert note.part2_reasons == (
        "it names Dual Recovery Anonymous, a substance-use group",
        "it mentions a referral (02/20/2026) made for co-occurring substance use (IV.D)",
    )


def test_notice_is_the_2024_statement_verbatim_at_the_top():
    note = build(_data(attendance=(_attendance(DUAL),)))
    lines = note.text.splitlines()
    assert lines[0] == "42 CFR PART 2 NOTICE (42 CFR 2.32)"
    assert lines[1].startswith("This record which has been disclosed to you")
    notice_block = note.text.split("\n\n", 1)[0]
    flat = _unwrapped(notice_block)
    assert flat.startswith("42 CFR PART 2 NOTICE (42 CFR 2.32) " + NOTICE_START)
    assert flat.endswith(NOTICE_END)
    for paragraph in notes.PART2_STATEMENT:
        assert paragraph in flat  # each paragraph whole, only re-wrapped
    # The elements the 2024 rule added: proceedings against the patient, the three exceptions.
    assert "civil, criminal, administrative, or legislative proceedings" in flat
    assert "(i) Further use or disclosure is expressly permitted" in flat
    assert "(ii) You are a covered entity or business associate" in flat
    assert "(iii) You have received the record from a covered entity" in flat
    assert "45 CFR part 164, subparts A and E" in flat
    # Once in the text: the printable page repeats it at its end, not the text.
    assert note.text.count(NOTICE_START) == 1
    # Each of (i)-(iii) starts a line of its own.
    assert any(line.startswith("(i) ") for line in lines)
    assert any(line.startswith("(ii) ") for line in lines)
    assert any(line.startswith("(iii) ") for line in lines)


# --- layout -------------------------------------------------------------------------------------


def test_empty_period_says_so_in_each_section():
    text = build(_data()).text
    assert text.startswith("SELF-HELP GROUPS: ATTENDANCE AND FEEDBACK (DMH policy 04.9, IX.A-B)")
    assert "Client: Marisol Quintanilla, record no. 90817263" in text
    assert "Period: 01/01/2026 to 03/31/2026" in text
    sections = ["Referrals active in the period\nNone.", "Attendance (IX.A)\nNone documented"]
    sections.append("Feedback (IX.B)\nNone documented in the period.")
    for section in sections:
        assert section in text
    assert text.rstrip().endswith(
        "Prepared by Dana Whitfield, Hollywood Mental Health Center, on 04/02/2026."
    )


def test_sections_in_order_with_referral_attendance_and_feedback():
    data = _data(
        referrals=(_referral((SUNRISE, GAMBLERS)), _referral((), (), None)),
        attendance=(
            GroupAttendance(
                group=SUNRISE,
                attended=4,
                missed=1,
                accompanied=2,
                attended_dates=(
                    AttendedDate(date(2026, 3, 30), accompanied=True),
                    AttendedDate(date(2026, 3, 23)),
                    AttendedDate(date(2026, 3, 16), accompanied=True),
                    AttendedDate(date(2026, 3, 2)),
                ),
                missed_dates=(date(2026, 3, 9),),
                run=Run(current=3, longest=3),
            ),
        ),
        feedback=(
            _feedback(
                SUNRISE,
                observations="Friendly; people share first names only.",
                concerns="Someone told her to stop her pills.",
                concern_kinds=("Members encouraged stopping prescribed medication",),
                review="open since 03/20/2026; a site admin is reviewing",
            ),
        ),
    )
    text = build(data).text
    order = ["Referrals active", "Attendance (IX.A)", "Feedback (IX.B)", "Prepared by"]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert "- Referred 02/20/2026, Attending: Sunrise Friends Circle; Gamblers Anonymous" in text
    assert "- Not referred, Attending: no group chosen yet" in text
    assert "Sunrise Friends Circle: attended 4, missed 1; 2 with a peer advocate (VIII.H)" in text
    # Latest first, a peer advocate's sessions starred and the star explained.
    assert "  Attended: 03/30/2026*, 03/23/2026, 03/16/2026*, 03/02/2026\n" in text
    assert "  Missed: 03/09/2026\n" in text
    assert "  * with a peer advocate" in text
    assert "  Six in a row (VIII.G), this period: not yet; longest run 3, current run 3\n" in text
    assert "03/20/2026, Sunrise Friends Circle\n  Frequency: Every week or more often" in text
    assert "  Observations: Friendly; people share first names only." in text
    assert "  Concerns: Someone told her to stop her pills." in text
    assert "  Concern kinds: Members encouraged stopping prescribed medication" in text
    assert "  Listing review: open since 03/20/2026; a site admin is reviewing" in text
    assert not build(data).part2  # Gamblers Anonymous is not a substance-use group


def test_six_in_a_row_reached_and_no_star_legend_without_advocate():
    item = _attendance(SUNRISE, attended=7, run=Run(current=2, longest=6))
    text = build(_data(attendance=(item,))).text
    assert "not yet" not in text
    assert "Six in a row (VIII.G), this period: reached; longest run 6, current run 2" in text
    assert "with a peer advocate" not in text and "*" not in text


def test_long_lists_show_the_latest_dates_and_count_the_earlier():
    shown = tuple(AttendedDate(date(2026, 3, 31 - n)) for n in range(notes.DATES_SHOWN))
    item = _attendance(SUNRISE, attended=notes.DATES_SHOWN + 17, dates=shown)
    text = build(_data(attendance=(item,))).text
    flat = _unwrapped(text)
    assert "Attended: 03/31/2026, 03/30/2026," in flat
    assert f"03/{31 - notes.DATES_SHOWN + 1:02d}/2026 and 17 earlier" in flat
    assert text.count("/2026") == notes.DATES_SHOWN + 3  # period (2), prepared (1), the list


def test_every_line_fits_and_long_text_wraps_with_indent():
    long_observation = " ".join(["The group meets in a church hall and members are welcoming."] * 6)
    feedback = _feedback(
        SUNRISE,
        observations=long_observation + "\n\nSecond paragraph: she likes the coffee.",
        concerns="x" * 120,  # one long word: broken, never past the width
    )
    dates = tuple(AttendedDate(date(2026, 3, 31 - n), n % 2 == 0) for n in range(10))
    long_group = NoteGroup(pk=11, name="The Very Long Named Peer Support Fellowship " * 3)
    data = _data(
        feedback=(feedback,),
        attendance=(_attendance(long_group, attended=10, dates=dates),),
        referrals=(_referral((SUNRISE, long_group, GAMBLERS)),),
    )
    for width in (notes.WIDTH, 60):
        text = build(data, width=width).text
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width
        assert "\t" not in text
        observations = next(i for i, line in enumerate(lines) if "Observations:" in line)
        # Continuation lines are indented under the field; the blank line typed is dropped.
        assert lines[observations + 1].startswith("    ")
        assert "    Second paragraph: she likes the coffee." in text
        assert all(line.strip() or lines[i - 1].strip() for i, line in enumerate(lines) if i)
    # Nothing was lost in wrapping.
    assert long_observation in _unwrapped(build(data).text)


def test_notice_lines_fit_the_width_too():
    text = build(_data(feedback=(_feedback(SOBER),))).text
    assert max(len(line) for line in text.splitlines()) <= notes.WIDTH
    assert text.isascii()  # fixed text is ASCII: EHR text boxes mangle typographic marks


def test_builder_leaves_out_empty_fields():
    text = build(_data(feedback=(_feedback(SUNRISE, observations="  ", concerns=""),))).text
    assert "Observations" not in text and "Concerns" not in text
    assert "Concern kinds" not in text and "Listing review" not in text


# --- the period -----------------------------------------------------------------------------------

TODAY = date(2026, 4, 2)


def test_default_period_is_the_last_90_days_counting_today():
    start, end = parse_period({}, today=TODAY)
    assert end == TODAY and (end - start).days + 1 == 90
    assert parse_period({"start": "", "end": " "}, today=TODAY) == (start, end)


def test_only_an_end_or_only_a_start():
    assert parse_period({"end": "2026-03-31"}, today=TODAY) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert parse_period({"start": "2026-03-01"}, today=TODAY) == (date(2026, 3, 1), TODAY)


def test_a_full_year_is_allowed_and_one_day_more_is_not():
    start = date(2025, 4, 2)
    assert parse_period({"start": start.isoformat(), "end": "2026-04-02"}, today=TODAY)[0] == start
    with pytest.raises(BadPeriod, match="at most 366 days"):
        parse_period({"start": "2025-04-01", "end": "2026-04-02"}, today=TODAY)


def test_a_single_day_is_a_period():
    assert parse_period({"start": "2026-04-02", "end": "2026-04-02"}, today=TODAY) == (TODAY, TODAY)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "2026-13-01"}, "The start date “2026-13-01” is not a date (use YYYY-MM-DD)."),
        ({"end": "2026-02-30"}, "The end date “2026-02-30” is not a date"),
        ({"start": "03/01/2026"}, "is not a date"),
        ({"start": "2026-W01-1"}, "is not a date"),
        ({"end": "yesterday"}, "is not a date"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "is before the start date 03/10/2026"),
        ({"end": "2026-04-03"}, "The end date 04/03/2026 is in the future"),
        ({"start": "2026-05-01"}, "The start date 05/01/2026 is in the future."),
        ({"start": "0001-01-01", "end": "2026-04-01"}, "at most 366 days"),
    ],
)
def test_bad_dates_are_refused_with_a_clear_message(params, message):
    with pytest.raises(BadPeriod) as refused:
        parse_period(params, today=TODAY)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems


def test_both_dates_bad_gives_both_problems():
    with pytest.raises(BadPeriod) as refused:
        parse_period({"start": "soon", "end": "later"}, today=TODAY)
    assert len(refused.value.problems) == 2


def test_early_end_does_not_overflow():
    assert parse_period({"end": "0001-01-05"}, today=TODAY) == (date.min, date(1, 1, 5))
