"""Attendance documented from the client's page (IX.A), and what that page shows of it (VIII.G).

Writes: ``record_attendance`` saves one or several dates of one client at one group in one
transaction (all or nothing), then brings every referral of the client that chose that group
to the status the attendance implies (``services.sync_status``: the first attendance makes a
referral "attending", six scheduled meetings in a row "engaged"). It lives in ``referrals``, not
``clients``, because it updates referrals (dependencies point referrals → clients → directory).

Refusals (``AttendanceRefused``, every problem at once, nothing saved): dates in the future,
more than ten years ago, given twice, or already documented for that client and group (the
database's unique constraint backs this up against a double submit: a second insert of the
same day fails and is reported as the same "already documented" message); dates before the
client was referred to that group without a reason (IX.A: "the client may already have been
going"); a meeting of another group, or on another weekday than the dates given.

"Before the referral" is before the day the group was first chosen for any referral of this
client (``ReferredGroup.chosen_at``). A group the client was never referred to has no such
day: attendance there (a group the client found themself) needs no reason.

Reads, each a fixed number of queries whatever the number of records:
``runs_for`` (two) gives the run of meetings in a row per group; ``attendance_summary`` (four)
gives the client page's section. Both read at most the latest ``RUN_WINDOW`` documented
meetings of each group (a window function, not a Python loop over every row); counts come from
an aggregate over all of them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clients.models import Attendance, Client
from clients.rules import attendance as attendance_rules
from directory.models import Group, Meeting
from referrals.models import Referral, ReferredGroup
from referrals.services import referral as services

# At most this many dates in one submission (a year of weekly meetings, and some).
MAX_DATES = 60
# Dates further back than this are a typing mistake more often than a meeting.
OLDEST_YEARS = 10
# The run of meetings in a row is counted from at most this many of the latest documented
# meetings of a client at a group (see the module docstring of clients/rules/attendance.py).
RUN_WINDOW = 200
# The client's page lists this many of the latest dates per group, and this many groups.
LATEST_SHOWN = 10
GROUP_LIMIT = 20

WEEKDAY_NAMES = dict(Meeting.Weekday.choices)
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


# --- parsing and checking, pure ----------------------------------------------------------------

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
        python_weekday = attendance_rules.python_weekday(meeting_weekday)
        elsewhere = sorted({d for d in dates if d.weekday() != python_weekday})
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


# --- writes ------------------------------------------------------------------------------------


def referred_on(client_id: int, group_id: int) -> date | None:
    """The day the group was first chosen for a referral of this client (one query)."""
    first = ReferredGroup.objects.filter(
        referral__client_id=client_id, group_id=group_id
    ).aggregate(first=Min("chosen_at"))["first"]
    return timezone.localdate(first) if first else None


def problems_for(
    *,
    client: Client,
    group: Group | None,
    dates: Sequence[date],
    today: date,
    meeting: Meeting | None = None,
    reason: str = "",
) -> tuple[list[Problem], date | None]:
    """Every reason to refuse these dates (``entry_problems``), with what the record says:
    the day the client was referred to the group and the dates already documented there (two
    queries). Without a group (the form could not tell which), only the dates are checked.
    Returns the problems and the referral day."""
    problems: list[Problem] = []
    first_referred = None
    already: dict[date, str] = {}
    if group is not None:
        if group.archived_at is not None:
            problems.append(
                Problem("group", "archived", "That listing has been archived; choose another.")
            )
        if meeting is not None and meeting.group_id != group.pk:
            problems.append(Problem("meeting", "other-group", "That meeting is another group's."))
            meeting = None
        first_referred = referred_on(client.pk, group.pk)
        already = {
            on_date: Attendance.Status(value).label.lower()
            for on_date, value in Attendance.objects.filter(
                client=client, group=group, on_date__in=set(dates)
            ).values_list("on_date", "status")
        }
    problems += entry_problems(
        dates=dates,
        today=today,
        referred_on=first_referred,
        reason=reason,
        already=already,
        meeting_weekday=meeting.weekday if meeting is not None else None,
    )
    return problems, first_referred


def record_attendance(
    *,
    client: Client,
    group: Group,
    dates: Sequence[date],
    status: str,
    by,
    today: date,
    meeting: Meeting | None = None,
    accompanied: bool = False,
    source: str = Attendance.Source.CLIENT,
    before_referral_reason: str = "",
) -> list[Attendance]:
    """IX.A: document meetings of one client at one group, all or none, and bring the
    referrals that chose the group to the status this implies (VIII.G: six in a row)."""
    reason = before_referral_reason.strip()[:200]
    problems, first_referred = problems_for(
        client=client, group=group, dates=dates, today=today, meeting=meeting, reason=reason
    )
    if problems:
        raise AttendanceRefused(problems)
    rows = [
        Attendance(
            client=client,
            clinic_id=client.clinic_id,
            group=group,
            meeting=meeting,
            on_date=on_date,
            status=status,
            accompanied=accompanied,
            source=source,
            # Kept only on the dates it explains.
            before_referral_reason=(
                reason if first_referred is not None and on_date < first_referred else ""
            ),
            recorded_by=by,
        )
        for on_date in sorted(set(dates))
    ]
    try:
        with transaction.atomic():
            created = bulk_create_with_history(
                rows,
                Attendance,
                default_user=by,
                default_change_reason="IX.A attendance documented",
            )
            # Every referral of the client that chose this group, locked so that two
            # submissions at once each see the other's rows before storing a status.
            referrals = (
                Referral.objects.select_for_update()
                .filter(
                    client=client,
                    pk__in=ReferredGroup.objects.filter(group=group).values("referral_id"),
                )
                .order_by("pk")
            )
            for referral in referrals:
                services.sync_status(referral=referral, by=by)
    except IntegrityError:
        # Another request saved one of these days after the check above (a double submit):
        # the unique constraint refused it, and nothing of this submission was saved.
        raise AttendanceRefused(
            [
                Problem(
                    "dates",
                    "already-documented",
                    f"{ALREADY_DOCUMENTED}: one of these dates was saved a moment ago "
                    "(was the form sent twice?). Nothing more was saved; check the client's "
                    "page.",
                )
            ]
        ) from None
    return created


# --- reads -------------------------------------------------------------------------------------


def _latest(queryset, limit: int):
    """The latest ``limit`` rows of each group (one query: a window function)."""
    return queryset.annotate(
        newest=Window(RowNumber(), partition_by=[F("group_id")], order_by=F("on_date").desc())
    ).filter(newest__lte=limit)


def schedules_for(group_ids: Iterable[int]) -> dict[int, list[int]]:
    """The weekdays (Sunday = 0) each group meets on, from the directory (one query)."""
    schedules: defaultdict[int, list[int]] = defaultdict(list)
    rows = (
        Meeting.objects.filter(group_id__in=list(group_ids))
        .order_by()
        .values_list("group_id", "weekday")
        .distinct()
    )
    for group_id, weekday in rows:
        schedules[group_id].append(weekday)
    return dict(schedules)


def runs_for(
    client_id: int,
    group_ids: Iterable[int],
    *,
    today: date | None = None,
    schedules: Mapping[int, Iterable[int]] | None = None,
) -> dict[int, attendance_rules.Run]:
    """VIII.G: the run of meetings in a row of a client at each group, from the group's
    schedule: two queries (at most ``RUN_WINDOW`` records a group, then the weekdays), or one
    when the caller already has the groups' meetings and passes ``schedules`` ({group id:
    weekdays, Sunday = 0}; a group left out has no schedule known)."""
    ids = list(dict.fromkeys(group_ids))
    records = _latest(Attendance.objects.filter(client_id=client_id, group_id__in=ids), RUN_WINDOW)
    rows = [
        (group_id, on_date, status == Attendance.Status.ATTENDED)
        for group_id, on_date, status in records.values_list("group_id", "on_date", "status")
    ]
    if schedules is None:
        schedules = schedules_for(ids)
    return attendance_rules.runs_by_group(
        rows, schedules, group_ids=ids, today=today or timezone.localdate()
    )


@dataclass(frozen=True)
class DocumentedMeeting:
    on_date: date
    attended: bool
    accompanied: bool
    source: str  # the label, as the page shows it
    before_referral: bool


@dataclass(frozen=True)
class GroupAttendance:
    group_id: int
    name: str
    referred_on: date | None
    attended: int
    missed: int
    accompanied: int
    last_on: date | None
    latest: tuple[DocumentedMeeting, ...]
    weekdays: tuple[str, ...]  # the days the directory lists, Sunday first
    run: attendance_rules.Run

    @property
    def documented(self) -> int:
        return self.attended + self.missed

    @property
    def more_dates(self) -> int:
        return self.documented - len(self.latest)


@dataclass(frozen=True)
class AttendanceSummary:
    groups: tuple[GroupAttendance, ...]
    more_groups: bool
    today: date
    six: int = attendance_rules.SIX
    rule: tuple[str, ...] = attendance_rules.PLAIN_RULE
    latest_shown: int = LATEST_SHOWN

    @property
    def any_documented(self) -> bool:
        return any(g.documented for g in self.groups)


def attendance_summary(client: Client, *, today: date | None = None) -> AttendanceSummary:
    """The client page's attendance section: per group (those the client was referred to
    first, then the others by their latest date), the counts, the latest dates and the run of
    meetings in a row. Four queries whatever the number of records:

    1. the counts per group (one aggregate over all the client's attendance),
    2. the groups chosen for the client's referrals, with the day first chosen,
    3. the latest ``RUN_WINDOW`` records of each group shown (a window function),
    4. the weekdays each group shown meets on.
    """
    today = today or timezone.localdate()
    mine = Attendance.objects.filter(client=client, clinic_id=client.clinic_id)
    attended, missed = Attendance.Status.ATTENDED, Attendance.Status.MISSED
    counts = {
        row["group_id"]: row
        for row in mine.values("group_id", "group__name")
        .annotate(
            attended=Count("pk", filter=Q(status=attended)),
            missed=Count("pk", filter=Q(status=missed)),
            accompanied=Count("pk", filter=Q(status=attended, accompanied=True)),
            last_on=Max("on_date"),
        )
        .order_by("-last_on", "group__name", "group_id")[: GROUP_LIMIT + 1]
    }
    referred = {
        row["group_id"]: row
        for row in ReferredGroup.objects.filter(
            referral__client=client, referral__clinic_id=client.clinic_id
        )
        .values("group_id", "group__name")
        .annotate(first=Min("chosen_at"))
        .order_by("first", "group__name", "group_id")[:GROUP_LIMIT]
    }
    ids = list(dict.fromkeys([*referred, *counts]))
    more = len(ids) > GROUP_LIMIT
    ids = ids[:GROUP_LIMIT]
    sources = dict(Attendance.Source.choices)
    latest: defaultdict[int, list[DocumentedMeeting]] = defaultdict(list)
    rows = []
    window = _latest(mine.filter(group_id__in=ids), RUN_WINDOW).order_by("group_id", "-on_date")
    for group_id, on_date, status, accompanied, source, reason in window.values_list(
        "group_id", "on_date", "status", "accompanied", "source", "before_referral_reason"
    ):
        rows.append((group_id, on_date, status == attended))
        if len(latest[group_id]) < LATEST_SHOWN:
            latest[group_id].append(
                DocumentedMeeting(
                    on_date=on_date,
                    attended=status == attended,
                    accompanied=accompanied,
                    source=sources.get(source, source),
                    before_referral=bool(reason),
                )
            )
    schedules = schedules_for(ids)
    runs = attendance_rules.runs_by_group(rows, schedules, group_ids=ids, today=today)
    groups = []
    for group_id in ids:
        count = counts.get(group_id, {})
        first = referred.get(group_id, {}).get("first")
        groups.append(
            GroupAttendance(
                group_id=group_id,
                name=(count or referred[group_id])["group__name"],
                referred_on=timezone.localdate(first) if first else None,
                attended=count.get("attended", 0),
                missed=count.get("missed", 0),
                accompanied=count.get("accompanied", 0),
                last_on=count.get("last_on"),
                latest=tuple(latest[group_id]),
                weekdays=tuple(WEEKDAY_NAMES[w] for w in sorted(schedules.get(group_id, []))),
                run=runs[group_id],
            )
        )
    return AttendanceSummary(groups=tuple(groups), more_groups=more, today=today)


def form_groups(client: Client) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The listings to choose from: those chosen for the client's referrals first, then every
    other current listing by name (two queries)."""
    referred = list(
        Group.objects.current()
        .filter(pk__in=ReferredGroup.objects.filter(referral__client=client).values("group_id"))
        .order_by("name")
        .values_list("pk", "name")
    )
    seen = {pk for pk, _ in referred}
    others = [
        (pk, name)
        for pk, name in Group.objects.current().order_by("name").values_list("pk", "name")
        if pk not in seen
    ]
    return referred, others


def form_meetings(group_ids: Iterable[int]) -> list[Meeting]:
    """The directory's meetings of these groups, for "the meeting when known" (one query)."""
    return list(
        Meeting.objects.filter(group_id__in=list(group_ids))
        .select_related("group")
        .order_by("group__name", "weekday", "start_time", "id")[:200]
    )
