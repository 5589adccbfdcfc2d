"""The reads behind the note for the clinical record (IX.A–B): the client and ``gather``.

``note_clients`` and ``gather``: a fixed number of queries however many attendance rows the
client has (the period bounds the rows read; counts are SQL aggregates). The note itself, from
the data gathered here, is ``clients/rules/record_note.py``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from clients.models import Attendance, Client, Feedback
from clients.rules.attendance import Meeting
from clients.rules.record_note import (
    DATES_SHOWN,
    AttendedDate,
    GroupAttendance,
    NoteData,
    NoteFeedback,
    NoteGroup,
    NoteReferral,
    six_in_a_row,
)
from core.periods import local_midnight, us_day
from directory.models import Group
from referrals.models import Referral, ReferredGroup


def note_clients():
    """Clients with their clinic's name, for the note's heading (one query for one client)."""
    return Client.objects.select_related("clinic")


def gather(client: Client, *, start: date, end: date, prepared_by, today: date) -> NoteData:
    """Everything the note says, in six queries whatever the number of rows.

    The referrals active in the period (created by its end, and not closed before its start)
    with their screenings; their chosen groups; attendance counts per group (one aggregate);
    the period's attendance dates per group (bounded by the period: at most one row per group
    and day); the period's feedback with its review flag; and the needs of every group named.
    Every read is fenced by the client's clinic too.
    """
    clinic_id = client.clinic_id
    period_start, period_after = local_midnight(start), local_midnight(end + timedelta(days=1))

    referrals = list(
        Referral.objects.filter(client=client, clinic_id=clinic_id, created_at__lt=period_after)
        .filter(~Q(status=Referral.Status.CLOSED) | Q(closed_at__gte=period_start))
        .select_related("screening")
        .only(
            "id",
            "status",
            "close_reason",
            "referred_at",
            "created_at",
            "screening__id",
            "screening__answers",
        )
        .order_by("created_at", "id")
    )
    chosen = list(
        ReferredGroup.objects.filter(referral__in=[r.pk for r in referrals])
        .order_by("referral_id", "suggested_rank", "id")
        .values_list("referral_id", "group_id", "group__name")
    )
    in_period = Attendance.objects.filter(
        client=client, clinic_id=clinic_id, on_date__gte=start, on_date__lte=end
    )
    counts = list(
        in_period.values("group_id", "group__name")
        .annotate(
            attended=Count("pk", filter=Q(status=Attendance.Status.ATTENDED)),
            missed=Count("pk", filter=Q(status=Attendance.Status.MISSED)),
            accompanied=Count("pk", filter=Q(status=Attendance.Status.ATTENDED, accompanied=True)),
        )
        .order_by("group__name", "group_id")
    )
    dates = in_period.order_by("group_id", "on_date").values_list(
        "group_id", "on_date", "status", "accompanied"
    )
    feedback = list(
        Feedback.objects.filter(
            client=client, clinic_id=clinic_id, given_on__gte=start, given_on__lte=end
        )
        .select_related("group", "review_flag")
        .order_by("given_on", "id")
    )
    group_ids = {g for _, g, _ in chosen} | {c["group_id"] for c in counts}
    group_ids |= {f.group_id for f in feedback}
    needs: dict[int, set[str]] = defaultdict(set)
    for group_id, slug in Group.needs.through.objects.filter(group_id__in=group_ids).values_list(
        "group_id", "need__slug"
    ):
        needs[group_id].add(slug)

    def group(pk: int, name: str) -> NoteGroup:
        return NoteGroup(pk=pk, name=name, needs=frozenset(needs[pk]))

    by_referral: dict[int, list[NoteGroup]] = defaultdict(list)
    for referral_id, group_id, name in chosen:
        by_referral[referral_id].append(group(group_id, name))

    meetings: dict[int, list[tuple[date, str, bool]]] = defaultdict(list)
    for group_id, on_date, status, accompanied in dates:
        meetings[group_id].append((on_date, status, accompanied))

    return NoteData(
        client_name=f"{client.first_name} {client.last_name}",
        record_number=client.record_number,
        clinic_name=client.clinic.name,
        start=start,
        end=end,
        prepared_by=prepared_by.get_full_name() or prepared_by.get_username(),
        prepared_on=today,
        referrals=tuple(
            NoteReferral(
                pk=r.pk,
                status=_status(r),
                referred_on=timezone.localdate(r.referred_at) if r.referred_at else None,
                groups=tuple(by_referral[r.pk]),
                indications=_indications(r.screening.answers),
            )
            for r in referrals
        ),
        attendance=tuple(
            _group_attendance(group(c["group_id"], c["group__name"]), c, meetings[c["group_id"]])
            for c in counts
        ),
        feedback=tuple(
            NoteFeedback(
                given_on=f.given_on,
                group=group(f.group_id, f.group.name),
                frequency=_label(Feedback.Frequency, f.frequency),
                observations=f.observations,
                concerns=f.concerns,
                concern_kinds=tuple(_label(Feedback.Concern, k) for k in f.concern_kinds or ()),
                review=_review(f.review_flag),
            )
            for f in feedback
        ),
    )


def _group_attendance(group: NoteGroup, counts: dict, rows: list) -> GroupAttendance:
    attended = [AttendedDate(d, accompanied) for d, s, accompanied in rows if s == "attended"]
    missed = [d for d, s, _ in rows if s == "missed"]
    return GroupAttendance(
        group=group,
        attended=counts["attended"],
        missed=counts["missed"],
        accompanied=counts["accompanied"],
        attended_dates=tuple(reversed(attended[-DATES_SHOWN:])),
        missed_dates=tuple(reversed(missed[-DATES_SHOWN:])),
        run=six_in_a_row(Meeting(on_date=d, attended=s == "attended") for d, s, _ in rows),
    )


def _status(referral: Referral) -> str:
    label = _label(Referral.Status, referral.status)
    if referral.status == Referral.Status.CLOSED and referral.close_reason:
        label += f" ({_label(Referral.CloseReason, referral.close_reason)})"
    return label


def _indications(answers) -> tuple[str, ...]:
    found = answers.get("indications") if isinstance(answers, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(str(i.get("code", "")) for i in found if isinstance(i, dict))


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _review(flag) -> str:
    """The state of the review flag a concern opened (VI.C), as the clinician may see it."""
    if flag is None:
        return ""
    if flag.resolved_at is None:
        return f"open since {us_day(timezone.localdate(flag.opened_at))}; a site admin is reviewing"
    text = f"resolved {us_day(timezone.localdate(flag.resolved_at))}"
    if flag.resolution_note.strip():
        text += f": {flag.resolution_note.strip()}"
    return text
