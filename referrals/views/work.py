"""The referral as one working page: the client's input (VIII.B), the group choice (VIII.C),
the procedure's steps and the sheet's button, each a small form in one region.

Each form posts to its own view. With htmx (``HX-Request``) the view answers the region itself
(``referrals/_work.html``), never a redirect, so the address stays the referral's and a reload
shows the page, not a fragment; without JavaScript it redirects back to the page (PRG). A
refusal (400, 409) comes back the same way with the message beside the step and the input kept.
Every form carries the referral's ``version``: a post from a page older than the last save
answers 409 and writes nothing (two tabs, or two people).
"""

from __future__ import annotations

import copy

from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from directory.models import Group
from directory.rules import places
from referrals.forms import (
    AdvocateForm,
    ChooseGroupsForm,
    ClientInputForm,
    CloseReferralForm,
    ContactAnswerForm,
    FollowUpAddForm,
    IntroductionForm,
)
from referrals.models import ProcedureStep, Referral
from referrals.rules import matching, procedure
from referrals.selectors import matching as matching_selectors
from referrals.selectors import procedure as procedure_selectors
from referrals.selectors import referral as selectors
from referrals.services import referral as referral_services

STALE = (
    "This referral was changed in another tab or by someone else since this page was loaded; "
    "nothing was saved. The page now shows the current state: check it, then do the step "
    "again if it is still needed."
)


class BadVersion(ValueError):
    """The posted ``version`` is not a number."""


def posted_version(request) -> int | None:
    """The referral version the form was loaded with; None when the post carries none (a
    form of an older page, or a script): then only the policy's order judges it."""
    raw = request.POST.get("version")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as problem:
        raise BadVersion(raw) from problem


def claimed(referral: Referral, version: int | None):
    """A transaction that first moves the referral's version on from ``version`` (raising
    ``ReferralConflict`` if it moved already); everything written inside it is undone with a
    refusal, so a stale or refused post writes nothing."""
    atomic = transaction.atomic()
    if version is None:
        return atomic
    return _Claimed(referral, version)


class _Claimed:
    def __init__(self, referral: Referral, version: int):
        self.referral = referral
        self.version = version
        self.atomic = transaction.atomic()

    def __enter__(self):
        self.atomic.__enter__()
        try:
            referral_services.claim_version(self.referral, self.version, message=STALE)
        except BaseException as problem:
            self.atomic.__exit__(type(problem), problem, problem.__traceback__)
            raise
        return self

    def __exit__(self, *exc):
        return self.atomic.__exit__(*exc)


def is_fragment(request) -> bool:
    """An htmx request from the page: answer the working region, not a page or a redirect."""
    return bool(request.headers.get("HX-Request"))


# --- What the page shows ---------------------------------------------------------------------


def _chosen_groups(referral: Referral):
    return Group.objects.filter(pk__in=referral.groups.values("group_id")).order_by("name")


def chosen_groups(referral: Referral):
    return _chosen_groups(referral)


def referral_context(request, referral: Referral, **extra) -> dict:
    """The page: the checklist once groups are chosen; the input and the choice before."""
    preparing = referral.status == Referral.Status.PREPARING
    context = {
        "referral": referral,
        "client": referral.client,
        "step_errors": {},
        "referral_open": referral.status != Referral.Status.CLOSED,
        "close_form": CloseReferralForm(),
    }
    page = selectors.referral_page(referral, today=timezone.localdate())
    context |= {
        "groups": page["chosen"],
        "intro_form": IntroductionForm(peers=selectors.peers_for(referral)),
        "advocate_form": AdvocateForm(),
        # The form accepts any chosen group so that the service, which knows the policy's
        # order, can say why (409); the page offers only the groups attended
        # (``attended_groups``, from the page's selector, as are VI.C's alerts).
        "contact_form": ContactAnswerForm(groups=_chosen_groups(referral)),
        "followup_add_form": FollowUpAddForm(),
        **page,
    }
    if preparing and request.user.has_perm("referrals.change_referral"):
        context |= preparing_context(
            referral,
            form=extra.pop("input_form", None),
            groups_form=extra.pop("groups_form", None),
            refused=extra.pop("refused", ()),
            query=extra.pop("query", ""),
        )
    return context | extra


def counselling_needed(referral: Referral) -> bool:
    return not referral.steps.filter(
        code=ProcedureStep.Code.A, status=ProcedureStep.Status.DONE
    ).exists()


def input_form(referral: Referral, data=None) -> ClientInputForm:
    # The form writes what it cleaned onto its instance; a copy keeps the page's own intact.
    return ClientInputForm(
        data,
        instance=copy.copy(referral) if data is not None else referral,
        counselling_needed=counselling_needed(referral),
    )


