"""Six scheduled meetings in a row (policy VIII.G), as a pure rule over documented attendance.

VIII.G: "Clients should be encouraged to attend six scheduled self-help meetings in a row and
regularly thereafter." IX.A documents the attendance; this module counts it, per client and per
group (two groups are counted separately). Callers pass the documented meetings, the weekdays the
group meets on (Sunday = 0, as ``directory.Meeting.weekday`` and the Meeting Guide number them)
and ``today``, only to plan the next dates: what is documented is counted as documented.

The rule:

1. The run starts at the first meeting documented as attended and is looked at up to the
   latest documented date. Later meetings are not known yet (the clinician asks at the next
   appointment, VIII.I): they neither add to nor break the run.
2. Each meeting documented as attended adds one, whether or not its date is on the group's
   current schedule: schedules change, and a group may have meetings the directory does not
   list.
3. A meeting documented as missed breaks the run (back to 0).
4. Where the group's schedule is known, a week (Monday to Sunday) in which the group had a
   scheduled meeting and the client attended none breaks the run. An undocumented meeting on a
   US federal holiday (``federal_holidays``, with the observed rule) is skipped: the group may
   not have met. A week the client did attend is not a miss, even when the group lists several
   meetings that week or moved its day: a client goes to one of them (rule 2).
5. Where no schedule is known, weeks stand in for meetings: each ISO week with at least one
   attended meeting adds one, a week without one breaks the run, and a documented miss in an
   attended week does not break it.

Six in a row is reached when the longest run is six or more (``Run``: current, longest, and
progress capped at six). Callers pass a bounded window of the latest meetings; a run older than
that is already recorded by the referral's status (engaged). The checks on dates typed for IX.A
(``parse_dates``, ``entry_problems``) are here too, as pure functions.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

SIX = 6  # VIII.G

# The rule in plain words, as the client's page shows it (keep it in step with the docstring).
PLAIN_RULE = (
    "A run starts at the first meeting documented as attended. "
    "Each meeting the client attended adds one; a meeting documented as missed starts it "
    "again from zero.",
    "When the directory lists the group's weekly meetings, a week in which the group met and "
    "the client attended none of its meetings also starts it again. Meetings on federal "
    "holidays that nobody documented are skipped, not counted as missed. Attendance on a day "
    "the directory does not list still counts (the group may have changed its day).",
    "When the directory has no schedule for the group, the run counts weeks in a row with at "
    "least one meeting attended.",
    "Meetings after the latest documented date are not known yet: ask the client at the next "
    "appointment.",
)


class Basis(StrEnum):
    """What the run was counted from."""

    SCHEDULE = "schedule"  # the group's weekly meetings (rule 4)
    WEEKS = "weeks"  # no schedule known: weeks in a row (rule 5)


@dataclass(frozen=True)
class Meeting:
    """A documented meeting of one client at one group: attended, or missed."""

    on_date: date
    attended: bool


@dataclass(frozen=True)
class Run:
    current: int
    longest: int
    basis: Basis = Basis.WEEKS
    # The latest documented meeting (attended or missed) the run was counted up to.
    last_documented: date | None = None
    # Scheduled meetings on federal holidays that nobody documented: skipped (rule 4).
    skipped_holidays: tuple[date, ...] = ()
    # The group's next scheduled dates after today, as many as the current run still needs
    # to reach six (none once reached, none without a schedule); federal holidays left out.
    next_dates: tuple[date, ...] = ()

    @property
    def reached_six(self) -> bool:
        return self.longest >= SIX

    @property
    def progress(self) -> int:
        """0 to 6 for the page: the best run so far, capped at six."""
        return min(self.longest, SIX)

    @property
    def current_progress(self) -> int:
        """0 to 6: the current run, capped at six."""
        return min(self.current, SIX)


# --- US federal holidays (5 U.S.C. 6103), pure -----------------------------------------------

_MONDAY, _THURSDAY, _FRIDAY, _SATURDAY, _SUNDAY = 0, 3, 4, 5, 6


def _nth(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th ``weekday`` (Python's, Monday = 0) of the month; n = -1 for the last."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A holiday on a Saturday is observed the Friday before, on a Sunday the Monday after."""
    if day.weekday() == _SATURDAY:
        return day - timedelta(days=1)
    if day.weekday() == _SUNDAY:
        return day + timedelta(days=1)
    return day


