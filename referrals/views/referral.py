"""A referral: its page, the client's input and approval (VIII.B) and choosing groups (VIII.C).

Every page here shows or changes a client's record, so each request writes one access-log row
(``@access_logged``) and each lookup goes through the user's clinic (``core.access.fetch``):
another clinic's referral is "not found", and the attempt is logged with the id asked for.

Bad input re-shows the page with the message and status 400; a referral changed by someone
else since the page was loaded answers 409 and keeps what was typed.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_checked, access_logged
from core.access import fetch
from directory.rules import places
from referrals.forms import ChooseGroupsForm, ClientInputForm
from referrals.models import Referral
from referrals.rules import matching
from referrals.selectors import matching as matching_selectors
from referrals.selectors import referral as selectors
from referrals.services import referral as referral_services
from referrals.views import work


@permission_required("referrals.view_referral")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def referral_detail(request, pk: int):
    """The referral as one working page (``views/work.py``): the client's input, the group
    choice, the procedure's steps and the sheet. ``?q=`` is the search by name (VIII.C) sent
    without JavaScript; with it, ``find_listing`` answers in place."""
    referral = fetch(request, selectors.referrals(), pk)
    query = request.GET.get("q", "").strip()[:100]
    context = work.referral_context(request, referral, **({"query": query} if query else {}))
    context["focus"] = ""
    form = context.get("input_form")
    if form is not None and referral.approval == Referral.Approval.PENDING:
        # Just screened: the place is what is asked first, so the cursor waits there.
        form.fields["location_text"].widget.attrs["autofocus"] = True
    return render(request, "referrals/referral.html", context)


@permission_required("referrals.change_referral")
@access_checked
@require_safe
def find_listing(request, pk: int):
    """VIII.C: listings found by name, judged for this client (II, VI.C), swapped in place as
    the clinician types. It shows no more of the client than the page already does and writes
    no "view" row for each keystroke; a refused or other clinic's request is still logged."""
    referral = fetch(request, selectors.referrals(), pk)
    query = request.GET.get("q", "").strip()[:100]
    profile = matching_selectors.client_profile(referral)
    return render(
        request,
        "referrals/_direct_results.html",
        {
            "direct": work.direct_results(query, profile, today=timezone.localdate()),
            "query": query,
            "referral": referral,
            "one_click": True,
        },
    )


def _one_page(request) -> bool:
    """A form of the referral's working page (htmx, or posted without JavaScript), not of
    the separate client-input or groups page kept for their old addresses."""
    return work.is_fragment(request) or request.POST.get("page") == "referral"


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EDIT, on_read=AccessEvent.Action.VIEW)
@require_http_methods(["GET", "POST"])
def client_input(request, pk: int):
    """VIII.B: with the client's input and approval, their goals, location and language."""
    referral = fetch(request, selectors.referrals(), pk)
    one_page = request.method == "POST" and _one_page(request)
    if referral.status != Referral.Status.PREPARING:
        if one_page:
            return work.refused(
                request,
                referral,
                409,
                code="VIII.B",
                errors=["Groups have been chosen or the referral closed; nothing was saved."],
            )
        messages.info(request, "Groups have been chosen; the client's input is shown below.")
        return redirect("referrals:detail", pk=referral.pk)
    counselling_needed = work.counselling_needed(referral)
    status = 200
    if request.method == "POST":
        form = work.input_form(referral, request.POST)
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
                    return _after_input(request, current, one_page=one_page)
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
                return _after_input(request, referral, one_page=one_page)
        else:
            status = 400
        if one_page:
            return work.render_work(request, referral, status=status, input_form=form)
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


def _after_input(request, referral: Referral, *, one_page: bool = False):
    if one_page:
        if referral.approval == Referral.Approval.DECLINED:
            return work.saved(
                request,
                referral,
                notice="The client's decision is recorded and the referral is closed. "
                "Self-help can be offered again at any time.",
            )
        return work.saved(request, referral, notice="The client's input is saved.")
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


