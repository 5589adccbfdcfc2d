"""Writes for the follow-ups (VIII.I–J): scheduled from the clinic's weeks, added, done."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from referrals.models import (
    FollowUp,
    FollowUpSchedule,
    ProcedureStep,
    Referral,
)
from referrals.rules import procedure
from referrals.selectors import procedure as procedure_selectors
from referrals.services.procedure import StepRefused, locked, sync_status


def schedule_weeks(clinic_id: int) -> list[int]:
    schedule = FollowUpSchedule.objects.filter(clinic_id=clinic_id).first()
    return (
        list(schedule.weeks)
        if schedule and schedule.weeks
        else list(FollowUpSchedule.DEFAULT_WEEKS)
    )


def schedule_followups(*, referral: Referral, start: date, by) -> list[FollowUp]:
    """VIII.J: follow-ups at the clinic's intervals after referral (default 1, 3, 6 weeks)."""
    weeks = schedule_weeks(referral.clinic_id)
    followups = FollowUp.objects.bulk_create(
        FollowUp(
            referral=referral,
            clinic_id=referral.clinic_id,
            clinician_id=referral.clinician_id,
            due_on=start + timedelta(weeks=w),
        )
        for w in weeks
    )
    return followups


def sync_reminder_step(*, referral: Referral, by) -> str:
    """VIII.J's stored step follows its follow-ups: done once every one is recorded, pending
    again when one is added. Pages derive it from the follow-ups anyway
    (``procedure.effective_status``); the stored row keeps lists that read it honest."""
    facts = procedure_selectors.procedure_facts(referral)
    settled = procedure.followups_settled(facts)
    status = ProcedureStep.Status.DONE if settled else ProcedureStep.Status.PENDING
    step = ProcedureStep.objects.filter(referral=referral, code=ProcedureStep.Code.J).first()
    if step is not None and step.status != status:
        step.status = status
        step.completed_by = by if settled else None
        step.completed_at = timezone.now() if settled else None
        step.note = procedure.followup_summary(facts)
        step._history_user = by
        step.save()
    return status


def add_followup(*, referral: Referral, due_on: date, by, today: date | None = None) -> FollowUp:
    today = today or timezone.localdate()
    if due_on < today:
        raise StepRefused(
            [procedure.Problem("VIII.J", "past-date", "A follow-up cannot be due in the past.")]
        )
    if referral.status == Referral.Status.CLOSED:
        raise StepRefused([procedure.Problem("VIII.J", "closed", "The referral is closed.")])
    if referral.status == Referral.Status.PREPARING:
        raise StepRefused(
            [
                procedure.Problem(
                    "VIII.J",
                    "no-group",
                    "Choose a group with the client (VIII.C) before adding follow-ups.",
                )
            ]
        )
    with transaction.atomic():
        locked(referral)
        # A double-clicked "Add" finds the first one and adds nothing.
        existing = FollowUp.objects.filter(
            referral=referral, due_on=due_on, done_at__isnull=True
        ).first()
        if existing is not None:
            return existing
        followup = FollowUp(
            referral=referral,
            clinic_id=referral.clinic_id,
            clinician_id=referral.clinician_id,
            due_on=due_on,
        )
        followup._history_user = by
        followup.save()
        sync_reminder_step(referral=referral, by=by)
    return followup


def complete_followup(*, followup: FollowUp, outcome: str, note: str, by) -> FollowUp:
    """A follow-up done once: the second of a double-clicked submit changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        moved = FollowUp.objects.filter(pk=followup.pk, done_at__isnull=True).update(
            done_at=now, done_by=by, outcome=outcome, note=note
        )
        followup.refresh_from_db()
        if moved:
            followup._history_user = by
            followup.save(update_fields=["note"])
            sync_status(referral=followup.referral, by=by)
            sync_reminder_step(referral=followup.referral, by=by)
    return followup


def save_schedule(*, clinic_id: int, weeks: list[int], by) -> bool:
    """Store the clinic's weeks, with who set them (history). False when nothing changed."""
    with transaction.atomic():
        schedule = FollowUpSchedule.objects.select_for_update().filter(clinic_id=clinic_id).first()
        if schedule is None:
            if weeks == list(FollowUpSchedule.DEFAULT_WEEKS):
                return False
            schedule = FollowUpSchedule(clinic_id=clinic_id)
        elif list(schedule.weeks) == weeks:
            return False
        schedule.weeks = weeks
        schedule.updated_by = by
        schedule._history_user = by
        schedule.save()
    return True
