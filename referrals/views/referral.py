"""Screening (IV–VI), the client's input and approval (VIII.B) and choosing groups (VIII.C).

Every page here shows or changes a client's record, so each request writes one access-log row
(``@access_logged``) and each lookup goes through the user's clinic: another clinic's client,
screening or referral is "not found", and the attempt is logged with the id asked for.

Bad input re-shows the page with the message and status 400; a referral changed by someone
else since the page was loaded answers 409 and keeps what was typed.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access_log import access_logged
from accounts.models import AccessEvent
from accounts.permissions import permission_required
from clients.selectors import clients as client_selectors
from core.access import fetch
from directory import places
from referrals.forms import ChooseGroupsForm, ClientInputForm, ScreeningForm
from referrals.models import ProcedureStep, Referral, Screening
from referrals.rules import clauses, eligibility, matching
from referrals.selectors import matching as matching_selectors
from referrals.selectors import referral as selectors
from referrals.services import referral as referral_services
from referrals.services import screening as screening_services
from referrals.views import procedure as views_procedure


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
@access_logged(AccessEvent.Action.VIEW)
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


@permission_required("referrals.view_referral")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def referral_detail(request, pk: int):
    referral = fetch(request, selectors.referrals(), pk)
    return render(
        request, "referrals/referral.html", views_procedure.referral_context(request, referral)
    )


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EDIT, on_read=AccessEvent.Action.VIEW)
@require_http_methods(["GET", "POST"])
def client_input(request, pk: int):
    """VIII.B: with the client's input and approval, their goals, location and language."""
    referral = fetch(request, selectors.referrals(), pk)
    if referral.status != Referral.Status.PREPARING:
        messages.info(request, "Groups have been chosen; the client's input is shown below.")
        return redirect("referrals:detail", pk=referral.pk)
    counselling_needed = not referral.steps.filter(
        code=ProcedureStep.Code.A, status=ProcedureStep.Status.DONE
    ).exists()
    status = 200
    if request.method == "POST":
        # The form writes what it cleaned onto its instance; a copy keeps the page's own intact.
        form = ClientInputForm(
            request.POST, instance=copy.copy(referral), counselling_needed=counselling_needed
        )
        if form.is_valid():
            try:
                referral_services.record_client_input(
                    referral=referral,
                    data=form.cleaned_data,
                    version=form.cleaned_data["version"],
                    by=request.user,
                )
            except referral_services.ReferralConflict as problem:
                current = Referral.objects.get(pk=referral.pk)
                if _input_saved_already(current, form.cleaned_data, request.user):
                    # A double-clicked "Save": the first click saved exactly this.
                    return _after_input(request, current)
                # 409, keeping what was typed but carrying the version saved now, so that
                # saving again applies it knowingly (with the old one it would be refused
                # again and again).
                data = request.POST.copy()
                data["version"] = str(current.version)
                form = ClientInputForm(
                    data, instance=copy.copy(current), counselling_needed=counselling_needed
                )
                form.is_valid()
                form.add_error(None, str(problem))
                status = 409
            else:
                return _after_input(request, referral)
        else:
            status = 400
    else:
        form = ClientInputForm(instance=referral, counselling_needed=counselling_needed)
    return render(
        request,
        "referrals/client_input.html",
        {
            "referral": referral,
            "client": referral.client,
            "form": form,
            "place_names": places.place_names(),
        },
        status=status,
    )


def _after_input(request, referral: Referral):
    if referral.approval == Referral.Approval.DECLINED:
        messages.info(
            request,
            "The client's decision is recorded and the referral is closed. "
            "Self-help can be offered again at any time (VII.E).",
        )
        return redirect("clients:detail", pk=referral.client_id)
    return redirect("referrals:groups", pk=referral.pk)


def _input_saved_already(current: Referral, values: dict, user) -> bool:
    """Whether the referral holds exactly this client input, recorded by this user."""
    return (
        current.approval_recorded_by_id == user.pk
        and current.approval == values.get("approval")
        and current.preferred_area_id == getattr(values.get("preferred_area"), "pk", None)
        and all(
            getattr(current, name) == (values.get(name) or "")
            for name in referral_services.CLIENT_INPUT_TEXT_FIELDS
        )
        and {need.pk for need in current.goal_needs.all()}
        == {need.pk for need in values.get("goal_needs") or ()}
    )


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EDIT, on_read=AccessEvent.Action.VIEW)
@require_http_methods(["GET", "POST"])
def choose_groups(request, pk: int):
    """VIII.C–D: suggested groups with their reasons; VI.C exclusions apart; SHARE! if none."""
    referral = fetch(request, selectors.referrals(), pk)
    if referral.status != Referral.Status.PREPARING:
        return redirect("referrals:detail", pk=referral.pk)
    if referral.approval != Referral.Approval.APPROVED:
        messages.warning(request, "Record the client's input and approval (VIII.B) first.")
        return redirect("referrals:client-input", pk=referral.pk)
    profile = matching_selectors.client_profile(referral)
    # Only the listings that can appear for this client: the same result, less to read.
    listings, vocabulary = matching_selectors.matching_inputs(profile)
    result = matching.match(listings, profile, vocabulary=vocabulary, today=timezone.localdate())
    status = 200
    if request.method == "POST":
        form = ChooseGroupsForm(request.POST, suggestions=result.suggestions)
        if form.is_valid():
            try:
                referral_services.choose_groups(
                    referral=referral,
                    suggestions=result.suggestions,
                    chosen_ids=form.cleaned_data["groups"],
                    by=request.user,
                )
            except referral_services.ReferralConflict as problem:
                messages.warning(request, str(problem))
            return redirect("referrals:detail", pk=referral.pk)
        status = 400
    else:
        form = ChooseGroupsForm(suggestions=result.suggestions)
    return render(
        request,
        "referrals/groups.html",
        {
            "referral": referral,
            "client": referral.client,
            "profile": profile,
            "result": result,
            "form": form,
            "share": matching_selectors.share_resources() if result.share_fallback else [],
        },
        status=status,
    )
