"""Reads for the procedure VIII.A–K: the facts its rules need, and six in a row (VIII.G).

``procedure_facts`` reads what the pure rules (``referrals/rules/procedure.py``) ask about a
referral. ``runs_for`` gives a client's run of meetings in a row at each group, from the record.

Reads the attendance documented in ``clients`` (its model and its pure rules, never its
documentation modules) and the groups' weekdays from the directory. At most the latest
``RUN_WINDOW`` documented meetings of each group are read (a window function, not a Python loop
over every row), so each read is a fixed number of queries whatever the number of records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from django.db.models import Case, Count, F, Min, Q, Sum, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from clients.models import Attendance, PeerContact
from clients.rules import attendance as attendance_rules
from directory.models import Meeting
from referrals.models import FollowUp, ProcedureStep, Referral
from referrals.rules import procedure

# The run of meetings in a row is counted from at most this many of the latest documented
# meetings of a client at a group (see the module docstring of clients/rules/attendance.py).
RUN_WINDOW = 200


def latest_per_group(queryset, limit: int):
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


def _records(client_id: int, ids: list[int]):
    """The client's latest ``RUN_WINDOW`` records at each group, each row carrying how many
    meetings the client attended at that group in all (a window over every record, counted
    before the latest are kept): one query."""
    attended_here = Window(
        Sum(Case(When(status=Attendance.Status.ATTENDED, then=1), default=0)),
        partition_by=[F("group_id")],
    )
    return latest_per_group(
        Attendance.objects.filter(client_id=client_id, group_id__in=ids).annotate(
            attended_here=attended_here
        ),
        RUN_WINDOW,
    ).values_list("group_id", "on_date", "status", "attended_here")


def runs_and_attended(
    client_id: int,
    group_ids: Iterable[int],
    *,
    schedules: Mapping[int, Iterable[int]],
    today: date | None = None,
) -> tuple[dict[int, attendance_rules.Run], dict[int, int]]:
    """VIII.G's runs at each group (as ``runs_for``) and the meetings attended at each group
    (IX.A, every record, not only the window's): one query, the schedules being known."""
    ids = list(dict.fromkeys(group_ids))
    rows, attended = [], {}
    for group_id, on_date, status, attended_here in _records(client_id, ids):
        rows.append((group_id, on_date, status == Attendance.Status.ATTENDED))
        attended[group_id] = attended_here or 0
    runs = attendance_rules.runs_by_group(
        rows, schedules, group_ids=ids, today=today or timezone.localdate()
    )
    return runs, attended


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
    records = latest_per_group(
        Attendance.objects.filter(client_id=client_id, group_id__in=ids), RUN_WINDOW
    )
    rows = [
        (group_id, on_date, status == Attendance.Status.ATTENDED)
        for group_id, on_date, status in records.values_list("group_id", "on_date", "status")
    ]
    if schedules is None:
        schedules = schedules_for(ids)
    return attendance_rules.runs_by_group(
        rows, schedules, group_ids=ids, today=today or timezone.localdate()
    )


# A popular group gathers contact persons from clinics across the county, hundreds in time;
# the clinician needs one to call. The page lists at most this many per group.
PEERS_OFFERED_PER_GROUP = 10


def followup_facts(referral: Referral, *, today: date | None = None) -> dict:
    """VIII.J: how many follow-ups the referral has, how many are recorded, the next open one
    and whether one is due now (one aggregate query)."""
    today = today or timezone.localdate()
    open_ = Q(done_at__isnull=True)
    counts = FollowUp.objects.filter(referral=referral).aggregate(
        scheduled=Count("pk"),
        done=Count("pk", filter=~open_),
        next_on=Min("due_on", filter=open_),
    )
    return _followup_figures(counts["scheduled"], counts["done"], counts["next_on"], today)


def followup_facts_of(followups: Iterable[FollowUp], *, today: date) -> dict:
    """``followup_facts`` from the referral's follow-ups already read (no query)."""
    followups = list(followups)
    open_dates = [f.due_on for f in followups if f.done_at is None]
    return _followup_figures(
        len(followups), len(followups) - len(open_dates), min(open_dates, default=None), today
    )


def _followup_figures(scheduled: int, done: int, next_on: date | None, today: date) -> dict:
    return {
        "followups_scheduled": scheduled,
        "followups_done": done,
        "next_followup_on": next_on,
        "followup_due_now": next_on is not None and next_on <= today,
    }


def facts_of(
    referral: Referral,
    *,
    groups_chosen: int,
    attended: int,
    runs: Mapping[int, attendance_rules.Run],
    steps: Mapping[str, str],
    active_peer_contacts: int,
    followups: Mapping,
) -> procedure.ReferralFacts:
    """The procedure's facts from what a page has read already (no query)."""
    return procedure.ReferralFacts(
        status=procedure.Status(referral.status),
        close_reason=referral.close_reason,
        approval=referral.approval,
        groups_chosen=groups_chosen,
        attended=attended,
        six_in_a_row=any(run.reached_six for run in runs.values()),
        steps={code: procedure.StepStatus(status) for code, status in steps.items()},
        active_peer_contacts=active_peer_contacts,
        **followups,
    )


def procedure_facts(referral: Referral, *, today: date | None = None) -> procedure.ReferralFacts:
    """What the procedure's rules need to know about a referral: seven small queries."""
    group_ids = list(referral.groups.values_list("group_id", flat=True))
    runs = runs_for(referral.client_id, group_ids)
    attended = Attendance.objects.filter(
        client_id=referral.client_id, group_id__in=group_ids, status=Attendance.Status.ATTENDED
    ).count()
    # The rules ask only whether there is one (VIII.C waits on a peer): counted up to
    # PEERS_OFFERED_PER_GROUP, not through a popular group's hundreds.
    peers = (
        PeerContact.objects.filter(group_id__in=group_ids, status=PeerContact.Status.ACTIVE)
        .exclude(client_id=referral.client_id)
        .order_by()[:PEERS_OFFERED_PER_GROUP]
        .count()
    )
    return facts_of(
        referral,
        groups_chosen=len(group_ids),
        attended=attended,
        runs=runs,
        steps=dict(ProcedureStep.objects.filter(referral=referral).values_list("code", "status")),
        active_peer_contacts=peers,
        followups=followup_facts(referral, today=today),
    )
