"""Screening (IV–VI): the page and its live decision, a screening, and starting a referral.

Every page here shows or changes a client's record, so each request writes one access-log row
(``@access_logged``) and each lookup goes through the user's clinic (``core.access.fetch``):
another clinic's client or screening is "not found", and the attempt is logged with the id
asked for. Bad input re-shows the page with the message and status 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_checked, access_logged
from clients.selectors import clients as client_selectors
from core.access import fetch
from referrals.forms import ScreeningForm
from referrals.models import Referral, Screening
from referrals.rules import clauses, eligibility
from referrals.selectors import referral as selectors
from referrals.services import referral as referral_services
from referrals.services import screening as screening_services


def _policy_texts() -> dict:
    return {
        "selection_text": clauses.SELECTION_CRITERION_TEXT,
        "violence_text": clauses.VIOLENCE_TEXT,
        "disinterest_text": clauses.DISINTEREST_TEXT,
        "medication_text": clauses.MEDICATION_TEXT,
    }


# Opening a form (GET) shows the record and changes nothing: a "view"; sending it is the
# "create" or "edit" (as on the client's edit form).
@permission_required("referrals.add_screening")
@access_logged(AccessEvent.Action.CREATE, on_read=AccessEvent.Action.VIEW)
@require_http_methods(["GET", "POST"])
def screen(request, client_id: int):
    """IV–VI: the screening questions beside their clauses; saving records a new screening."""
    client = fetch(request, client_selectors.client_rows(), client_id)
    status = 200
    if request.method == "POST":
        form = ScreeningForm(request.POST)
        if form.is_valid():
            screening = screening_services.record_screening(
                client=client,
                answers=form.cleaned_data["answers"],
                by=request.user,
                submission_id=form.cleaned_data["submission_id"],
            )
            # What was created is the screening, not the client it is about.
            request.access_log.subject(screening)
            if screening.decision == Screening.Decision.REFER and request.user.has_perm(
                "referrals.add_referral"
            ):
                # "Refer": straight on to the referral's page (the client's one draft, started
                # or carried on to this screening), where VIII.B and the groups wait.
                try:
                    referral = referral_services.start_referral(
                        screening=screening, by=request.user
                    )
                except referral_services.ReferralConflict as problem:
                    messages.error(request, str(problem))
                else:
                    return redirect("referrals:detail", pk=referral.pk)
            return redirect("referrals:screening", pk=screening.pk)
        status = 400
    else:
        form = ScreeningForm(initial=ScreeningForm.initial_for(client))
    outcome = _outcome(form) if request.method == "POST" else None
    return render(
        request,
        "referrals/screen.html",
        {"client": client, "form": form, "outcome": outcome, **_policy_texts()},
        status=status,
    )


@permission_required("referrals.add_screening")
@access_checked
@require_POST
def screen_decision(request, client_id: int):
    """The decision so far, as the clinician answers (htmx). Nothing is saved.

    Answers the rules cannot accept (a contradiction, an unknown clause) come back as a 422
    partial saying what is wrong; htmx is configured to swap it in.
    """
    fetch(request, client_selectors.client_rows(), client_id)
    form = ScreeningForm(request.POST)
    valid = form.is_valid()
    return render(
        request,
        "referrals/_decision.html",
        {"form": form, "outcome": _outcome(form), "live": True},
        status=200 if valid else 422,
    )


def _outcome(form: ScreeningForm) -> eligibility.Outcome | None:
    answers = form.cleaned_data.get("answers") if hasattr(form, "cleaned_data") else None
    return eligibility.evaluate(answers) if answers is not None else None


@permission_required("referrals.view_screening")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def screening_detail(request, pk: int):
    screening = fetch(request, selectors.screenings(), pk)
    referral = Referral.objects.filter(screening=screening).only("id", "status").first()
    return render(
        request,
        "referrals/screening.html",
        {
            "screening": screening,
            "client": screening.client,
            "reasons": list(screening.reasons.all()),
            "referral": referral,
            "answers": _answer_rows(screening),
        },
    )


def _answer_rows(screening: Screening) -> list[tuple[str, str]]:
    """The saved answers, in words, for the record of the screening."""
    answers = eligibility.ScreeningAnswers.from_dict(screening.answers)
    rows = []
    for found in answers.indications:
        indication = clauses.INDICATIONS_BY_CODE[found.code]
        detail = indication.detail(found.detail) if found.detail else None
        rows.append(
            (found.code, indication.title + (f": {detail.label}" if detail is not None else ""))
        )
    if answers.no_indication_found:
        rows.append(("IV", "None of the indications applies"))
    labels = dict(ScreeningForm.base_fields["selection_criterion"].choices)
    answer_labels = dict(ScreeningForm.base_fields["violence"].choices)
    rows += [
        ("V", labels[answers.selection_criterion.value]),
        ("VI.A", answer_labels[answers.violence_without_impulse_control.value]),
        (
            "VI.B",
            answer_labels[answers.expressed_disinterest.value]
            + ("; options explained" if answers.explanation_given else "; not yet explained"),
        ),
        ("VI.C", answer_labels[answers.on_prescribed_medication.value]),
    ]
    return rows


@permission_required("referrals.add_referral")
@access_logged(AccessEvent.Action.CREATE)
@require_POST
def start_referral(request, pk: int):
    """From a screening that says "refer" to the client's input (VIII.B)."""
    screening = fetch(request, selectors.screenings(), pk)
    try:
        referral = referral_services.start_referral(screening=screening, by=request.user)
    except referral_services.ReferralConflict as problem:
        messages.error(request, str(problem))
        return redirect("referrals:screening", pk=screening.pk)
    request.access_log.subject(referral)
    return redirect("referrals:client-input", pk=referral.pk)
