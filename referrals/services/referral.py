"""Writes for a referral: its start, the client's input and approval (VIII.B), groups (VIII.C).

Each one transaction, with the acting user ``by``. The rules decide; these functions only record
what the rules decided: views pass input the form accepted and groups the matching offered.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from referrals.models import (
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
)
from referrals.rules import matching
from referrals.services.followups import schedule_followups
from referrals.services.procedure import create_steps

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


def start_referral(*, screening: Screening, by) -> Referral:
    """A referral from a screening whose decision was "refer"; one per screening.

    A second call for the same screening (a double-clicked button) returns the first referral.
    """
    if screening.decision != Screening.Decision.REFER:
        raise ReferralConflict("Only a screening whose decision is 'refer' can start a referral.")
    existing = Referral.objects.filter(screening=screening).first()
    if existing is not None:
        return existing
    draft = Referral.objects.filter(
        client_id=screening.client_id, status=Referral.Status.PREPARING
    ).first()
    if draft is not None:
        return _carry_draft(draft, screening, by)
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
        # The other click won the race for the one-to-one (or a colleague started the
        # client's one draft a moment ago): theirs is the referral.
        referral = Referral.objects.filter(screening=screening).first()
        if referral is not None:
            return referral
        draft = Referral.objects.get(
            client_id=screening.client_id, status=Referral.Status.PREPARING
        )
        return _carry_draft(draft, screening, by)
    return referral


def _carry_draft(draft: Referral, screening: Screening, by) -> Referral:
    """The client's draft referral now rests on their latest screening: one draft per client.

    What the draft holds (the client's input, any approval) is kept; the counselling the new
    screening recorded settles VIII.A if the draft was still waiting for it.
    """
    with transaction.atomic():
        moved = Referral.objects.filter(pk=draft.pk, status=Referral.Status.PREPARING).update(
            screening=screening, version=F("version") + 1, updated_at=timezone.now()
        )
        if not moved:
            raise ReferralConflict(
                "The client's draft referral was closed or moved on a moment ago; "
                "open the client's page to see it."
            )
        draft.refresh_from_db()
        if screening.answers.get("explanation_given"):
            _settle(
                draft,
                ProcedureStep.Code.A,
                screening.screened_by,
                screening.screened_at,
                "Benefits explained at screening.",
            )
        draft._history_user = by
        draft._change_reason = f"carried on to screening {screening.pk}"
        draft.save(update_fields=["updated_at"])
    return draft


def _claim(referral: Referral, version: int) -> None:
    """Move the version on, or raise if someone saved since ``version`` was loaded."""
    claim_version(
        referral,
        version,
        message=(
            "This referral was changed by someone else since you opened it. "
            "Your answers are below; check the referral and save again."
        ),
    )


def claim_version(referral: Referral, version: int, *, message: str) -> None:
    """The optimistic lock of the referral's page: every form on it carries the version it
    was loaded with, and a write moves it on by one. A page older than the last write (another
    tab, another person) raises ``ReferralConflict(message)``; call it inside the write's
    transaction, so that a refusal after it undoes the claim too."""
    moved = Referral.objects.filter(pk=referral.pk, version=version).update(version=version + 1)
    if not moved:
        raise ReferralConflict(message)
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

    ``suggestions`` are those just computed for this referral (matching's, and those the
    clinician picked by name that ``matching.direct_choice`` allowed); only they can be chosen,
    so a group excluded under II or VI.C can never be recorded, whatever was posted.
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
                # A group chosen directly (VIII.C), not from the ranking, has no rank.
                suggested_rank=offered[pk].rank or None,
                chosen_at=now,
                chosen_by=by,
            )
            for pk in dict.fromkeys(chosen_ids)
        )
        referral.refresh_from_db()
        # VIII.J: the reminders are the follow-ups put on the clinician's worklist. The step is
        # done once they are recorded (``followups.sync_reminder_step``), not now.
        schedule_followups(referral=referral, start=timezone.localdate(now), by=by)
        # One history row for the status change, with who made it.
        referral._history_user = by
        referral._change_reason = "VIII.C groups chosen"
        referral.save(update_fields=["updated_at"])
    return rows
