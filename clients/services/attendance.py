"""IX.A: documenting one client's meetings at one group, all dates or none.

``record_attendance`` saves one or several dates in one transaction, then brings every
referral of the client that chose that group to the status the attendance implies
(``sync_status``: the first attendance makes a referral "attending", six scheduled meetings in
a row "engaged", VIII.G).

Refusals (``AttendanceRefused``, every problem at once, nothing saved): dates in the future,
more than ten years ago, given twice, or already documented for that client and group (the
database's unique constraint backs this up against a double submit: a second insert of the
same day fails and is reported as the same "already documented" message); dates before the
client was referred to that group without a reason (IX.A: "the client may already have been
going"); a meeting of another group, or on another weekday than the dates given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import IntegrityError, transaction
from simple_history.utils import bulk_create_with_history

from clients.models import Attendance, Client
from clients.rules.attendance import ALREADY_DOCUMENTED, AttendanceRefused, Problem
from clients.selectors.attendance import problems_for
from directory.models import Group, Meeting
from referrals.models import Referral, ReferredGroup
from referrals.services.procedure import sync_advocate_sessions, sync_status


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
                sync_status(referral=referral, by=by)
                if accompanied:
                    # VIII.H: "advocate went" is the step's own fact, not entered twice.
                    sync_advocate_sessions(referral=referral, by=by)
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
