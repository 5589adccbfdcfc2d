"""Periods of whole days in local time, as the documentation pages ask for them.

The supervisor's review and the note for the clinical record both cover "from this day to that
day, both included" (default: the last 90 days). A ``Period`` turns such a span into filters on
a date or a datetime column (local midnight to local midnight, stored in UTC); the checks here
say in plain words what is wrong with a span typed or put in an address. Imports no app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone

DEFAULT_DAYS = 90  # the last 90 days, today included
MAX_DAYS = 731  # two years: beyond that the review's weekly chart has too many bars to read
EARLIEST = date(2000, 1, 1)
US_DATE_FORMAT = "%m/%d/%Y"


def local_midnight(day: date) -> datetime:
    """Local midnight starting ``day`` (Los Angeles), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def monday(day: date) -> date:
    """The Monday of ``day``'s ISO week (what ``TruncWeek`` gives)."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end``, both included, in local time."""

    start: date
    end: date

    @classmethod
    def default(cls, today: date, days: int = DEFAULT_DAYS) -> Period:
        """The last ``days`` days, today included."""
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def moments(self, field_name: str) -> Q:
        """A datetime field within the period: from local midnight of the first day to local
        midnight after the last (stored in UTC; compared as moments)."""
        return Q(
            **{
                f"{field_name}__gte": local_midnight(self.start),
                f"{field_name}__lt": local_midnight(self.end + timedelta(days=1)),
            }
        )

    def dates(self, field_name: str) -> Q:
        """A date field within the period."""
        return Q(**{f"{field_name}__range": (self.start, self.end)})

    def weeks(self) -> list[date]:
        """The Mondays of every ISO week the period touches, in order."""
        first, last = monday(self.start), monday(self.end)
        return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]

    @property
    def log_id(self) -> str:
        """The period as the access log's object id: dates, never anything about a client."""
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def as_query(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


DATE_MESSAGES = {"invalid": "Enter a date as YYYY-MM-DD, for example 2026-03-31."}


def date_input():
    return forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


def period_problems(start: date, end: date, today: date) -> dict[str, str]:
    """What is wrong with a period, by field ("start", "end"); empty when it is fine."""
    problems = {}
    if end > today:
        problems["end"] = f"The period cannot end after today ({today:%b %-d, %Y})."
    elif end < EARLIEST:
        problems["end"] = f"Choose an end from {EARLIEST:%B %-d, %Y} onwards."
        return problems
    if start < EARLIEST:
        problems["start"] = f"Choose a start from {EARLIEST:%B %-d, %Y} onwards."
    elif start > end:
        problems["start"] = (
            f"The period starts ({start:%b %-d, %Y}) after it ends ({end:%b %-d, %Y}): "
            "choose a start on or before the end."
        )
    elif (end - start).days + 1 > MAX_DAYS:
        problems["start"] = (
            f"Choose a period of at most {MAX_DAYS} days (two years); this one has "
            f"{(end - start).days + 1}."
        )
    return problems


def us_day(value: date) -> str:
    """06/02/2026: the date as a clinical record in the county writes it."""
    return value.strftime(US_DATE_FORMAT)


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadPeriod(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def parse_period(
    params: Mapping[str, str], *, today: date, max_days: int, default_days: int = DEFAULT_DAYS
) -> tuple[date, date]:
    """``start`` and ``end`` (YYYY-MM-DD) from the query string, or the last ``default_days``.

    A missing end is today; a missing start is ``default_days`` back from the end (both days
    counted). Raises ``BadPeriod`` with every problem in plain words.
    """
    problems: list[str] = []
    values: dict[str, date | None] = {}
    for key, label in (("start", "start"), ("end", "end")):
        text = (params.get(key) or "").strip()
        values[key] = None
        if not text:
            continue
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError
            values[key] = date.fromisoformat(text)
        except ValueError:
            problems.append(f"The {label} date “{text[:20]}” is not a date (use YYYY-MM-DD).")
    if problems:
        raise BadPeriod(problems)
    end = values["end"] or today
    start = values["start"] or max(date.min, days_before(end, default_days - 1))
    if end > today:
        problems.append(f"The end date {us_day(end)} is in the future; the latest is today.")
    if start > today:
        problems.append(f"The start date {us_day(start)} is in the future.")
    elif end < start:
        problems.append(f"The end date {us_day(end)} is before the start date {us_day(start)}.")
    elif (end - start).days + 1 > max_days:
        problems.append(f"A note covers at most {max_days} days; choose a shorter period.")
    if problems:
        raise BadPeriod(problems)
    return start, end


def days_before(day: date, days: int) -> date:
    """``day`` minus ``days``, or the earliest date there is rather than an overflow."""
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min
