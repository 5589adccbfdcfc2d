"""The referral procedure VIII.A–K as a checklist on the referral's page, and its follow-ups.

Each button posts here; a form checks the input, one ``services`` function applies the policy's
order (``referrals/rules/procedure.py``) and writes, under the page's version
(``views/work.py``: a page older than the last save answers 409 and writes nothing). The answer
is the page's working region in place (htmx), or Post/Redirect/Get without JavaScript.
A step the order does not allow yet answers 409 with the reason; bad input answers 400; both
show the message beside the step with nothing written.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from core.access import fetch
from referrals.forms import (
    AdvocateForm,
    CloseReferralForm,
    ContactAnswerForm,
    FollowUpAddForm,
    FollowUpDoneForm,
    IntroductionForm,
    NotApplicableForm,
    StepDoneForm,
)
from referrals.models import FollowUp, ProcedureStep, Referral
from referrals.rules import procedure
from referrals.selectors import procedure as procedure_selectors
from referrals.selectors import referral as selectors
from referrals.services import followups as followup_services
from referrals.services import procedure as procedure_services
from referrals.services import referral as referral_services
from referrals.views import work

LETTERS = {code[-1].lower(): code for code in ProcedureStep.Code.values}
# Steps done by their own page, not by the checklist's "done" button.
DONE_ELSEWHERE = {
    "VIII.B": "The client's input and approval page records this step.",
    "VIII.C": "Record the introduction with the peer contact chosen.",
    "VIII.H": "Record the advocate planned, then the sessions they went to.",
    "VIII.J": "Done when the follow-ups scheduled are recorded.",
    "VIII.K": "Record the client's answer.",
}


def _again(request, referral, status: int, *, code: str = "", errors=(), **forms):
    """The referral's region (htmx) or page again, with what went wrong beside the step and
    the input kept."""
    return work.refused(request, referral, status, code=code, errors=errors, **forms)


def _stale(request, referral, code: str = "", **forms):
    """409: the page was older than the referral's last save; nothing was written. If the
    policy's order now refuses the step anyway (closed in the other tab), that reason first."""
    errors = [work.STALE]
    if code:
        facts = procedure_selectors.procedure_facts(work.fresh(referral))
        problems = procedure.completion_problems(procedure.Step(code), facts)
        errors = [p.message for p in problems] + errors
    return _again(request, referral, 409, code=code, errors=errors, **forms)


def _referral(request, pk: int) -> Referral:
    return fetch(request, selectors.referrals(), pk)


def _code(letter: str) -> str:
    code = LETTERS.get(letter)
    if code is None:
        raise Http404("No such step")
    return code


def _done(request, referral, code: str = ""):
    """The region again, focus on the next step waiting after ``code`` (htmx); or back to the
    checklist at that step (no JavaScript), so the clinician need not scroll."""
    return work.saved(request, referral, after=code)


def _version(request):
    """The version the page was loaded with, or a 400 answer if it is not a number."""
    try:
        return work.posted_version(request), None
    except work.BadVersion:
        return None, "The form was damaged (its version is not a number); reload the page."


def _already_done(referral, code: str) -> bool:
    """A double-clicked button: the first click did this step already."""
    return ProcedureStep.objects.filter(
        referral=referral, code=code, status=ProcedureStep.Status.DONE
    ).exists()


@permission_required("referrals.change_procedurestep")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def step_done(request, pk: int, letter: str):
    """A, D, E, F, G, I: the clinician did it; a note may say how."""
    referral = _referral(request, pk)
    code = _code(letter)
    if code in DONE_ELSEWHERE:
        return _again(request, referral, 400, code=code, errors=[DONE_ELSEWHERE[code]])
    form = StepDoneForm(request.POST)
    version, bad = _version(request)
    if bad or not form.is_valid():
        return _again(request, referral, 400, code=code, errors=[bad] if bad else _messages(form))
    details = {}
    if code == ProcedureStep.Code.G:
        page = selectors.referral_page(referral, today=timezone.localdate())
        details = {
            "planned": {
                str(group_id): [m.on_date.isoformat() for m in planned]
                for group_id, planned in page["planned"].items()
            }
        }
    if code == ProcedureStep.Code.D:
        details = {"given": ["share", "friendship-line"]}
    if code == ProcedureStep.Code.E:
        details = {"given": ["client-coalition"]}
    try:
        with work.claimed(referral, version):
            procedure_services.complete_step(
                referral=referral,
                code=code,
                by=request.user,
                note=form.cleaned_data["note"],
                details=details,
            )
    except referral_services.ReferralConflict:
        if _already_done(referral, code):
            return _done(request, referral, code)
        return _stale(request, referral, code)
    except procedure_services.StepRefused as refused:
        return _again(
            request, referral, 409, code=code, errors=[p.message for p in refused.problems]
        )
    return _done(request, referral, code)


