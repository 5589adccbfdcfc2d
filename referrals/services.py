"""Writes for screening and referral: each one transaction, with the acting user ``by``.

The rules decide; these functions only record what the rules decided. Nothing here is called
with a half-checked input: views pass answers the form (and ``eligibility.validate``) accepted
and groups the matching offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import Client
from referrals import eligibility, matching
from referrals.models import Referral, ReferredGroup, Screening, ScreeningReason

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
    *, client: Client, answers: eligibility.ScreeningAnswers, by, now: datetime | None = None
) -> Screening:
    """Save a screening and every reason the rules gave (IV–VI), and keep the client's VI.C
    flag in step with what the clinician just confirmed."""
    outcome = eligibility.evaluate(answers)
    now = now or timezone.now()
    medicated = answers.on_prescribed_medication == eligibility.Answer.YES
    with transaction.atomic():
        screening = Screening.objects.create(
            client=client,
            clinic_id=client.clinic_id,
            screened_by=by,
            screened_at=now,
            answers=answers.as_dict(),
            decision=outcome.decision.value,
            on_prescribed_medication=medicated,
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
        if assessed and client.on_prescribed_medication != medicated:
            client.on_prescribed_medication = medicated
            client.version += 1
            client._history_user = by
            client._change_reason = f"VI.C confirmed in screening {screening.pk}"
            client.save(update_fields=["on_prescribed_medication", "version", "updated_at"])
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
        for field in CLIENT_INPUT_TEXT_FIELDS:
            setattr(referral, field, data.get(field) or "")
        referral.preferred_area = data.get("preferred_area")
        referral.approval = data["approval"]
        referral.approval_recorded_at = now
        referral.approval_recorded_by = by
        if referral.approval == Referral.Approval.DECLINED:
            referral.status = Referral.Status.CLOSED
            referral.close_reason = Referral.CloseReason.DECLINED
        referral._history_user = by
        referral.save()
        referral.goal_needs.set(data.get("goal_needs") or [])
    return referral


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
            version=referral.version + 1,
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
        # One history row for the status change, with who made it.
        referral._history_user = by
        referral._change_reason = "VIII.C groups chosen"
        referral.save(update_fields=["updated_at"])
    return rows