@functools.lru_cache(maxsize=64)
def federal_holidays(year: int) -> Mapping[date, str]:
    """The US federal holidays that fall in ``year``: each date with its name.

    Both the date itself and, when it falls on a weekend, the weekday it is observed on are
    included (a group may skip either). New Year's Day of the next year falling on a Saturday
    is observed on December 31 of this one, and is included here.
    """
    fixed = [
        (date(year, 1, 1), "New Year's Day"),
        (date(year, 7, 4), "Independence Day"),
        (date(year, 11, 11), "Veterans Day"),
        (date(year, 12, 25), "Christmas Day"),
    ]
    if year >= 2021:  # Juneteenth National Independence Day Act, June 17, 2021
        fixed.append((date(year, 6, 19), "Juneteenth"))
    holidays: dict[date, str] = {}
    for day, name in fixed:
        holidays[day] = name
        observed = _observed(day)
        if observed != day and observed.year == year:
            holidays[observed] = f"{name} (observed)"
    if date(year + 1, 1, 1).weekday() == _SATURDAY:
        holidays[date(year, 12, 31)] = "New Year's Day (observed)"
    holidays[_nth(year, 1, _MONDAY, 3)] = "Martin Luther King Jr. Day"
    holidays[_nth(year, 2, _MONDAY, 3)] = "Presidents' Day (Washington's Birthday)"
    holidays[_nth(year, 5, _MONDAY, -1)] = "Memorial Day"
    holidays[_nth(year, 9, _MONDAY, 1)] = "Labor Day"
    holidays[_nth(year, 10, _MONDAY, 2)] = "Columbus Day (Indigenous Peoples' Day)"
    holidays[_nth(year, 11, _THURSDAY, 4)] = "Thanksgiving Day"
    return MappingProxyType(dict(sorted(holidays.items())))


def holiday_name(day: date) -> str:
    """The federal holiday ``day`` is (or is observed on), or ``""``."""
    return federal_holidays(day.year).get(day, "")


# --- the run ---------------------------------------------------------------------------------


def python_weekday(sunday_based: int) -> int:
    """Meeting Guide's weekday (Sunday = 0) as Python's (Monday = 0)."""
    if not 0 <= sunday_based <= 6:
        raise ValueError(f"A weekday is 0 (Sunday) to 6 (Saturday), not {sunday_based}.")
    return (sunday_based - 1) % 7


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _scheduled_in_week(monday: date, schedule: frozenset[int]) -> list[date]:
    return [monday + timedelta(days=weekday) for weekday in sorted(schedule)]


def next_scheduled(weekdays: Iterable[int], *, after: date, count: int) -> tuple[date, ...]:
    """The next ``count`` dates after ``after`` on which the group meets, holidays left out."""
    schedule = frozenset(python_weekday(w) for w in weekdays)
    if not schedule or count <= 0:
        return ()
    found: list[date] = []
    day = after + timedelta(days=1)
    while len(found) < count:
        if day.weekday() in schedule and not holiday_name(day):
            found.append(day)
        day += timedelta(days=1)
    return tuple(found)


