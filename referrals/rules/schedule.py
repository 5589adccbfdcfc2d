"""Planned dates for VIII.G ("six scheduled self-help meetings in a row"), pure.

A group's meetings are weekly (the directory stores a weekday, Sunday = 0 as in the Meeting
Guide format, and a start time). The next six dates are the next six occurrences of any of
them, from the day after the referral.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta

SIX = 6


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
