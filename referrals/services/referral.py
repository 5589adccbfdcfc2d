"""Writes for screening and referral: each one transaction, with the acting user ``by``.

The rules decide; these functions only record what the rules decided. Nothing here is called
with a half-checked input: views pass answers the form (and ``eligibility.validate``) accepted
and groups the matching offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clients.models import Attendance, Client, PeerContact
from clients.selectors import peer_contacts
from referrals.models import (
    FollowUp,
    FollowUpSchedule,
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
    ScreeningReason,
)
from referrals.rules import eligibility, matching, procedure
from referrals.selectors import referral as selectors

CLIENT_INPUT_TEXT_FIELDS = (
    "goals",
    "location_text",
    "language",
    "cultural_needs",
    "twelve_step",
    "declined_reason",
)


class ReferralConflict(Exception):
    """The referral changed since the page was loaded, or is not at the step asked for."""


def record_screening(
    *,
    client: Client,
    answers: eligibility.ScreeningAnswers,
    by,
    now: datetime | None = None,
    submission_id: UUID | None = None,
) -> Screening:
    """Save a screening and every reason the rules gave (IV–VI), and keep the client's VI.C
    flag in step with what the clinician just confirmed.

    ``submission_id`` is the one-time token of the form the clinician filled in (design
    notes, section 5: a double-clicked submit creates one record). A second submission of
    the same form returns the screening the first one saved; the unique constraint on the
    token settles two that arrive at the same instant.
    """
    outcome = eligibility.evaluate(answers)
    now = now or timezone.now()
    medicated = answers.on_prescribed_medication == eligibility.Answer.YES
    try:
        with transaction.atomic():
            # The client's row first, locked: screenings of one client (a double click, or
            # a colleague at once) wait for each other here, and the VI.C update below starts
            # from the client as saved now, not as the page loaded it (whose version may be
            # stale: an edit saved meanwhile would then not be noticed by the next editor).
            current = Client.objects.select_for_update().get(pk=client.pk)
            if submission_id is not None:
                earlier = Screening.objects.filter(
                    submission_id=submission_id, client_id=client.pk
                ).first()
                if earlier is not None:
                    return earlier
            screening = Screening.objects.create(
                client=current,
                clinic_id=current.clinic_id,
                screened_by=by,
                screened_at=now,
                answers=answers.as_dict(),
                decision=outcome.decision.value,
                on_prescribed_medication=medicated,
                submission_id=submission_id,
            )
            ScreeningReason.objects.bulk_create(
                ScreeningReason(
                    screening=screening,
                    clause=reason.clause,
                    code=reason.code,
                    kind=reason.kind.value,
                    message=reason.message[:300],
                    order=order,
                )
                for order, reason in enumerate(outcome.reasons)
            )
            # VI.C answered yes or no is the clinician's current finding; "not assessed" says
            # nothing new, so the record keeps what it had.
            assessed = answers.on_prescribed_medication != eligibility.Answer.NOT_ASSESSED
            if assessed and current.on_prescribed_medication != medicated:
                current.on_prescribed_medication = medicated
                current.version += 1
                current._history_user = by
                current._change_reason = f"VI.C confirmed in screening {screening.pk}"
                current.save(update_fields=["on_prescribed_medication", "version", "updated_at"])
            # The caller's copy follows what was saved.
            client.on_prescribed_medication = current.on_prescribed_medication
            client.version = current.version
    except IntegrityError:
        if submission_id is None:
            raise
        earlier = Screening.objects.filter(submission_id=submission_id, client_id=client.pk).first()
        if earlier is not None:
            return earlier  # the other submission of this form saved it a moment ago
        # The token is another client's screening's (an edited form): a screening of its own.
        return record_screening(client=client, answers=answers, by=by, now=now)
    return screening


def start_referral(*, screening: Screening, by) -> Referral:
    """A referral from a screening whose decision was "refer"; one per screening.

    A second call for the same screening (a double-clicked button) returns the first referral.
    """
    if screening.decision != Screening.Decision.REFER:
        raise ReferralConflict("Only a screening whose decision is 'refer' can start a referral.")
    existing = Referral.objects.filter(screening=screening).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            referral = Referral(
                client_id=screening.client_id,
                clinic_id=screening.clinic_id,
                clinician=by,
                screening=screening,
                language=screening.client.preferred_language,
            )
            referral._history_user = by
            referral.save()
            create_steps(referral=referral, screening=screening)
    except IntegrityError:
        # The other click won the race for the one-to-one; theirs is the referral.
        return Referral.objects.get(screening=screening)
    return referral


def _claim(referral: Referral, version: int) -> None:
    """Move the version on, or raise if someone saved since ``version`` was loaded."""
    moved = Referral.objects.filter(pk=referral.pk, version=version).update(version=version + 1)
    if not moved:
        raise ReferralConflict(
            "This referral was changed by someone else since you opened it. "
            "Your answers are below; check the referral and save again."
        )
    referral.version = version + 1


def record_client_input(*, referral: Referral, data: dict, version: int, by) -> Referral:
    """VIII.B: goals, location, language and cultural needs, and the client's approval.

    Declining closes the referral with the client's reason (VII.E: encouraged, not required).
    """
    if referral.status not in (Referral.Status.PREPARING,):
        raise ReferralConflict("The client's input can only change before groups are chosen.")
    now = timezone.now()
    with transaction.atomic():
        _claim(referral, version)
        # The claim's UPDATE holds the row until this transaction ends. Read the referral as
        # saved now: writes that do not move the version (a close, a status that followed the
        # procedure) may have landed since the page loaded it, and the save below writes every
        # field back. Without this, a close at the same moment was silently undone.
        status = Referral.objects.filter(pk=referral.pk).values_list("status", flat=True).get()
        if status != Referral.Status.PREPARING:
            raise ReferralConflict(
                "This referral was closed or moved on by someone else since you opened it; "
                "nothing of yours was saved."
            )
        referral.refresh_from_db()
        for field in CLIENT_INPUT_TEXT_FIELDS:
            setattr(referral, field, data.get(field) or "")
        referral.preferred_area = data.get("preferred_area")
        referral.approval = data["approval"]
        referral.approval_recorded_at = now
        referral.approval_recorded_by = by
        if referral.approval == Referral.Approval.DECLINED:
            referral.status = Referral.Status.CLOSED
            referral.close_reason = Referral.CloseReason.DECLINED
            referral.closed_at = now
        referral._history_user = by
        referral.save()
        referral.goal_needs.set(data.get("goal_needs") or [])
        if data.get("counselled"):
            _settle(referral, ProcedureStep.Code.A, by, now, "Benefits discussed with the client.")
        if referral.approval == Referral.Approval.APPROVED:
            _settle(referral, ProcedureStep.Code.B, by, now, "")
    return referral


def _settle(referral: Referral, code: str, by, now: datetime, note: str) -> None:
    """Mark a step done as a side effect of the page that does it (B, C's referral, J)."""
    ProcedureStep.objects.filter(
        referral=referral, code=code, status=ProcedureStep.Status.PENDING
    ).update(status=ProcedureStep.Status.DONE, completed_by=by, completed_at=now, note=note)


def choose_groups(
    *,
    referral: Referral,
    suggestions: Sequence[matching.Suggestion],
    chosen_ids: Sequence[int],
    by,
) -> list[ReferredGroup]:
    """VIII.C: record the groups picked with the client, each with why it was suggested.

    ``suggestions`` are those just computed for this referral; only they can be chosen, so a
    group excluded under VI.C can never be recorded, whatever was posted.
    """
    if referral.approval != Referral.Approval.APPROVED:
        raise ReferralConflict("Record the client's approval (VIII.B) before choosing groups.")
    if referral.status != Referral.Status.PREPARING:
        raise ReferralConflict("Groups have already been chosen for this referral.")
    offered = {s.listing.id: s for s in suggestions}
    unknown = [pk for pk in chosen_ids if pk not in offered]
    if unknown or not chosen_ids:
        raise ReferralConflict("Pick groups from this client's suggestions.")
    now = timezone.now()
    with transaction.atomic():
        # The status moves only from PREPARING, in one conditional UPDATE: a second submit of
        # the same choice finds it moved and records nothing.
        moved = Referral.objects.filter(pk=referral.pk, status=Referral.Status.PREPARING).update(
            status=Referral.Status.REFERRED,
            referred_at=now,
            # From the version saved now, not the one this request loaded.
            version=F("version") + 1,
            updated_at=now,
        )
        if not moved:
            raise ReferralConflict("Groups have already been chosen for this referral.")
        rows = ReferredGroup.objects.bulk_create(
            ReferredGroup(
                referral=referral,
                group_id=pk,
                reasons=list(offered[pk].reasons),
                suggested_rank=offered[pk].rank,
                chosen_at=now,
                chosen_by=by,
            )
            for pk in dict.fromkeys(chosen_ids)
        )
        referral.refresh_from_db()
        followups = schedule_followups(referral=referral, start=timezone.localdate(now), by=by)
        # VIII.J: the reminders are the follow-ups just put on the clinician's worklist.
        ProcedureStep.objects.filter(
            referral=referral, code=ProcedureStep.Code.J, status=ProcedureStep.Status.PENDING
        ).update(
            status=ProcedureStep.Status.DONE,
            completed_by=by,
            completed_at=now,
            note="Follow-ups scheduled: " + ", ".join(f.due_on.isoformat() for f in followups),
        )
        # One history row for the status change, with who made it.
        referral._history_user = by
        referral._change_reason = "VIII.C groups chosen"
        referral.save(update_fields=["updated_at"])
    return rows


# --- the procedure, VIII.A–K ----------------------------------------------------------------


class StepRefused(Exception):
    """The policy's order (or the step's own rule) does not allow this now."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(" ".join(p.message for p in self.problems))


def create_steps(*, referral: Referral, screening: Screening) -> None:
    """The eleven steps of a new referral. VIII.A is already done when the screening recorded
    that the options were explained (the counselling VI.B's "adequate explanation" needs)."""
    explained = bool(screening.answers.get("explanation_given"))
    ProcedureStep.objects.bulk_create(
        ProcedureStep(
            referral=referral,
            code=code,
            status=(
                ProcedureStep.Status.DONE
                if code == ProcedureStep.Code.A and explained
                else ProcedureStep.Status.PENDING
            ),
            completed_by_id=screening.screened_by_id if code == "VIII.A" and explained else None,
            completed_at=screening.screened_at if code == "VIII.A" and explained else None,
            note="Benefits explained at screening." if code == "VIII.A" and explained else "",
        )
        for code in ProcedureStep.Code.values
    )


def _locked(referral: Referral) -> Referral:
    """The referral's row, locked until the transaction ends, so two steps never race."""
    return Referral.objects.select_for_update().get(pk=referral.pk)


def sync_status(*, referral: Referral, by) -> str:
    """Store the status the steps and the attendance imply, if it changed (never contradict)."""
    facts = selectors.procedure_facts(referral)
    status = procedure.derive_status(facts).value
    if status != referral.status:
        referral.status = status
        referral._history_user = by
        referral._change_reason = "status follows the procedure and attendance"
        referral.save(update_fields=["status", "updated_at"])
    return status


def complete_step(
    *,
    referral: Referral,
    code: str,
    by,
    note: str = "",
    details: dict | None = None,
    peer_contact: PeerContact | None = None,
    now: datetime | None = None,
) -> ProcedureStep:
    """Mark a step done, if the policy's order allows it now. A step already done is left as
    it is and returned (a double-clicked button records one step)."""
    now = now or timezone.now()
    with transaction.atomic():
        referral = _locked(referral)
        step = ProcedureStep.objects.select_for_update().get(referral=referral, code=code)
        if step.status == ProcedureStep.Status.DONE:
            return step
        facts = selectors.procedure_facts(referral)
        problems = procedure.completion_problems(procedure.Step(code), facts)
        if code == ProcedureStep.Code.C:
            problems += _introduction_problems(referral, peer_contact)
        if problems:
            raise StepRefused(problems)
        step.status = ProcedureStep.Status.DONE
        step.not_applicable_reason = ""
        step.note = note
        step.details = details or {}
        step.peer_contact = peer_contact
        step.completed_by = by
        step.completed_at = now
        step._history_user = by
        step.save()
        sync_status(referral=referral, by=by)
    return step


def _introduction_problems(referral: Referral, peer_contact: PeerContact | None):
    """VIII.C: the peer must still consent, and attend one of the groups chosen."""
    if peer_contact is None:
        return [procedure.Problem("VIII.C", "no-peer", "Choose the peer contact introduced.")]
    current = PeerContact.objects.filter(pk=peer_contact.pk).values_list("status", flat=True)
    if list(current) != [PeerContact.Status.ACTIVE]:
        return [
            procedure.Problem(
                "VIII.C",
                "peer-withdrew",
                "This peer contact has withdrawn and can no longer be introduced. "
                "Choose another, or record that no peer is available and give SHARE! (VIII.D).",
            )
        ]
    if not referral.groups.filter(group_id=peer_contact.group_id).exists():
        return [
            procedure.Problem(
                "VIII.C", "peer-other-group", "The peer contact attends another group."
            )
        ]
    return []


def mark_not_applicable(*, referral: Referral, code: str, reason: str, by) -> ProcedureStep:
    with transaction.atomic():
        referral = _locked(referral)
        step = ProcedureStep.objects.select_for_update().get(referral=referral, code=code)
        if step.status == ProcedureStep.Status.NOT_APPLICABLE:
            return step
        facts = selectors.procedure_facts(referral)
        problems = procedure.not_applicable_problems(procedure.Step(code), facts, reason)
        if problems:
            raise StepRefused(problems)
        step.status = ProcedureStep.Status.NOT_APPLICABLE
        step.not_applicable_reason = reason.strip()[:300]
        step.completed_by = by
        step.completed_at = timezone.now()
        step._history_user = by
        step.save()
        sync_status(referral=referral, by=by)
    return step


def record_advocate_sessions(
    *, referral: Referral, first_name: str, sessions: Sequence[int], by, note: str = ""
) -> ProcedureStep:
    """VIII.H: the peer advocate (first name only) and which of the first three sessions they
    went to with the client. Sessions add up over several visits; a fourth is refused."""
    with transaction.atomic():
        referral = _locked(referral)
        step = ProcedureStep.objects.select_for_update().get(
            referral=referral, code=ProcedureStep.Code.H
        )
        already = list(step.details.get("sessions", []))
        facts = selectors.procedure_facts(referral)
        problems = []
        if step.status != ProcedureStep.Status.DONE:
            problems += procedure.completion_problems(procedure.Step.H, facts)
        elif facts.is_closed:
            # Adding sessions to a step already done: the referral must still be open.
            problems.append(
                procedure.Problem(
                    "VIII.H", "closed", "This referral is closed: VIII.H can no longer be recorded."
                )
            )
        problems += procedure.advocate_session_problems(list(sessions), already)
        if problems:
            raise StepRefused(problems)
        step.details = {
            "advocate_first_name": first_name,
            "sessions": sorted({*already, *sessions}),
        }
        step.status = ProcedureStep.Status.DONE
        step.note = note or step.note
        step.completed_by = by
        step.completed_at = timezone.now()
        step._history_user = by
        step.save()
        sync_status(referral=referral, by=by)
    return step


def record_contact_answer(
    *,
    referral: Referral,
    answer: str,
    by,
    group=None,
    first_name: str = "",
    phone=None,
    today: date | None = None,
) -> ProcedureStep:
    """VIII.K: the client was asked to be a contact person for the group they attend. A yes
    records their consent, the first name and the phone they chose to share."""
    today = today or timezone.localdate()
    with transaction.atomic():
        referral = _locked(referral)
        step = ProcedureStep.objects.select_for_update().get(
            referral=referral, code=ProcedureStep.Code.K
        )
        if step.status == ProcedureStep.Status.DONE:
            return step
        problems = procedure.completion_problems(
            procedure.Step.K, selectors.procedure_facts(referral)
        )
        if problems:
            raise StepRefused(problems)
        contact = None
        if (
            answer == "yes"
            and not Attendance.objects.filter(
                client_id=referral.client_id,
                group=group,
                status=Attendance.Status.ATTENDED,
                group_id__in=referral.groups.values("group_id"),
            ).exists()
        ):
            # VIII.K: a contact person "for the group they attend".
            raise StepRefused(
                [
                    procedure.Problem(
                        "VIII.K",
                        "group-not-attended",
                        "A client can be a contact person only for a group of this referral "
                        "they have attended (VIII.K).",
                    )
                ]
            )
        if answer == "yes":
            contact, _ = PeerContact.objects.get_or_create(
                client_id=referral.client_id,
                group=group,
                status=PeerContact.Status.ACTIVE,
                defaults={
                    "clinic_id": referral.clinic_id,
                    "first_name": first_name,
                    "phone": phone,
                    "consented_on": today,
                    "recorded_by": by,
                },
            )
        step.status = ProcedureStep.Status.DONE
        step.details = {"answer": answer, **({"peer_contact_id": contact.pk} if contact else {})}
        step.completed_by = by
        step.completed_at = timezone.now()
        step._history_user = by
        step.save()
        sync_status(referral=referral, by=by)
    return step


def withdraw_peer_contact(*, contact: PeerContact, by, today: date | None = None) -> PeerContact:
    """Withdrawal takes effect at once: no later introduction offers this contact (the
    clients app owns it; this name stays for the procedure's callers)."""
    return peer_contacts.withdraw_peer_contact(contact=contact, by=by, today=today)


def close_referral(*, referral: Referral, reason: str, by, note: str = "") -> Referral:
    with transaction.atomic():
        referral = _locked(referral)
        problems = procedure.close_problems(
            procedure.CloseReason(reason), selectors.procedure_facts(referral)
        )
        if problems:
            raise StepRefused(problems)
        referral.status = Referral.Status.CLOSED
        referral.close_reason = reason
        referral.closed_at = timezone.now()
        referral._history_user = by
        referral._change_reason = note[:100] or f"closed: {reason}"
        referral.save(update_fields=["status", "close_reason", "closed_at", "updated_at"])
        # What is still due no longer is: open follow-ups of a closed referral leave the worklist.
        FollowUp.objects.filter(referral=referral, done_at__isnull=True).delete()
    return referral


# --- follow-ups, VIII.I–J -------------------------------------------------------------------


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
        _locked(referral)
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
    return followup
