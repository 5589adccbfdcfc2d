"""Keeping the list current (policy VII.D): the verification call screen, the e-mailed link,
the review of the groups' change requests, clinicians' reports, and the progress page.

The call queue itself reads the referrals and lives in ``referrals.views.verification_queue``.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import permission_required
from directory.forms import (
    CallForm,
    MeetingFormSetFactory,
    ReportForm,
    ReviewChangeForm,
    SendLinkForm,
    row_edits,
)
from directory.models import Criterion, Group, Language, VerificationCall, current_months
from directory.rules.currency import (
    QUESTION_ENCOURAGE_STOP,
    QUESTION_FULL_MEMBERS,
    Answer,
    Attempt,
    Outcome,
    archive_proposal,
)
from directory.selectors import change_requests as change_selectors
from directory.selectors import manage as manage_selectors
from directory.selectors import progress as progress_selectors
from directory.services import change_requests as change_services
from directory.services import verification as services
from directory.views.manage import _next

QUEUE_URL = "referrals:verification-queue"


def _call_context(group: Group):
    statuses = {row.criterion: row.status for row in group.criteria.all()}
    calls = list(group.verification_calls.select_related("called_by")[:10])
    today = manage_selectors.local_today()
    attempts = [Attempt(c.called_on, Outcome(c.outcome)) for c in calls]
    return statuses, calls, archive_proposal(attempts, today)


def _group_for_call(slug):
    return get_object_or_404(
        Group.objects.select_related("last_verified_by").prefetch_related(
            "languages",
            "contacts",
            "criteria",
            Prefetch("review_flags", to_attr="all_flags"),
        ),
        slug=slug,
    )


@permission_required("directory.add_verificationcall")
@require_http_methods(["GET", "POST"])
def call(request, slug):
    """One listing's call: the number, the script, the answers, saved in one go (VII.D)."""
    group = _group_for_call(slug)
    statuses, calls, archive_reason = _call_context(group)
    data = request.POST if request.method == "POST" else None
    form = CallForm(data, group=group, statuses=statuses, languages=Language.objects.all())
    meetings = MeetingFormSetFactory(
        data, instance=group, queryset=manage_selectors.meetings_for_edit(), prefix="meetings"
    )
    status = 200
    if data is not None:
        valid = form.is_valid()
        # The meetings count only when the group was reached; a failed attempt saves none.
        reached = valid and form.reached()
        if valid and (not reached or meetings.is_valid()):
            cleaned = form.cleaned_data
            answers = None
            if reached:
                answers = services.CallAnswers(
                    encourages_stopping=Answer(cleaned["encourages_stopping"]),
                    full_members=Answer(cleaned["full_members"]),
                    criteria=form.statuses(),
                    fees_note=cleaned["fees_note"],
                    languages=cleaned["languages"],
                    meetings=row_edits(meetings),
                )
            services.record_call(
                group=group,
                outcome=cleaned["outcome"],
                by=request.user,
                number_called=cleaned["number_called"],
                spoke_with=cleaned["spoke_with"],
                note=cleaned["note"],
                answers=answers,
            )
            outcome = VerificationCall.Outcome(cleaned["outcome"]).label
            if reached:
                messages.success(request, f"“{group.name}” is verified and current: {outcome}.")
            else:
                messages.info(request, f"Attempt recorded for “{group.name}”: {outcome}.")
            return redirect(reverse("directory:call", kwargs={"slug": group.slug}))
        status = 400
    return render(
        request,
        "directory/verification/call.html",
        {
            "group": group,
            "form": form,
            "meetings": meetings,
            "calls": calls,
            "archive_reason": archive_reason,
            "open_flags": [flag for flag in group.all_flags if flag.is_open],
            "phones": [c for c in group.contacts.all() if c.phone],
            "question_stop": QUESTION_ENCOURAGE_STOP,
            "question_members": QUESTION_FULL_MEMBERS,
            "criteria": list(Criterion),
            "link_form": SendLinkForm(
                initial={"email": next((c.email for c in group.contacts.all() if c.email), "")}
            ),
        },
        status=status,
    )


@permission_required("directory.add_verificationlink")
@require_POST
def send_link(request, slug):
    """E-mail the group a single-use link to confirm or correct its listing."""
    group = get_object_or_404(Group.objects.current(), slug=slug)
    form = SendLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a valid e-mail address for the link.")
        return redirect(reverse("directory:call", kwargs={"slug": slug}))
    site_url = getattr(settings, "SITE_URL", "") or request.build_absolute_uri("/").rstrip("/")
    change_services.send_verification_link(
        group=group, email=form.cleaned_data["email"], by=request.user, site_url=site_url
    )
    messages.success(request, f"A verification link was e-mailed to {form.cleaned_data['email']}.")
    return redirect(reverse("directory:call", kwargs={"slug": slug}))


# --- The review of change requests -------------------------------------------------------------


@permission_required("directory.change_changerequest")
@require_safe
def change_requests(request):
    page = change_selectors.open_requests(request.GET.get("page"))
    return render(request, "directory/verification/change_requests.html", {"page": page})


@permission_required("directory.change_changerequest")
@require_http_methods(["GET", "POST"])
def change_request_review(request, pk):
    change = change_selectors.request_for_review(pk)
    data = request.POST if request.method == "POST" else None
    form = ReviewChangeForm(data, request=change)
    status = 200
    if change.state != change.State.OPEN and data is not None:
        messages.info(request, "This request was reviewed already.")
        return redirect(reverse("directory:change-requests"))
    if data is not None:
        if form.is_valid():
            try:
                change_services.review_change_request(
                    request=change,
                    decisions=form.decisions(),
                    verify=request.POST.get("verify") == "on",
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, "; ".join(error.messages))
            except change_services.AlreadyReviewed:
                messages.info(request, "This request was reviewed already.")
                return redirect(reverse("directory:change-requests"))
            else:
                messages.success(request, f"The request about “{change.group.name}” is reviewed.")
                return redirect(reverse("directory:change-requests"))
        status = 400
    return render(
        request,
        "directory/verification/change_request.html",
        {
            "change": change,
            "form": form,
            "current": change_selectors.current_values(change.group),
        },
        status=status,
    )


# --- Clinicians' one-click reports -------------------------------------------------------------


@permission_required("directory.view_group")
@require_POST
def report(request, slug):
    """A clinician reports a listing from its page or a suggestion card: a flag for the site
    admin's queue. Back to where they were, with a word that it was received."""
    group = get_object_or_404(Group.objects.current(), slug=slug)
    form = ReportForm(request.POST)
    back = _next(request, reverse("directory:group", kwargs={"slug": slug}))
    if not form.is_valid():
        return render(
            request,
            "directory/verification/report_refused.html",
            {"group": group, "form": form, "back": back},
            status=400,
        )
    services.report_listing(
        group=group,
        kind=form.cleaned_data["kind"],
        note=form.cleaned_data["note"],
        by=request.user,
    )
    messages.success(request, f"Thank you: your report on “{group.name}” went to the site admins.")
    return redirect(back)


# --- Progress ----------------------------------------------------------------------------------


@permission_required("directory.view_verification_progress")
@require_safe
def progress(request):
    """How current the list is: by heading and by SPA, calls this month, open requests."""
    data = progress_selectors.progress(manage_selectors.local_today())
    sections = [
        ("heading", "By heading", data.by_heading, "currency-heading-data"),
        ("area", "By Service Planning Area", data.by_area, "currency-area-data"),
    ]
    return render(
        request,
        "directory/verification/progress.html",
        {"progress": data, "sections": sections, "months": current_months()},
    )