def run_of(
    meetings: Iterable[Meeting], weekdays: Iterable[int] = (), *, today: date | None = None
) -> Run:
    """The run of meetings in a row of one client at one group (VIII.G; the module's rule).

    ``weekdays``: the group's weekly meetings, Sunday = 0 (repeats are fine); empty when no
    schedule is known, and then weeks are counted (rule 5). ``today``: the next scheduled
    dates are counted from it (none without it).
    """
    schedule = frozenset(python_weekday(w) for w in weekdays)
    basis = Basis.SCHEDULE if schedule else Basis.WEEKS
    documented: dict[date, bool] = {}
    for meeting in meetings:
        # One meeting a day at one group (the database's constraint); should two arrive, the
        # client was there if either says so.
        documented[meeting.on_date] = documented.get(meeting.on_date, False) or meeting.attended
    days = sorted(documented)
    last = days[-1] if days else None
    attended_days = [day for day in days if documented[day]]
    current = longest = 0
    skipped: list[date] = []
    if attended_days:
        first = attended_days[0]
        by_week: defaultdict[date, list[date]] = defaultdict(list)
        for day in days:
            if day >= first:
                by_week[_monday(day)].append(day)
        week = _monday(first)
        while week <= last:
            in_week = by_week.get(week, [])
            went = any(documented[day] for day in in_week)
            if schedule:
                for day in in_week:  # in date order
                    if documented[day]:
                        current += 1
                        longest = max(longest, current)
                    else:
                        current = 0  # rule 3: documented as missed
                if not went:
                    undocumented = [
                        day
                        for day in _scheduled_in_week(week, schedule)
                        if first <= day <= last and day not in documented
                    ]
                    holidays = [day for day in undocumented if holiday_name(day)]
                    skipped += holidays
                    if len(undocumented) > len(holidays):
                        current = 0  # rule 4: the group met, the client did not go
            elif went:
                current += 1  # rule 5: one a week, however many meetings that week
                longest = max(longest, current)
            else:
                current = 0
            week += timedelta(days=7)
    needed = 0 if longest >= SIX else SIX - current
    upcoming = next_scheduled(weekdays, after=today, count=needed) if today else ()
    return Run(
        current=current,
        longest=longest,
        basis=basis,
        last_documented=last,
        skipped_holidays=tuple(skipped),
        next_dates=upcoming,
    )


def runs_by_group(
    records: Iterable[tuple[int, date, bool]],
    schedules: Mapping[int, Iterable[int]],
    *,
    group_ids: Iterable[int] = (),
    today: date | None = None,
) -> dict[int, Run]:
    """One run per group, each counted on its own: ``records`` are (group id, date, attended)
    rows, ``schedules`` the weekdays (Sunday = 0) each group meets on. Groups named in
    ``group_ids`` with no records get an empty run (with their next dates)."""
    meetings: defaultdict[int, list[Meeting]] = defaultdict(list)
    for group_id, on_date, attended in records:
        meetings[group_id].append(Meeting(on_date, attended))
    ids = list(dict.fromkeys([*group_ids, *meetings]))
    return {gid: run_of(meetings[gid], schedules.get(gid, ()), today=today) for gid in ids}


# --- documenting attendance (IX.A): parsing and checking the dates typed -----------------------

# At most this many dates in one submission (a year of weekly meetings, and some).
MAX_DATES = 60
# Dates further back than this are a typing mistake more often than a meeting.
OLDEST_YEARS = 10
# The directory's weekdays, Sunday = 0 (Meeting Guide's numbering, ``directory.Meeting``).
WEEKDAY_NAMES = dict(
    enumerate(("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"))
)
ALREADY_DOCUMENTED = "Already documented for this client and group"


@dataclass(frozen=True)
class Problem:
    """Why a submission was refused: the form field it belongs to, a code, plain words."""

    field: str
    code: str
    message: str


class AttendanceRefused(Exception):
    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(" ".join(p.message for p in self.problems))


