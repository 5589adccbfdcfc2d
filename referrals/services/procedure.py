"""Writes for the procedure VIII.A–K: steps done or not applicable, VIII.H, VIII.K, closing.

Each one transaction that locks the referral first, asks the pure rules
(``referrals/rules/procedure.py``) what the policy's order allows, and brings the referral's
status in step (``sync_status``). A refusal (``StepRefused``) lists every reason at once.
"""

from collections.abc import Sequence
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from clients.models import Attendance, PeerContact
from clients.services import peer_contacts as peer_contact_services
from referrals.models import (
    FollowUp,
    ProcedureStep,
    Referral,
    Screening,
)
from referrals.rules import procedure
from referrals.selectors import procedure as procedure_selectors


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


def locked(referral: Referral) -> Referral:
    """The referral's row, locked until the transaction ends, so two steps never race."""
    return Referral.objects.select_for_update().get(pk=referral.pk)


def sync_status(*, referral: Referral, by) -> str:
    """Store the status the steps and the attendance imply, if it changed (never contradict)."""
    facts = procedure_selectors.procedure_facts(referral)
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
        referral = locked(referral)
        step = ProcedureStep.objects.select_for_update().get(referral=referral, code=code)
        if step.status == ProcedureStep.Status.DONE:
            return step
        facts = procedure_selectors.procedure_facts(referral)
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
        referral = locked(referral)
        step = ProcedureStep.objects.select_for_update().get(referral=referral, code=code)
        if step.status == ProcedureStep.Status.NOT_APPLICABLE:
            return step
        facts = procedure_selectors.procedure_facts(referral)
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
        referral = locked(referral)
        step = ProcedureStep.objects.select_for_update().get(
            referral=referral, code=ProcedureStep.Code.H
        )
        already = list(step.details.get("sessions", []))
        facts = procedure_selectors.procedure_facts(referral)
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


def plan_advocate(*, referral: Referral, first_name: str, by, note: str = "") -> ProcedureStep:
    """VIII.H as a plan: the peer advocate (first name only) who will go with the client to
    the first three sessions, recorded before they happen. The step stays to do until a
    session is recorded, here or by attendance marked "advocate went"."""
    with transaction.atomic():
        referral = locked(referral)
        step = ProcedureStep.objects.select_for_update().get(
            referral=referral, code=ProcedureStep.Code.H
        )
        facts = procedure_selectors.procedure_facts(referral)
        if step.status == ProcedureStep.Status.DONE:
            problems = (
                [
                    procedure.Problem(
                        "VIII.H",
                        "closed",
                        "This referral is closed: VIII.H can no longer be recorded.",
                    )
                ]
                if facts.is_closed
                else []
            )
        else:
            problems = procedure.completion_problems(procedure.Step.H, facts)
        if problems:
            raise StepRefused(problems)
        step.details = {**step.details, "advocate_first_name": first_name, "planned": True}
        step.note = note or step.note
        step._history_user = by
        step._change_reason = "VIII.H advocate planned"
        step.save(update_fields=["details", "note"])
    return step


def sync_advocate_sessions(*, referral: Referral, by) -> ProcedureStep | None:
    """VIII.H from attendance: the first three meetings attended at a chosen group since the
    referral, those marked "advocate went" recorded as the sessions accompanied, and the step
    done once there is one. Sessions recorded by hand are kept."""
    if referral.referred_at is None or referral.status == Referral.Status.CLOSED:
        return None
    step = ProcedureStep.objects.select_for_update().get(
        referral=referral, code=ProcedureStep.Code.H
    )
    if step.status == ProcedureStep.Status.NOT_APPLICABLE:
        return None
    attended = (
        Attendance.objects.filter(
            client_id=referral.client_id,
            status=Attendance.Status.ATTENDED,
            group_id__in=referral.groups.values("group_id"),
            on_date__gte=timezone.localdate(referral.referred_at),
        )
        .order_by("on_date", "id")
        .values_list("accompanied", flat=True)[: len(procedure.ADVOCATE_SESSIONS)]
    )
    found = procedure.accompanied_sessions(list(attended))
    already = list(step.details.get("sessions", []))
    sessions = sorted({*already, *found})
    if not found or sessions == already:
        return step
    step.details = {**step.details, "sessions": sessions}
    if step.status != ProcedureStep.Status.DONE:
        step.status = ProcedureStep.Status.DONE
        step.completed_by = by
        step.completed_at = timezone.now()
    step._history_user = by
    step._change_reason = "VIII.H sessions from attendance"
    step.save()
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
        referral = locked(referral)
        step = ProcedureStep.objects.select_for_update().get(
            referral=referral, code=ProcedureStep.Code.K
        )
        if step.status == ProcedureStep.Status.DONE:
            return step
        problems = procedure.completion_problems(
            procedure.Step.K, procedure_selectors.procedure_facts(referral)
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
    return peer_contact_services.withdraw_peer_contact(contact=contact, by=by, today=today)


def close_referral(*, referral: Referral, reason: str, by, note: str = "") -> Referral:
    with transaction.atomic():
        referral = locked(referral)
        problems = procedure.close_problems(
            procedure.CloseReason(reason), procedure_selectors.procedure_facts(referral)
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
        # VIII.J ends with the referral: its reminders are settled (``followups_settled``).
        ProcedureStep.objects.filter(
            referral=referral, code=ProcedureStep.Code.J, status=ProcedureStep.Status.PENDING
        ).update(
            status=ProcedureStep.Status.DONE,
            completed_by=by,
            completed_at=referral.closed_at,
            note=f"Referral closed ({reason}).",
        )
    return referral


# --- follow-ups, VIII.I–J -------------------------------------------------------------------