def preparing_context(referral, *, form=None, groups_form=None, refused=(), query=""):
    """VIII.B's form, and once the client approved, VIII.C's suggestions to pick from."""
    context = {
        "input_form": form or input_form(referral),
        "place_names": places.place_names(),
        "query": query,
    }
    if referral.approval == Referral.Approval.APPROVED:
        context |= groups_context(referral, form=groups_form, refused=refused, query=query)
    return context


def direct_results(query: str, profile, *, today) -> list:
    """VIII.C: listings found by name, each as ``matching.direct_choice`` judges it for this
    client (a ``Suggestion``, or an ``Excluded`` under II or VI.C, with the reason)."""
    found = matching_selectors.direct_search(query)
    if not found:
        return []
    listings, vocabulary = matching_selectors.direct_listings([g.pk for g in found])
    by_id = {listing.id: listing for listing in listings}
    return [
        matching.direct_choice(by_id[g.pk], profile, vocabulary=vocabulary, today=today)
        for g in found
        if g.pk in by_id
    ]


def groups_context(referral, *, form=None, refused=(), query=""):
    """VIII.C–D: suggested groups with their reasons; II and VI.C exclusions apart; SHARE! if
    none; any listing found by name, II and VI.C still enforced."""
    today = timezone.localdate()
    profile = matching_selectors.client_profile(referral)
    # Only the listings that can appear for this client: the same result, less to read.
    listings, vocabulary = matching_selectors.matching_inputs(profile)
    result = matching.match(listings, profile, vocabulary=vocabulary, today=today)
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
    return {
        "profile": profile,
        "result": result,
        # VI.C: for a medicated client, confirmed-safe suggestions apart from the others.
        "confirmed_safe": result.stance_confirmed(profile),
        "stance_unknown": result.stance_not_confirmed(profile),
        "form": form or ChooseGroupsForm(suggestions=result.suggestions),
        "refused": list(refused),
        "direct": direct_results(query, profile, today=today) if query else [],
        "query": query,
        "share": (matching_selectors.share_resources() if result.share_fallback or unmet else []),
        "language_unmet": unmet,
        "in_language": in_language,
        # VIII.C: phone, meeting times, languages, area and verification on each card.
        "cards": matching_selectors.card_facts(
            [s.listing.id for s in result.suggestions], today=today
        ),
    }


def next_waiting(referral: Referral, after: str = "") -> str:
    """The id of what waits next on the page: the input, the choice, or a step's card (the
    first waiting after the step ``after`` just done, else the first waiting)."""
    if referral.status == Referral.Status.PREPARING:
        return "choose-groups" if referral.approval == Referral.Approval.APPROVED else "input"
    waiting = procedure.waiting_steps(procedure_selectors.procedure_facts(referral))
    later = [step for step in waiting if step.value > after] if after else []
    step = (later or waiting or [None])[0]
    return f"step-{step.value[-1].lower()}" if step else "procedure"


# --- Answers ---------------------------------------------------------------------------------


def fresh(referral: Referral) -> Referral:
    """The referral as saved now, with what the page shows (the region is drawn after a write
    or a refusal, and must show the current state)."""
    return selectors.referrals().get(pk=referral.pk)


def render_work(
    request, referral: Referral, *, status: int = 200, notice: str = "", after: str = "", **extra
):
    """The working region (htmx) or the whole page (no JavaScript), with ``status``."""
    referral = fresh(referral)
    context = referral_context(request, referral, **extra)
    for row in context["steps"]:
        errors = context["step_errors"].get(row["definition"].step.value)
        if errors:
            row["errors"] = errors
    context["notice"] = notice
    context["failed"] = status >= 400
    context["focus"] = extra.get("focus") or (
        "step-errors" if status >= 400 else next_waiting(referral, after)
    )
    template = "referrals/_work.html" if is_fragment(request) else "referrals/referral.html"
    response = render(request, template, context, status=status)
    # The same address answers a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def refused(request, referral, status: int, *, code: str = "", errors=(), **forms):
    """What went wrong, beside the step, with the input kept."""
    step_errors = {code or "page": list(errors)}
    return render_work(request, referral, status=status, step_errors=step_errors, **forms)


def saved(request, referral: Referral, notice: str = "", *, after: str = ""):
    """After a save: the region again (htmx), or back to the page at what waits next (PRG)."""
    if is_fragment(request):
        return render_work(request, referral, notice=notice, after=after)
    referral.refresh_from_db(fields=["status", "close_reason", "approval"])
    return redirect(f"/referrals/{referral.pk}/#{next_waiting(referral, after)}")
