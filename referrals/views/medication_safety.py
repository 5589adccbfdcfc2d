"""VI.C after the referral: the clinician's decision about a chosen group that became unsafe.

The alert is on the referral's page (``templates/referrals/_vic_alerts.html``) and heads the
clinician's worklist; this page records the decision: remove the group, choose another (which
VI.C and II must allow), or keep it with a reason after discussing it with the client and their
prescriber. Each request writes an access-log row; another clinic's referral is "not found".
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from core.access import fetch
from referrals.forms import MedicationSafetyDecisionForm
from referrals.models import ReferredGroup
from referrals.rules import matching
from referrals.rules import medication_safety as rules
from referrals.selectors import matching as matching_selectors
from referrals.selectors import referral as selectors
from referrals.services import medication_safety as services

# The largest id a database column holds (a signed 64-bit integer).
LARGEST_ID = 2**63 - 1


def _replacements(referral, profile):
    """The groups that may be chosen instead: this client's suggestions now (VI.C and II
    applied), less those already chosen."""
    listings, vocabulary = matching_selectors.matching_inputs(profile)
    result = matching.match(listings, profile, vocabulary=vocabulary, today=timezone.localdate())
    chosen = set(ReferredGroup.objects.filter(referral=referral).values_list("group_id", flat=True))
    return [s for s in result.suggestions if s.listing.id not in chosen]


def _verdict(replacement_id, profile):
    """VIII.C: the replacement as ``direct_choice`` judges it now (VI.C and II enforced)."""
    if replacement_id is None:
        return None
    listings, vocabulary = matching_selectors.direct_listings([replacement_id])
    if not listings:
        return None
    return matching.direct_choice(
        listings[0], profile, vocabulary=vocabulary, today=timezone.localdate()
    )


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EDIT, on_read=AccessEvent.Action.VIEW)
@require_http_methods(["GET", "POST"])
def decide(request, pk: int, group_id: int):
    referral = fetch(request, selectors.referrals(), pk)
    if group_id > LARGEST_ID:
        # No row has it, and a foreign key's lookup would hand it to the database as is.
        raise Http404("That group is not among this referral's groups.")
    assessment = services.current_assessment(referral, group_id)
    if assessment is None:
        raise Http404("That group is not among this referral's groups.")
    if assessment.state in (rules.State.SAFE, rules.State.CLEARED):
        messages.info(request, "VI.C does not rule this group out now: nothing to decide.")
        return redirect("referrals:detail", pk=referral.pk)
    profile = matching_selectors.client_profile(referral)
    replacements = _replacements(referral, profile)
    status = 200
    form = MedicationSafetyDecisionForm(
        request.POST if request.method == "POST" else None, replacements=replacements
    )
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_decision(
                    referral=referral,
                    group_id=group_id,
                    kind=data["kind"],
                    reason=data.get("reason") or "",
                    discussed=bool(data.get("discussed")),
                    replacement=_verdict(data.get("replacement"), profile)
                    if data["kind"] == rules.REPLACED
                    else None,
                    by=request.user,
                )
            except services.DecisionRefused as refused:
                for message in refused.messages:
                    form.add_error(None, message)
                status = 409 if refused.conflict else 400
            else:
                messages.success(
                    request, f"VI.C: your decision about {assessment.group_name} is recorded."
                )
                return redirect("referrals:detail", pk=referral.pk)
        else:
            status = 400
    return render(
        request,
        "referrals/vic_decision.html",
        {
            "referral": referral,
            "client": referral.client,
            "alert": assessment,
            "form": form,
        },
        status=status,
    )
