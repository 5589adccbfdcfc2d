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

from django.db.models import Count, F, Min, Q, Window
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
    next_on = counts["next_on"]
    return {
        "followups_scheduled": counts["scheduled"],
        "followups_done": counts["done"],
        "next_followup_on": next_on,
        "followup_due_now": next_on is not None and next_on <= today,
    }


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
    return procedure.ReferralFacts(
        status=procedure.Status(referral.status),
        close_reason=referral.close_reason,
        approval=referral.approval,
        groups_chosen=len(group_ids),
        attended=attended,
        six_in_a_row=any(run.reached_six for run in runs.values()),
        steps={
            code: procedure.StepStatus(status)
            for code, status in ProcedureStep.objects.filter(referral=referral).values_list(
                "code", "status"
            )
        },
        active_peer_contacts=peers,
        **followup_facts(referral, today=today),
    )
