"""What the client's page and the attendance form read of the attendance documented (IX.A).

Each read is a fixed number of queries whatever the number of records: ``problems_for`` (two)
gives what the record says against the dates typed (the day the client was referred to the
group, the dates already documented there); ``attendance_summary`` (four) gives the client
page's section, counts from an aggregate and the run of meetings in a row (VIII.G) from at most
the latest ``RUN_WINDOW`` documented meetings of each group.

"Before the referral" is before the day the group was first chosen for any referral of this
client (``ReferredGroup.chosen_at``). A group the client was never referred to has no such
day: attendance there (a group the client found themself) needs no reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import CharField, Count, Max, Min, OuterRef, Q, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.utils import timezone

from clients.models import Attendance, Client
from clients.rules import attendance as attendance_rules
from clients.rules.attendance import WEEKDAY_NAMES, Problem, entry_problems
from core.rows import date_label
from directory.models import Group, Meeting
from referrals.models import ReferredGroup
from referrals.selectors.procedure import RUN_WINDOW, latest_per_group

# The client's page lists this many of the latest dates per group, and this many groups.
LATEST_SHOWN = 10
GROUP_LIMIT = 20


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


@dataclass(frozen=True)
class DocumentedMeeting:
    on_date: date
    attended: bool
    accompanied: bool
    source: str  # the label, as the page shows it
    before_referral: bool
    on_label: str = ""  # the date as the page shows it: formatted here, not by a filter per row


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


def _weekdays() -> Subquery:
    """The weekdays (Sunday = 0) the row's group meets on, as text ("1,3"), read with the
    group's row instead of in a query of their own."""
    days = (
        Meeting.objects.filter(group_id=OuterRef("group_id"))
        .order_by()
        .values("group_id")
        .annotate(days=StringAgg(Cast("weekday", CharField()), Value(",")))
        .values("days")
    )
    return Subquery(days, output_field=CharField())


def _days(text: str | None) -> list[int]:
    return sorted({int(day) for day in (text or "").split(",") if day})


def attendance_summary(client: Client, *, today: date | None = None) -> AttendanceSummary:
    """The client page's attendance section: per group (those the client was referred to
    first, then the others by their latest date), the counts, the latest dates and the run of
    meetings in a row. Three queries whatever the number of records:

    1. the counts per group (one aggregate over all the client's attendance),
    2. the groups chosen for the client's referrals, with the day first chosen,
    3. the latest ``RUN_WINDOW`` records of each group shown (a window function);

    the weekdays each group meets on come with the first two (``_weekdays``).
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
            weekdays=_weekdays(),
        )
        .order_by("-last_on", "group__name", "group_id")[: GROUP_LIMIT + 1]
    }
    referred = {
        row["group_id"]: row
        for row in ReferredGroup.objects.filter(
            referral__client=client, referral__clinic_id=client.clinic_id
        )
        .values("group_id", "group__name")
        .annotate(first=Min("chosen_at"), weekdays=_weekdays())
        .order_by("first", "group__name", "group_id")[:GROUP_LIMIT]
    }
    ids = list(dict.fromkeys([*referred, *counts]))
    more = len(ids) > GROUP_LIMIT
    ids = ids[:GROUP_LIMIT]
    sources = dict(Attendance.Source.choices)
    latest: defaultdict[int, list[DocumentedMeeting]] = defaultdict(list)
    rows = []
    window = latest_per_group(mine.filter(group_id__in=ids), RUN_WINDOW).order_by(
        "group_id", "-on_date"
    )
    for group_id, on_date, status, accompanied, source, reason in window.values_list(
        "group_id", "on_date", "status", "accompanied", "source", "before_referral_reason"
    ):
        rows.append((group_id, on_date, status == attended))
        if len(latest[group_id]) < LATEST_SHOWN:
            latest[group_id].append(
                DocumentedMeeting(
                    on_date=on_date,
                    on_label=date_label(on_date, "D N j, Y"),
                    attended=status == attended,
                    accompanied=accompanied,
                    source=sources.get(source, source),
                    before_referral=bool(reason),
                )
            )
    schedules = {
        group_id: _days((counts.get(group_id) or referred[group_id])["weekdays"])
        for group_id in ids
    }
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