@permission_required("referrals.change_procedurestep")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def step_not_applicable(request, pk: int, letter: str):
    referral = _referral(request, pk)
    code = _code(letter)
    form = NotApplicableForm(request.POST)
    version, bad = _version(request)
    if bad or not form.is_valid():
        return _again(request, referral, 400, code=code, errors=[bad] if bad else _messages(form))
    try:
        with work.claimed(referral, version):
            procedure_services.mark_not_applicable(
                referral=referral, code=code, reason=form.cleaned_data["reason"], by=request.user
            )
    except referral_services.ReferralConflict:
        return _stale(request, referral, code)
    except procedure_services.StepRefused as refused:
        return _again(
            request, referral, 409, code=code, errors=[p.message for p in refused.problems]
        )
    return _done(request, referral, code)


@permission_required("referrals.change_procedurestep")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def introduction(request, pk: int):
    """VIII.C: the phone introduction to a consenting peer, first names only."""
    referral = _referral(request, pk)
    form = IntroductionForm(request.POST, peers=selectors.peers_for(referral))
    version, bad = _version(request)
    if bad or not form.is_valid():
        errors = [bad] if bad else _messages(form)
        return _again(request, referral, 400, code="VIII.C", errors=errors, intro_form=form)
    peer = form.cleaned_data["peer_contact"]
    try:
        with work.claimed(referral, version):
            procedure_services.complete_step(
                referral=referral,
                code=ProcedureStep.Code.C,
                by=request.user,
                note=form.cleaned_data["note"],
                details={"peer_first_name": peer.first_name, "group_id": peer.group_id},
                peer_contact=peer,
            )
    except referral_services.ReferralConflict:
        if _already_done(referral, ProcedureStep.Code.C):
            return _done(request, referral, ProcedureStep.Code.C)
        return _stale(request, referral, "VIII.C", intro_form=form)
    except procedure_services.StepRefused as refused:
        return _again(
            request, referral, 409, code="VIII.C", errors=[p.message for p in refused.problems]
        )
    return _done(request, referral, ProcedureStep.Code.C)


@permission_required("referrals.change_procedurestep")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def advocate(request, pk: int):
    """VIII.H: the peer advocate planned, and which of the first three sessions they went to."""
    referral = _referral(request, pk)
    form = AdvocateForm(request.POST)
    version, bad = _version(request)
    if bad or not form.is_valid():
        errors = [bad] if bad else _messages(form)
        return _again(request, referral, 400, code="VIII.H", errors=errors, advocate_form=form)
    try:
        with work.claimed(referral, version):
            if form.cleaned_data["sessions"]:
                procedure_services.record_advocate_sessions(
                    referral=referral,
                    first_name=form.cleaned_data["first_name"],
                    sessions=form.cleaned_data["sessions"],
                    by=request.user,
                )
            else:
                # The plan: who will go, before the first session.
                procedure_services.plan_advocate(
                    referral=referral, first_name=form.cleaned_data["first_name"], by=request.user
                )
    except referral_services.ReferralConflict:
        return _stale(request, referral, "VIII.H", advocate_form=form)
    except procedure_services.StepRefused as refused:
        return _again(
            request,
            referral,
            409,
            code="VIII.H",
            errors=[p.message for p in refused.problems],
            advocate_form=form,
        )
    return _done(request, referral, ProcedureStep.Code.H)


