"""Six scheduled meetings in a row (policy VIII.G) and the federal holidays it skips: pure
rules, no database, table-driven (``clients/rules/attendance.py``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clients.rules.attendance import (
    PLAIN_RULE,
    SIX,
    Basis,
    Meeting,
    Run,
    federal_holidays,
    holiday_name,
    next_scheduled,
    python_weekday,
    run_of,
    runs_by_group,
)

# Weekdays as the directory numbers them (Meeting Guide: Sunday = 0).
SUN, MON, TUE, WED, THU, FRI, SAT = range(7)


def A(iso: str) -> Meeting:  # noqa: N802 (a table reads better with a short name)
    return Meeting(date.fromisoformat(iso), True)


def M(iso: str) -> Meeting:  # noqa: N802
    return Meeting(date.fromisoformat(iso), False)


def weekly(iso: str, n: int, *, attended: bool = True) -> list[Meeting]:
    start = date.fromisoformat(iso)
    return [Meeting(start + timedelta(weeks=i), attended) for i in range(n)]


# Tuesdays of January–February 2026: Jan 6, 13, 20, 27, Feb 3, 10, 17, 24 (no federal holiday).
# Mondays: Jan 5, 12, 19 (Martin Luther King Jr. Day), 26, Feb 2, 9, 16 (Presidents' Day), 23.
CASES = [
    # id, documented meetings, the group's weekdays, (current, longest)
    ("empty", [], [TUE], (0, 0)),
    ("empty-no-schedule", [], [], (0, 0)),
    ("only-missed", [M("2026-01-06"), M("2026-01-13")], [TUE], (0, 0)),
    ("one", [A("2026-01-06")], [TUE], (1, 1)),
    ("five", weekly("2026-01-06", 5), [TUE], (5, 5)),
    ("six-exactly", weekly("2026-01-06", 6), [TUE], (6, 6)),
    ("seven", weekly("2026-01-06", 7), [TUE], (7, 7)),
    (
        # VIII.G: a documented miss breaks the run, six attended in all are not six in a row.
        "missed-in-the-middle",
        [*weekly("2026-01-06", 3), M("2026-01-27"), *weekly("2026-02-03", 3)],
        [TUE],
        (3, 3),
    ),
    (
        "missed-then-six",
        [*weekly("2026-01-06", 2), M("2026-01-20"), *weekly("2026-01-27", 6)],
        [TUE],
        (6, 6),
    ),
    (
        # Tuesday Jan 27 was scheduled and nothing is documented that week: a miss.
        "undocumented-scheduled-meeting-breaks",
        [*weekly("2026-01-06", 3), *weekly("2026-02-03", 3)],
        [TUE],
        (3, 3),
    ),
    (
        "reached-then-broken",
        [*weekly("2026-01-06", 6), M("2026-02-17"), A("2026-02-24"), A("2026-03-03")],
        [TUE],
        (2, 6),
    ),
    (
        # Missed meetings before the first attended one are before the run starts.
        "misses-before-the-first-attendance",
        [M("2025-12-30"), *weekly("2026-01-06", 6)],
        [TUE],
        (6, 6),
    ),
    (
        # Monday group: MLK Day (Jan 19) and Presidents' Day (Feb 16) undocumented: skipped.
        "holidays-skipped",
        [
            A("2026-01-05"),
            A("2026-01-12"),
            A("2026-01-26"),
            A("2026-02-02"),
            A("2026-02-09"),
            A("2026-02-23"),
        ],
        [MON],
        (6, 6),
    ),
    (
        # A holiday documented as missed is a documented miss.
        "holiday-documented-missed-breaks",
        [A("2026-01-05"), A("2026-01-12"), M("2026-01-19"), A("2026-01-26"), A("2026-02-02")],
        [MON],
        (2, 2),
    ),
    (
        # A holiday meeting the client did go to counts.
        "holiday-attended-counts",
        weekly("2026-01-05", 6),
        [MON],
        (6, 6),
    ),
    (
        # Thursday group over New Year: Christmas (Dec 25) and New Year's Day (Jan 1) skipped.
        "year-boundary-with-holidays",
        [
            A("2025-12-04"),
            A("2025-12-11"),
            A("2025-12-18"),
            A("2026-01-08"),
            A("2026-01-15"),
            A("2026-01-22"),
        ],
        [THU],
        (6, 6),
    ),
    (
        # Without a schedule, weeks count: ISO weeks run across New Year (Dec 29–Jan 4).
        "year-boundary-weeks",
        [
            A("2025-12-15"),
            A("2025-12-26"),
            A("2026-01-01"),
            A("2026-01-09"),
            A("2026-01-12"),
            A("2026-01-25"),
        ],
        [],
        (6, 6),
    ),
    (
        "weeks-two-in-one-week-count-once",
        [A("2026-01-05"), A("2026-01-07"), A("2026-01-12")],
        [],
        (2, 2),
    ),
    (
        # Without a schedule, a week with no attendance breaks the run (Jan 19–25 here).
        "weeks-gap-breaks",
        [A("2026-01-06"), A("2026-01-13"), A("2026-01-27"), A("2026-02-03")],
        [],
        (2, 2),
    ),
    (
        "weeks-only-missed-week-breaks",
        [A("2026-01-06"), M("2026-01-13"), A("2026-01-20")],
        [],
        (1, 1),
    ),
    (
        # A week with a miss and an attendance was attended.
        "weeks-missed-and-attended-same-week",
        [A("2026-01-06"), M("2026-01-13"), A("2026-01-15"), A("2026-01-20")],
        [],
        (3, 3),
    ),
    ("weeks-six", weekly("2026-01-07", 6), [], (6, 6)),
    (
        # The group moved from Monday to Thursday: the directory lists Thursday now. The
        # Mondays attended count, and the Thursdays of those weeks are not misses.
        "schedule-changed",
        [
            A("2026-01-05"),
            A("2026-01-12"),
            A("2026-01-19"),
            A("2026-01-26"),
            A("2026-02-05"),
            A("2026-02-12"),
        ],
        [THU],
        (6, 6),
    ),
    (
        # After the move, a week with nothing attended (Thursday Jan 22) is a miss.
        "schedule-changed-with-a-gap",
        [A("2026-01-05"), A("2026-01-12"), A("2026-01-29"), A("2026-02-05")],
        [THU],
        (2, 2),
    ),
    (
        # A group meeting Monday and Thursday; the client goes on Mondays.
        "two-meetings-a-week-client-goes-to-one",
        weekly("2026-01-05", 6),
        [MON, THU],
        (6, 6),
    ),
    (
        "two-meetings-a-week-both-attended",
        [
            A("2026-01-05"),
            A("2026-01-08"),
            A("2026-01-12"),
            A("2026-01-15"),
            A("2026-01-22"),
            A("2026-01-26"),
        ],
        [MON, THU],
        (6, 6),
    ),
    (
        "two-meetings-a-week-documented-miss-breaks",
        [A("2026-01-05"), M("2026-01-08"), A("2026-01-12"), A("2026-01-15")],
        [MON, THU],
        (2, 2),
    ),
    (
        # Mon + Thu group: the Monday before the first attendance (Thu Jan 8) does not count,
        # and the Thursday after the latest documented date (Mon Jan 26) is not known yet.
        "window-edges",
        [A("2026-01-08"), A("2026-01-12"), A("2026-01-19"), A("2026-01-26")],
        [MON, THU],
        (4, 4),
    ),
    (
        # The same weekdays given twice are one schedule.
        "repeated-weekdays",
        weekly("2026-01-06", 6),
        [TUE, TUE, TUE],
        (6, 6),
    ),
]


@pytest.mark.parametrize(
    ("meetings", "weekdays", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_run(meetings, weekdays, expected):
    run = run_of(meetings, weekdays, today=date(2026, 6, 1))
    assert (run.current, run.longest) == expected
    assert run.reached_six == (expected[1] >= SIX)
    assert run.progress == min(expected[1], SIX)
    assert run.current_progress == min(expected[0], SIX)
    assert run.basis == (Basis.SCHEDULE if weekdays else Basis.WEEKS)


@pytest.mark.parametrize(
    ("meetings", "weekdays", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_order_of_the_input_does_not_matter(meetings, weekdays, expected):
    run = run_of(list(reversed(meetings)), weekdays)
    assert (run.current, run.longest) == expected


def test_holidays_skipped_are_reported():
    run = run_of([A("2026-01-05"), A("2026-01-12"), A("2026-01-26"), A("2026-02-23")], [MON])
    assert run.skipped_holidays == (date(2026, 1, 19), date(2026, 2, 16))
    # Feb 9 was a plain Monday with nothing documented: that breaks the run.
    assert (run.current, run.longest) == (1, 3)


def test_a_holiday_week_is_skipped_only_when_every_meeting_missed_is_a_holiday():
    """Mon + Thu group: MLK Day (Mon Jan 19) is skipped, but Thursday Jan 22 is a plain day."""
    run = run_of([A("2026-01-12"), A("2026-01-26")], [MON, THU])
    assert (run.current, run.longest) == (1, 1)
    run = run_of([A("2026-01-12"), A("2026-01-22"), A("2026-01-26")], [MON, THU])
    assert (run.current, run.longest) == (3, 3)


def test_the_run_stops_at_the_latest_documented_date():
    """Weeks after the latest documented meeting are not known yet: the run stands."""
    run = run_of(weekly("2026-01-06", 4), [TUE], today=date(2026, 3, 31))
    assert (run.current, run.longest) == (4, 4)
    assert run.last_documented == date(2026, 1, 27)
    # Two more to reach six: the next two Tuesdays after today.
    assert run.next_dates == (date(2026, 4, 7), date(2026, 4, 14))


def test_today_only_plans_the_next_dates():
    """What is documented counts as documented, whatever ``today`` (the form refuses dates in
    the future; a record made otherwise is not silently dropped)."""
    meetings = weekly("2026-01-06", 6)
    early = run_of(meetings, [TUE], today=date(2026, 1, 20))
    late = run_of(meetings, [TUE], today=date(2026, 6, 1))
    assert (early.current, early.longest) == (late.current, late.longest) == (6, 6)
    assert early.last_documented == late.last_documented == date(2026, 2, 10)


@pytest.mark.parametrize(
    ("meetings", "weekdays", "today", "expected"),
    [
        (
            [],
            [TUE],
            date(2026, 1, 1),
            tuple(date(2026, 1, 6) + timedelta(weeks=n) for n in range(6)),
        ),
        (weekly("2026-01-06", 6), [TUE], date(2026, 2, 11), ()),  # reached: none needed
        (weekly("2026-01-06", 6), [], date(2026, 2, 11), ()),  # no schedule: no dates
        (weekly("2026-01-06", 2), [TUE], None, ()),  # no today: no dates
        # Thursday group: Thanksgiving (Nov 26) is left out of the dates to plan for.
        (
            weekly("2026-10-08", 4),
            [THU],
            date(2026, 11, 19),
            (date(2026, 12, 3), date(2026, 12, 10)),
        ),
    ],
    ids=["none-yet", "reached", "no-schedule", "no-today", "thanksgiving-left-out"],
)
def test_next_dates(meetings, weekdays, today, expected):
    assert run_of(meetings, weekdays, today=today).next_dates == expected


def test_the_same_date_twice_counts_once_and_attended_wins():
    run = run_of([A("2026-01-06"), M("2026-01-06"), A("2026-01-13")], [TUE])
    assert (run.current, run.longest) == (2, 2)


def test_two_groups_are_counted_separately():
    """Attending group 1 on Tuesdays does not fill group 2's Thursdays, and the other way."""
    records = [
        *((1, m.on_date, m.attended) for m in weekly("2026-01-06", 6)),
        (2, date(2026, 1, 8), True),
        (2, date(2026, 1, 15), True),
        # Thursday Jan 22: group 2 met and nothing is documented there.
        (2, date(2026, 1, 29), True),
        (2, date(2026, 2, 5), False),
    ]
    runs = runs_by_group(records, {1: [TUE], 2: [THU]}, group_ids=[3, 1], today=date(2026, 3, 1))
    assert list(runs) == [3, 1, 2]
    assert (runs[1].current, runs[1].longest, runs[1].reached_six) == (6, 6, True)
    assert (runs[2].current, runs[2].longest, runs[2].reached_six) == (0, 2, False)
    # Group 3 has no records and no schedule known.
    assert runs[3] == Run(current=0, longest=0, basis=Basis.WEEKS)
    # Group 2's next Thursdays: six still to go from a run of zero.
    assert len(runs[2].next_dates) == 6 and runs[2].next_dates[0] == date(2026, 3, 5)


