"""Writes that keep the list current (policy VII.D): the verification call and its answers,
clinicians' reports about a listing.

The call's answers reach the listing in one transaction: the VI.C stance from the two neutral
questions, II.A–H as meets / does not meet / not confirmed, fees, languages, meetings, and the
verification date, each row's history naming the call as its source.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from directory.models import (
    Criterion,
    CriterionConfirmation,
    Group,
    Meeting,
    ReviewFlag,
    VerificationCall,
)
from directory.rules.currency import REPORT_CHOICES, Answer, Outcome, stance_from_answers
from directory.rules.listings import MEETING_FIELDS, RowEdit
from directory.selectors.manage import local_today
from directory.services.listings import _apply_rows, _locked, _save

CALL_REASON = "Verification call"


@dataclass(frozen=True)
class CallAnswers:
    """What the group said when reached. ``None`` leaves a part of the listing as it was."""

    encourages_stopping: Answer = Answer.NOT_ASKED
    full_members: Answer = Answer.NOT_ASKED
    criteria: Mapping[str, str] = field(default_factory=dict)  # "II.A" -> a status value
    fees_note: str | None = None
    languages: Iterable | None = None  # Language objects
    meetings: Sequence[RowEdit] = ()


@transaction.atomic
def record_call(
    *,
    group: Group,
    outcome: str,
    by,
    on: date | None = None,
    number_called: str = "",
    spoke_with: str = "",
    note: str = "",
    answers: CallAnswers | None = None,
) -> VerificationCall:
    """Record one attempt; when the group was reached, its answers update the listing and
    mark it verified (VII.D), all in this one transaction."""
    if outcome not in VerificationCall.Outcome.values:
        raise ValueError(f"Unknown outcome: {outcome}")
    on = on or local_today()
    group = _locked(group)
    answers = answers or CallAnswers()
    call = VerificationCall.objects.create(
        group=group,
        called_on=on,
        called_by=by,
        outcome=outcome,
        number_called=number_called[:40],
        spoke_with=spoke_with[:100],
        encourages_stopping=answers.encourages_stopping if outcome == Outcome.REACHED else "",
        full_members=answers.full_members if outcome == Outcome.REACHED else "",
        note=note,
    )
    if outcome != Outcome.REACHED:
        return call

    reason = f"{CALL_REASON} of {on.isoformat()}"
    _set_criteria(group, answers.criteria, by=by, reason=reason)
    if answers.meetings:
        _apply_meetings(group, answers.meetings, by=by, reason=reason)

    # VI.C: only answers given change the stance; a call that did not ask keeps what is known.
    if (answers.encourages_stopping, answers.full_members) != (Answer.NOT_ASKED,) * 2:
        group.medication_stance = stance_from_answers(
            answers.encourages_stopping, answers.full_members
        ).value
    if answers.fees_note is not None:
        group.fees_note = answers.fees_note
    group.last_verified_on = on
    group.last_verified_by = by
    group.version += 1
    group._change_reason = reason
    m2m = {"languages": list(answers.languages)} if answers.languages is not None else None
    _save(group, by=by, m2m=m2m)
    return call


def _apply_meetings(group: Group, edits: Sequence[RowEdit], *, by, reason: str) -> None:
    started = timezone.now()
    _apply_rows(
        parent=group,
        model=Meeting,
        parent_field="group",
        edits=edits,
        fields=MEETING_FIELDS,
        m2m=(),
        by=by,
    )
    # The shared writer makes the rows itself; their history records (this transaction's, by
    # this caller) are given the call as their source afterwards, not through a class-wide
    # attribute another request's thread could see.
    Meeting.history.filter(
        group_id=group.pk,
        history_user=by,
        history_date__gte=started,
        history_change_reason__isnull=True,
    ).update(history_change_reason=reason)


def _set_criteria(group: Group, statuses: Mapping[str, str], *, by, reason: str) -> None:
    """II.A–H: each criterion whose status changes records who changed it, when, and why."""
    unknown = set(statuses) - set(Criterion.values)
    if unknown:
        raise ValueError(f"Unknown criteria: {sorted(unknown)}")
    bad = set(statuses.values()) - set(CriterionConfirmation.Status.values)
    if bad:
        raise ValueError(f"Unknown statuses: {sorted(bad)}")
    rows = {row.criterion: row for row in CriterionConfirmation.objects.filter(group=group)}
    now = timezone.now()
    for criterion, status in statuses.items():
        row = rows.get(criterion)
        if row is None:
            if status == CriterionConfirmation.Status.NOT_CONFIRMED:
                continue  # no row means not confirmed: nothing to record
            row = CriterionConfirmation(group=group, criterion=criterion)
        elif row.status == status:
            continue
        row.status = status
        row.confirmed_by = by
        row.confirmed_at = now
        row._change_reason = reason
        _save(row, by=by)


# --- Clinicians' one-click reports ------------------------------------------------------------


@transaction.atomic
def report_listing(*, group: Group, kind: str, note: str = "", by) -> ReviewFlag:
    """A clinician's report: a flag on the site admin's queue that moves the listing up for a
    verification call. The same open report twice (a double click) is one flag."""
    if kind not in REPORT_CHOICES:
        raise ValueError(f"Unknown report: {kind}")
    summary = f"Reported by a clinician: {REPORT_CHOICES[kind]}"
    _locked(group)
    same = ReviewFlag.objects.filter(
        group=group, summary=summary, resolved_at__isnull=True, opened_by=by
    ).first()
    if same is not None:
        return same
    flag = ReviewFlag(
        group=group,
        source=ReviewFlag.Source.CLINICIAN,
        summary=summary,
        detail=note.strip(),
        opened_by=by,
    )
    return _save(flag, by=by)