def spoken(day: date) -> str:
    """June 2, 2026 → "Tuesday, June 2, 2026" (no locale-dependent padding)."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def _listed(days: Iterable[date]) -> str:
    return "; ".join(spoken(d) for d in sorted(days))


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_US_SHORT_YEAR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2})$")


def parse_dates(text: str) -> tuple[list[date], list[Problem]]:
    """The dates typed (one a line, or separated by commas), each as 2026-06-02 or 6/2/2026.

    Returns the dates in the order typed (repeats kept, for ``entry_problems`` to name) and
    one problem per entry that is not a real date, so that every bad one is listed at once.
    """
    tokens = [t for t in re.split(r"[\s,;]+", text or "") if t]
    dates: list[date] = []
    problems: list[Problem] = []
    for token in tokens:
        shown = token[:20]
        if _US_SHORT_YEAR.match(token):
            problems.append(
                Problem("dates", "short-year", f"“{shown}”: write the year in full (6/2/2026).")
            )
            continue
        if match := _ISO.match(token):
            year, month, day = (int(g) for g in match.groups())
        elif match := _US.match(token):
            month, day, year = (int(g) for g in match.groups())
        else:
            problems.append(
                Problem(
                    "dates",
                    "not-a-date",
                    f"“{shown}” is not a date: write dates as 2026-06-02 or 6/2/2026.",
                )
            )
            continue
        try:
            dates.append(date(year, month, day))
        except ValueError:
            problems.append(Problem("dates", "impossible", f"“{shown}” is not a real date."))
    if not tokens:
        problems.append(Problem("dates", "required", "Enter at least one date."))
    elif len(tokens) > MAX_DATES:
        problems.append(
            Problem(
                "dates",
                "too-many",
                f"Enter at most {MAX_DATES} dates at a time; there are {len(tokens)}.",
            )
        )
    return dates, problems


def oldest_accepted(today: date) -> date:
    """The earliest date a meeting may be documented for (the first of the month, ten years
    back): older is almost always a mistyped year."""
    return date(today.year - OLDEST_YEARS, today.month, 1)


def entry_problems(
    *,
    dates: Sequence[date],
    today: date,
    referred_on: date | None,
    reason: str,
    already: Mapping[date, str],
    meeting_weekday: int | None = None,
) -> list[Problem]:
    """Every reason to refuse these dates for one client and group (IX.A), all at once.

    ``already``: the dates documented before for this client and group, with their status.
    ``meeting_weekday``: the weekday (Sunday = 0) of the meeting named, if one was.
    """
    problems: list[Problem] = []
    if not dates:
        problems.append(Problem("dates", "required", "Enter at least one date."))
    future = sorted({d for d in dates if d > today})
    if future:
        problems.append(
            Problem(
                "dates",
                "future",
                "Document meetings that have happened; in the future: " + _listed(future) + ".",
            )
        )
    oldest = oldest_accepted(today)
    too_old = sorted({d for d in dates if d < oldest})
    if too_old:
        problems.append(
            Problem(
                "dates",
                "too-old",
                f"More than {OLDEST_YEARS} years ago (check the year): " + _listed(too_old) + ".",
            )
        )
    seen: set[date] = set()
    repeated = sorted({d for d in dates if d in seen or seen.add(d)})
    if repeated:
        problems.append(
            Problem(
                "dates",
                "repeated",
                "Each date once, please; given twice: " + _listed(repeated) + ".",
            )
        )
    recorded = sorted(set(dates) & set(already))
    if recorded:
        problems.append(
            Problem(
                "dates",
                "already-documented",
                f"{ALREADY_DOCUMENTED}: "
                + "; ".join(f"{spoken(d)} ({already[d]})" for d in recorded)
                + ". Each meeting is documented once; remove these dates.",
            )
        )
    if meeting_weekday is not None:
        weekday = python_weekday(meeting_weekday)
        elsewhere = sorted({d for d in dates if d.weekday() != weekday})
        if elsewhere:
            problems.append(
                Problem(
                    "meeting",
                    "other-weekday",
                    f"The meeting chosen is on {WEEKDAY_NAMES[meeting_weekday]}s, and these "
                    "dates are not: " + _listed(elsewhere) + ". Choose “Not known” or that "
                    "day's meeting, or document those dates separately.",
                )
            )
    if referred_on is not None and not reason.strip():
        before = sorted({d for d in dates if d < referred_on})
        if before:
            problems.append(
                Problem(
                    "before_referral_reason",
                    "before-referral",
                    f"Before the client was referred to this group ({spoken(referred_on)}): "
                    + _listed(before)
                    + ". Give a reason (for example, the client was already going) or "
                    "correct the dates.",
                )
            )
    return problems