def test_the_same_records_without_a_schedule_count_weeks():
    """Group 2 above without a schedule: weeks Jan 5, 12 attended, Jan 19 none (break)."""
    runs = runs_by_group(
        [(2, date(2026, 1, 8), True), (2, date(2026, 1, 15), True), (2, date(2026, 1, 29), True)],
        {},
    )
    assert (runs[2].current, runs[2].longest, runs[2].basis) == (1, 2, Basis.WEEKS)


def test_run_keeps_its_old_callers_working():
    """The record note calls ``run_of(meetings)``; ``Run(current, longest)`` stays."""
    run = run_of([Meeting(date(2026, 1, 6), True)])
    assert run == Run(current=1, longest=1, basis=Basis.WEEKS, last_documented=date(2026, 1, 6))
    assert Run(current=6, longest=6).reached_six and not Run(current=5, longest=5).reached_six


# --- federal holidays ----------------------------------------------------------------------


def test_federal_holidays_2026():
    assert dict(federal_holidays(2026)) == {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 1, 19): "Martin Luther King Jr. Day",
        date(2026, 2, 16): "Presidents' Day (Washington's Birthday)",
        date(2026, 5, 25): "Memorial Day",
        date(2026, 6, 19): "Juneteenth",
        date(2026, 7, 3): "Independence Day (observed)",  # July 4 is a Saturday
        date(2026, 7, 4): "Independence Day",
        date(2026, 9, 7): "Labor Day",
        date(2026, 10, 12): "Columbus Day (Indigenous Peoples' Day)",
        date(2026, 11, 11): "Veterans Day",
        date(2026, 11, 26): "Thanksgiving Day",
        date(2026, 12, 25): "Christmas Day",
    }


