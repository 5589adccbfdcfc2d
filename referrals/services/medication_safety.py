"""VI.C after the referral: the clinician's decision about a chosen group that became unsafe.

The alert itself is never stored: it is derived from current facts at every read
(``referrals/selectors/medication_safety.py``). What is written here is the clinician's answer,
with the causes it answered, in one transaction: remove the group, remove it and choose another
(which VI.C and II must allow now), or keep it with a reason after discussing it with the client
and their prescriber. The referral's history gets a row saying so, with who.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from referrals.models import MedicationSafetyDecision, Referral, ReferredGroup
from referrals.rules import matching
from referrals.rules import medication_safety as rules
from referrals.selectors import medication_safety as selectors


class DecisionRefused(Exception):
    """The decision cannot be recorded; ``messages`` say why (answer 400 or 409)."""

    def __init__(self, messages: list[str], *, conflict: bool = False):
        self.messages = messages
        self.conflict = conflict
        super().__init__(" ".join(messages))


def current_assessment(referral: Referral, group_id: int) -> rules.Assessment | None:
    """VI.C now for one chosen group of the referral (None if it is not chosen)."""
    rows = ReferredGroup.objects.filter(referral=referral, group_id=group_id)
    found = selectors.assess_rows(rows)
    return found[0] if found else None


def record_decision(
    *,
    referral: Referral,
    group_id: int,
    kind: str,
    reason: str = "",
    discussed: bool = False,
    replacement: matching.Suggestion | matching.Excluded | None = None,
    by,
) -> MedicationSafetyDecision:
    """Record the clinician's decision about an alert on one chosen group (VI.C)."""
    errors = rules.check_decision(
        kind=kind, reason=reason, discussed=discussed, replacement=replacement is not None
    )
    if isinstance(replacement, matching.Excluded):
        errors.append(
            f"{replacement.listing.name} cannot be chosen ({replacement.clause}): "
            f"{replacement.reason}."
        )
    if errors:
        raise DecisionRefused(errors)
    now = timezone.now()
    with transaction.atomic():
        # One decision at a time per referral: a second click waits, then finds it decided.
        Referral.objects.select_for_update().filter(pk=referral.pk).first()
        assessment = current_assessment(referral, group_id)
        if assessment is None or assessment.state in (rules.State.SAFE, rules.State.CLEARED):
            raise DecisionRefused(
                [
                    "There is nothing to decide: this group is not among the referral's "
                    "groups, or VI.C no longer rules it out."
                ],
                conflict=True,
            )
        if assessment.state == rules.State.KEPT and kind == rules.KEPT:
            raise DecisionRefused(
                ["This group was already kept for the reasons shown."], conflict=True
            )
        decision = MedicationSafetyDecision.objects.create(
            referral=referral,
            group_id=group_id,
            kind=kind,
            reason=reason.strip(),
            causes=sorted(assessment.causes),
            alert_since=assessment.since,
            replacement_id=replacement.listing.id if replacement is not None else None,
            decided_at=now,
            decided_by=by,
        )
        if kind in (rules.REMOVED, rules.REPLACED):
            ReferredGroup.objects.filter(referral=referral, group_id=group_id).delete()
        if kind == rules.REPLACED and replacement is not None:
            ReferredGroup.objects.get_or_create(
                referral=referral,
                group_id=replacement.listing.id,
                defaults={
                    "reasons": list(replacement.reasons),
                    "suggested_rank": None,
                    "chosen_at": now,
                    "chosen_by": by,
                },
            )
        # The referral's history: one row naming the clause, the group and the decision.
        referral = Referral.objects.get(pk=referral.pk)
        referral._history_user = by
        referral._change_reason = (
            f"VI.C: {assessment.group_name}: {decision.get_kind_display().lower()}"
        )
        referral.save(update_fields=["updated_at"])
    return decision