@permission_required("referrals.change_procedurestep")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def contact_answer(request, pk: int):
    """VIII.K: asked to be a contact person; a yes records consent, first name and phone."""
    referral = _referral(request, pk)
    form = ContactAnswerForm(request.POST, groups=work.chosen_groups(referral))
    version, bad = _version(request)
    if bad or not form.is_valid():
        errors = [bad] if bad else _messages(form)
        return _again(request, referral, 400, code="VIII.K", errors=errors, contact_form=form)
    try:
        with work.claimed(referral, version):
            procedure_services.record_contact_answer(
                referral=referral,
                answer=form.cleaned_data["answer"],
                group=form.cleaned_data.get("group"),
                first_name=form.cleaned_data.get("first_name", ""),
                phone=form.cleaned_data.get("phone"),
                by=request.user,
            )
    except referral_services.ReferralConflict:
        return _stale(request, referral, "VIII.K", contact_form=form)
    except procedure_services.StepRefused as refused:
        return _again(
            request,
            referral,
            409,
            code="VIII.K",
            errors=[p.message for p in refused.problems],
            contact_form=form,
        )
    return _done(request, referral, ProcedureStep.Code.K)


@permission_required("referrals.add_followup")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def followup_add(request, pk: int):
    referral = _referral(request, pk)
    form = FollowUpAddForm(request.POST)
    version, bad = _version(request)
    if bad or not form.is_valid():
        errors = [bad] if bad else _messages(form)
        return _again(request, referral, 400, code="VIII.J", errors=errors, followup_add_form=form)
    try:
        with work.claimed(referral, version):
            followup_services.add_followup(
                referral=referral, due_on=form.cleaned_data["due_on"], by=request.user
            )
    except referral_services.ReferralConflict:
        return _stale(request, referral, "VIII.J", followup_add_form=form)
    except procedure_services.StepRefused as refused:
        return _again(
            request,
            referral,
            400,
            code="VIII.J",
            errors=[p.message for p in refused.problems],
            followup_add_form=form,
        )
    return _done(request, referral, ProcedureStep.Code.J)


@permission_required("referrals.change_followup")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def followup_done(request, pk: int, followup_id: int):
    """VIII.I–J: the check-in happened: the client reported back, or was reminded."""
    referral = _referral(request, pk)
    followup = get_object_or_404(FollowUp, pk=followup_id, referral=referral)
    form = FollowUpDoneForm(request.POST)
    # The worklist's forms carry no version: a follow-up is recorded once, whatever changed.
    version, bad = _version(request)
    if bad or not form.is_valid():
        return _again(
            request, referral, 400, code="VIII.J", errors=[bad] if bad else _messages(form)
        )
    try:
        with work.claimed(referral, version):
            followup_services.complete_followup(
                followup=followup,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
    except referral_services.ReferralConflict:
        return _stale(request, referral, "VIII.J")
    if request.POST.get("next") == "worklist":
        messages.success(request, "Follow-up recorded.")
        return redirect("clinician-home")
    return _done(request, referral, ProcedureStep.Code.J)


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EDIT)
@require_POST
def close(request, pk: int):
    referral = _referral(request, pk)
    form = CloseReferralForm(request.POST)
    version, bad = _version(request)
    if bad or not form.is_valid():
        errors = [bad] if bad else _messages(form)
        return _again(request, referral, 400, errors=errors, close_form=form)
    try:
        with work.claimed(referral, version):
            procedure_services.close_referral(
                referral=referral,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
    except referral_services.ReferralConflict:
        return _stale(request, referral, close_form=form)
    except procedure_services.StepRefused as refused:
        return _again(
            request, referral, 409, errors=[p.message for p in refused.problems], close_form=form
        )
    if not work.is_fragment(request):
        messages.success(request, "The referral is closed.")
    return work.saved(request, referral, notice="The referral is closed.")


def _messages(form) -> list[str]:
    return [
        f"{form.fields[field].label or field}: {error}" if field != "__all__" else error
        for field, errors in form.errors.items()
        for error in errors
    ]