@pytest.mark.parametrize(
    ("day", "name"),
    [
        # Saturday holidays are observed the Friday before, Sunday ones the Monday after.
        (date(2021, 6, 18), "Juneteenth (observed)"),
        (date(2021, 7, 5), "Independence Day (observed)"),
        (date(2021, 12, 24), "Christmas Day (observed)"),
        # New Year's Day 2022 was a Saturday: observed Friday, December 31, 2021.
        (date(2021, 12, 31), "New Year's Day (observed)"),
        (date(2027, 6, 18), "Juneteenth (observed)"),
        (date(2027, 7, 5), "Independence Day (observed)"),
        (date(2027, 12, 24), "Christmas Day (observed)"),
        (date(2027, 12, 31), "New Year's Day (observed)"),
        (date(2023, 11, 10), "Veterans Day (observed)"),  # Nov 11, 2023 was a Saturday
        (date(2023, 1, 2), "New Year's Day (observed)"),  # Jan 1, 2023 was a Sunday
        # The floating ones: the n-th or last weekday of the month.
        (date(2025, 1, 20), "Martin Luther King Jr. Day"),
        (date(2025, 2, 17), "Presidents' Day (Washington's Birthday)"),
        (date(2025, 5, 26), "Memorial Day"),
        (date(2024, 5, 27), "Memorial Day"),
        (date(2025, 9, 1), "Labor Day"),
        (date(2025, 10, 13), "Columbus Day (Indigenous Peoples' Day)"),
        (date(2025, 11, 27), "Thanksgiving Day"),
        (date(2024, 11, 28), "Thanksgiving Day"),
        # Plain days.
        (date(2026, 1, 2), ""),
        (date(2026, 11, 27), ""),
        (date(2020, 6, 19), ""),  # Juneteenth became a federal holiday in 2021
        (date(2022, 1, 1), "New Year's Day"),  # the day itself still counts
    ],
)
def test_holiday_name(day, name):
    assert holiday_name(day) == name


