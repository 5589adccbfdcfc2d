"""Planned dates for VIII.G ("six scheduled self-help meetings in a row"), pure.

A group's meetings are weekly (the directory stores a weekday, Sunday = 0 as in the Meeting
Guide format, and a start time). The next six dates are the next six occurrences of any of
them, from the day after the referral.

The clinic's follow-up schedule (VIII.J, "at regular intervals"): the weeks after referral at
which its clinicians follow up, as a supervisor types them ("1, 3, 6"), read by ``parse_weeks``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta

SIX = 6
# The follow-up schedule: weeks from 1 to MAX_WEEK after the referral, at most MAX_ENTRIES.
MAX_WEEK = 52
MAX_ENTRIES = 8


@dataclass(frozen=True)
class WeeklyMeeting:
    weekday: int  # 0 = Sunday … 6 = Saturday
    start: time


@dataclass(frozen=True)
class PlannedMeeting:
    on_date: date
    start: time


def next_meetings(
    meetings: Iterable[WeeklyMeeting], *, after: date, count: int = SIX
) -> list[PlannedMeeting]:
    weekly = sorted(set(meetings), key=lambda m: (m.weekday, m.start))
    if not weekly:
        return []
    planned: list[PlannedMeeting] = []
    day = after + timedelta(days=1)
    while len(planned) < count:
        sunday_based = (day.weekday() + 1) % 7  # Python's Monday = 0
        planned += [PlannedMeeting(day, m.start) for m in weekly if m.weekday == sunday_based]
        day += timedelta(days=1)
    return planned[:count]


class BadWeeks(ValueError):
    """The weeks typed cannot be a schedule: every problem, in plain words."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


def parse_weeks(text: str) -> list[int]:
    """ "1, 3, 6" → [1, 3, 6]: whole weeks from 1 to 52, increasing, at most eight.

    Raises ``BadWeeks`` with every problem found, in plain words.
    """
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts:
        raise BadWeeks(["Enter at least one week, for example “1, 3, 6”."])
    errors = []
    weeks = []
    for part in parts:
        if not part.isdecimal():
            errors.append(f"“{part[:20]}” is not a whole number of weeks.")
        else:
            weeks.append(int(part))
    if len(parts) > MAX_ENTRIES:
        errors.append(f"Give at most {MAX_ENTRIES} follow-ups; you gave {len(parts)}.")
    out_of_range = [w for w in weeks if not 1 <= w <= MAX_WEEK]
    if out_of_range:
        errors.append(
            f"Weeks run from 1 to {MAX_WEEK} after the referral: "
            + ", ".join(str(w) for w in out_of_range)
            + (" is" if len(out_of_range) == 1 else " are")
            + " outside that."
        )
    if not errors and any(b <= a for a, b in zip(weeks, weeks[1:], strict=False)):
        errors.append(
            "List the weeks in increasing order, each once (for example “1, 3, 6”, not “3, 1”)."
        )
    if errors:
        raise BadWeeks(errors)
    return weeks