def _picked_directly(posted, suggestions, profile, *, today):
    """Groups posted that matching did not suggest: VIII.C lets the clinician refer to any
    listing directly, so each is judged now (II and VI.C still enforced). Returns the ones
    allowed (as suggestions) and the refusals."""
    suggested = {s.listing.id for s in suggestions}
    wanted = []
    for value in posted:
        try:
            pk = int(value)
        except (TypeError, ValueError):
            continue
        if pk not in suggested:
            wanted.append(pk)
    if not wanted:
        return [], []
    listings, vocabulary = matching_selectors.direct_listings(wanted)
    verdicts = [
        matching.direct_choice(listing, profile, vocabulary=vocabulary, today=today)
        for listing in listings
    ]
    allowed = [v for v in verdicts if isinstance(v, matching.Suggestion)]
    refused = [v for v in verdicts if isinstance(v, matching.Excluded)]
    return allowed, refused


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EDIT, on_read=AccessEvent.Action.VIEW)
@require_http_methods(["GET", "POST"])
def choose_groups(request, pk: int):
    """VIII.C–D: suggested groups with their reasons; II and VI.C exclusions apart; SHARE! if
    none; and any active listing found by name (VIII.C: "directly ... based upon his/her
    personal knowledge or clinic referral lists"), with II and VI.C still enforced."""
    referral = fetch(request, selectors.referrals(), pk)
    one_page = request.method == "POST" and _one_page(request)
    if one_page:
        return _choose_in_place(request, referral)
    if referral.status != Referral.Status.PREPARING:
        return redirect("referrals:detail", pk=referral.pk)
    if referral.approval != Referral.Approval.APPROVED:
        messages.warning(request, "Record the client's input and approval (VIII.B) first.")
        return redirect("referrals:client-input", pk=referral.pk)
    today = timezone.localdate()
    profile = matching_selectors.client_profile(referral)
    query = (request.POST.get("q") if request.method == "POST" else request.GET.get("q")) or ""
    query = query.strip()[:100]
    direct = work.direct_results(query, profile, today=today)
    if request.method == "GET" and request.headers.get("HX-Request") and "q" in request.GET:
        # htmx: only the search's results, swapped into the page in place.
        return render(
            request,
            "referrals/_direct_results.html",
            {"direct": direct, "query": query, "referral": referral},
        )
    # Only the listings that can appear for this client: the same result, less to read.
    listings, vocabulary = matching_selectors.matching_inputs(profile)
    result = matching.match(listings, profile, vocabulary=vocabulary, today=today)
    status = 200
    refused = []
    if request.method == "POST":
        allowed, refused = _picked_directly(
            request.POST.getlist("groups"), result.suggestions, profile, today=today
        )
        offered = [*result.suggestions, *allowed]
        form = ChooseGroupsForm(request.POST, suggestions=offered)
        if form.is_valid() and not refused:
            try:
                referral_services.choose_groups(
                    referral=referral,
                    suggestions=offered,
                    chosen_ids=form.cleaned_data["groups"],
                    by=request.user,
                )
            except referral_services.ReferralConflict as problem:
                messages.warning(request, str(problem))
            return redirect("referrals:detail", pk=referral.pk)
        status = 400
    else:
        form = ChooseGroupsForm(suggestions=result.suggestions)
    # VIII.B linguistic needs: no suggestion speaks the client's language, so the page says so
    # and names the listings that do (any need), beside SHARE!.
    unmet = matching.language_unmet(result, profile, vocabulary)
    in_language = (
        matching_selectors.listings_in_language(
            profile.language_code, medicated=profile.on_prescribed_medication
        )
        if unmet
        else []
    )
    return render(
        request,
        "referrals/groups.html",
        {
            "referral": referral,
            "client": referral.client,
            "profile": profile,
            "result": result,
            # VI.C: for a medicated client, confirmed-safe suggestions apart from the others.
            "confirmed_safe": result.stance_confirmed(profile),
            "stance_unknown": result.stance_not_confirmed(profile),
            "form": form,
            "refused": refused,
            "direct": direct,
            "query": query,
            "share": (
                matching_selectors.share_resources() if result.share_fallback or unmet else []
            ),
            "language_unmet": unmet,
            "in_language": in_language,
            # VIII.C: phone, meeting times, languages, area and verification on each card.
            "cards": matching_selectors.card_facts(
                [s.listing.id for s in result.suggestions], today=timezone.localdate()
            ),
        },
        status=status,
    )


def _choose_in_place(request, referral: Referral):
    """VIII.C from the referral's page: the groups picked, or the one "refer to this group"
    button pressed (``only``), judged as on the groups page (II and VI.C enforced), under the
    page's version."""
    try:
        version = work.posted_version(request)
    except work.BadVersion:
        return work.refused(
            request, referral, 400, code="VIII.C", errors=["The form was damaged; reload."]
        )
    if referral.status != Referral.Status.PREPARING:
        # A double click: the first click claimed this version and chose (two moves on).
        if version is not None and referral.version == version + 2:
            return work.saved(request, referral)
        return work.refused(
            request, referral, 409, code="VIII.C", errors=["Groups have already been chosen."]
        )
    if referral.approval != Referral.Approval.APPROVED:
        return work.refused(
            request,
            referral,
            409,
            code="VIII.C",
            errors=["Record the client's input and approval (VIII.B) first."],
        )
    today = timezone.localdate()
    profile = matching_selectors.client_profile(referral)
    listings, vocabulary = matching_selectors.matching_inputs(profile)
    result = matching.match(listings, profile, vocabulary=vocabulary, today=today)
    data = request.POST.copy()
    if data.get("only"):
        data.setlist("groups", [data["only"]])
    allowed, refused = _picked_directly(
        data.getlist("groups"), result.suggestions, profile, today=today
    )
    offered = [*result.suggestions, *allowed]
    form = ChooseGroupsForm(data, suggestions=offered)
    query = (data.get("q") or "").strip()[:100]
    if not form.is_valid() or refused:
        return work.render_work(
            request, referral, status=400, groups_form=form, refused=refused, query=query
        )
    try:
        with work.claimed(referral, version):
            referral_services.choose_groups(
                referral=referral,
                suggestions=offered,
                chosen_ids=form.cleaned_data["groups"],
                by=request.user,
            )
    except referral_services.ReferralConflict as problem:
        stale = Referral.objects.filter(pk=referral.pk).values_list("version", flat=True).get()
        message = work.STALE if version is not None and stale != version else str(problem)
        return work.render_work(
            request,
            referral,
            status=409,
            groups_form=form,
            query=query,
            step_errors={"VIII.C": [message]},
        )
    return work.saved(request, referral, notice="The groups are chosen.")