@pytest.mark.parametrize("year", range(2020, 2031))
def test_every_year_has_its_holidays_once(year):
    holidays = federal_holidays(year)
    names = {name.removesuffix(" (observed)") for name in holidays.values()}
    assert len(names) == (11 if year >= 2021 else 10)
    assert all(day.year == year for day in holidays)
    # An observed date is always a weekday.
    assert all(day.weekday() < 5 for day, name in holidays.items() if "observed" in name)


def test_next_scheduled_leaves_holidays_out():
    assert next_scheduled([MON], after=date(2026, 1, 12), count=2) == (
        date(2026, 1, 26),  # Jan 19 is Martin Luther King Jr. Day
        date(2026, 2, 2),
    )
    assert next_scheduled([], after=date(2026, 1, 12), count=2) == ()


@pytest.mark.parametrize(("sunday_based", "python"), [(0, 6), (1, 0), (2, 1), (6, 5)])
def test_weekdays_are_numbered_from_sunday(sunday_based, python):
    assert python_weekday(sunday_based) == python


@pytest.mark.parametrize("bad", [-1, 7])
def test_a_weekday_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="0 \\(Sunday\\) to 6"):
        run_of([], [bad])


def test_the_plain_rule_names_what_breaks_a_run():
    text = " ".join(PLAIN_RULE)
    for words in ("missed", "holidays", "weeks in a row", "latest documented date"):
        assert words in text
