"""Six scheduled meetings in a row (policy VIII.G), as a pure rule over documented attendance.

The rule, as the pages state it: per client and group, meetings are taken in date order; each
meeting documented as attended adds one to the run, and a meeting documented as missed breaks
it. A run of six reaches the policy's "six scheduled self-help meetings in a row". The longest
run so far and the current run are both reported: the first says whether the client ever got
there, the second how they are doing now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

SIX = 6  # VIII.G


@dataclass(frozen=True)
class Meeting:
    on_date: date
    attended: bool


@dataclass(frozen=True)
class Run:
    current: int
    longest: int

    @property
    def reached_six(self) -> bool:
        return self.longest >= SIX

    @property
    def progress(self) -> int:
        """0 to 6 for the page: the best run so far, capped at six."""
        return min(self.longest, SIX)


def run_of(meetings: Iterable[Meeting]) -> Run:
    current = longest = 0
    for meeting in sorted(meetings, key=lambda m: m.on_date):
        current = current + 1 if meeting.attended else 0
        longest = max(longest, current)
    return Run(current=current, longest=longest)
