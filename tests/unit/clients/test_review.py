"""The supervisor review's pure parts (policy IX.A–B): the period and its weeks, the GET
parameters' rules and messages, the clinic's totals, and the CSV lines, without a database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clients.forms import ReviewQueryForm
from clients.selectors import review
from clients.selectors.review import ClinicianFigures
from clients.views.review import CSV_HEADER, csv_lines
from core import periods
from core.periods import Period

TODAY = date(2026, 5, 6)  # a Wednesday
LA = ZoneInfo("America/Los_Angeles")


def _form(**data) -> ReviewQueryForm:
    return ReviewQueryForm(data, today=TODAY)


# --- the period ------------------------------------------------------------------------------


def test_the_default_period_is_the_last_90_days_today_included():
    period = Period.default(TODAY)
    assert period == Period(date(2026, 2, 6), TODAY)
    assert period.days == 90


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 5, 4), date(2026, 5, 4)),  # a Monday is its own week
        (date(2026, 5, 6), date(2026, 5, 4)),
        (date(2026, 5, 10), date(2026, 5, 4)),  # Sunday ends the ISO week
        (date(2026, 1, 1), date(2025, 12, 29)),  # ISO week 1 of 2026 starts in 2025
    ],
)
def test_monday_is_the_start_of_the_iso_week(day, expected):
    assert periods.monday(day) == expected


def test_the_weeks_cover_every_week_the_period_touches():
    weeks = Period(date(2026, 3, 7), date(2026, 5, 6)).weeks()
    assert weeks[0] == date(2026, 3, 2) and weeks[-1] == date(2026, 5, 4)
    assert len(weeks) == 10
    assert all(b - a == timedelta(weeks=1) for a, b in zip(weeks, weeks[1:], strict=False))
    assert Period(TODAY, TODAY).weeks() == [date(2026, 5, 4)]


def test_a_week_is_named_by_its_iso_number():
    assert review.Week(date(2025, 12, 29), 1, 2).iso == "2026-W01"
    assert review.Week(date(2026, 5, 4), 3, 4).total == 7


def test_the_period_is_whole_local_days_and_its_log_id_is_only_dates():
    period = Period(date(2026, 3, 8), date(2026, 3, 8))  # the day clocks go forward
    q = period.moments("screened_at")
    bounds = dict(q.children)
    assert bounds["screened_at__gte"] == datetime(2026, 3, 8, tzinfo=LA)
    assert bounds["screened_at__lt"] == datetime(2026, 3, 9, tzinfo=LA)
    # Compared as moments (in UTC): 2026-03-08 is 23 hours long in Los Angeles.
    length = bounds["screened_at__lt"].astimezone(UTC) - bounds["screened_at__gte"].astimezone(UTC)
    assert length == timedelta(hours=23)
    assert period.log_id == "2026-03-08/2026-03-08"
    assert period.as_query() == {"start": "2026-03-08", "end": "2026-03-08"}


# --- the GET parameters ----------------------------------------------------------------------


def test_no_parameters_give_the_defaults():
    form = _form()
    assert form.is_valid(), form.errors
    assert form.cleaned_data["period"] == Period.default(TODAY)
    assert form.cleaned_data["weeks"] == review.DEFAULT_GAP_WEEKS == 4


def test_an_end_alone_gives_the_90_days_before_it():
    form = _form(end="2026-04-30")
    assert form.is_valid()
    assert form.cleaned_data["period"] == Period(date(2026, 1, 31), date(2026, 4, 30))


def test_a_start_alone_runs_to_today():
    form = _form(start="2026-04-01", weeks="26")
    assert form.is_valid()
    assert form.cleaned_data["period"] == Period(date(2026, 4, 1), TODAY)
    assert form.cleaned_data["weeks"] == 26


def test_the_longest_period_is_accepted_and_one_day_more_is_not():
    longest = TODAY - timedelta(days=periods.MAX_DAYS - 1)
    assert _form(start=longest.isoformat()).is_valid()
    form = _form(start=(longest - timedelta(days=1)).isoformat())
    assert not form.is_valid()
    assert "at most 731 days" in form.errors["start"][0]


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"start": "yesterday"}, "start", "Enter a date as YYYY-MM-DD"),
        ({"end": "2026-13-01"}, "end", "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-05-06", "end": "2026-05-05"}, "start", "after it ends"),
        ({"end": "2026-05-07"}, "end", "cannot end after today (May 6, 2026)"),
        ({"start": "1999-12-31", "end": "2000-01-05"}, "start", "from January 1, 2000"),
        ({"end": "0001-01-01"}, "end", "Choose an end from January 1, 2000"),
        ({"weeks": "0"}, "weeks", "from 1 to 26"),
        ({"weeks": "27"}, "weeks", "from 1 to 26"),
        ({"weeks": "2.5"}, "weeks", "from 1 to 26"),
    ],
)
def test_bad_parameters_are_refused_with_a_message(data, field, message):
    form = _form(**data)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


def test_period_problems_are_empty_for_a_good_period():
    assert periods.period_problems(date(2026, 1, 1), TODAY, TODAY) == {}
    assert periods.period_problems(TODAY, TODAY, TODAY) == {}


# --- totals and the CSV ----------------------------------------------------------------------


class _Staff:
    def __init__(self, first, last, username):
        self.first, self.last, self.username = first, last, username

    def get_full_name(self):
        return f"{self.first} {self.last}".strip()

    def get_username(self):
        return self.username


def _row(user, n, **extra):
    return ClinicianFigures(
        clinician=user,
        screened=n,
        incomplete=1,
        not_referred=2,
        blocks={"IV": 1, "V": 0, "VI.A": 1, "VI.B": n},
        referred=3 * n,
        attendance_documented=n,
        six_in_a_row=1,
        concerns=n,
        gaps=2,
        **extra,
    )


def test_totals_add_up_every_figure():
    rows = [_row(_Staff("A", "A", "a"), 1), _row(_Staff("B", "B", "b"), 5)]
    total = review.totals(rows)
    assert total.name == "All clinicians"
    assert (total.screened, total.incomplete, total.not_referred) == (6, 2, 4)
    assert total.not_referred_by_clause == [("IV", 2), ("V", 0), ("VI.A", 2), ("VI.B", 6)]
    assert (total.referred, total.attendance_documented, total.six_in_a_row) == (18, 6, 2)
    assert (total.concerns, total.gaps) == (6, 4)


def test_a_clinician_without_a_name_is_shown_by_username():
    assert ClinicianFigures(clinician=_Staff("", "", "jdoe")).name == "jdoe"


def test_the_csv_lines_carry_the_figures_and_guard_formulas():
    signed = datetime(2026, 5, 1, 9, 30, tzinfo=LA)
    rows = [
        _row(_Staff("Ana", "Alvarez", "ana"), 4, signed_off_at=signed),
        _row(_Staff("=cmd|", "x", "@evil"), 0),
    ]
    text = "".join(
        csv_lines(
            rows,
            clinic_name="+Clinic",
            period=Period(date(2026, 3, 7), TODAY),
            gap_weeks=6,
        )
    )
    parsed = list(csv.reader(io.StringIO(text)))
    assert tuple(parsed[0]) == CSV_HEADER
    ana = dict(zip(CSV_HEADER, parsed[1], strict=True))
    assert ana["clinician"] == "Ana Alvarez" and ana["username"] == "ana"
    assert ana["clinic"] == "'+Clinic"  # a leading "+" would start a formula
    assert (ana["period_start"], ana["period_end"], ana["gap_weeks"]) == (
        "2026-03-07",
        "2026-05-06",
        "6",
    )
    assert [ana[f"not_referred_{c}"] for c in ("IV", "V", "VI.A", "VI.B")] == ["1", "0", "1", "4"]
    assert (ana["referred"], ana["attendance_documented"], ana["six_in_a_row"]) == ("12", "4", "1")
    assert (ana["concerns_raised"], ana["documentation_gaps"]) == ("4", "2")
    assert ana["signed_off_at"] == "2026-05-01T09:30:00-07:00"
    other = dict(zip(CSV_HEADER, parsed[2], strict=True))
    assert other["clinician"] == "'=cmd| x" and other["username"] == "'@evil"
    assert other["signed_off_at"] == ""
