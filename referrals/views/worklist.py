"""The clinician's worklist (their home page) and the clinic's follow-up schedule (VIII.J).

A supervisor sets the weeks after referral at which their clinic's clinicians follow up
(default 1, 3 and 6: "at regular intervals"). The schedule is read when groups are chosen
(``referrals/services/followups.py``), so a change applies to new referrals only; follow-ups
already on a worklist keep their dates. Every change is kept in the schedule's history, with
who made it.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.selectors import access_log as account_selectors
from accounts.services.access_log import access_logged
from referrals.forms import FollowUpScheduleForm
from referrals.models import FollowUpSchedule
from referrals.selectors import worklist
from referrals.services import followups as followup_services

HISTORY_SHOWN = 20


def _render(request, form, *, status=200):
    clinic_id = request.user.clinic_id
    history = []
    if clinic_id is not None:
        history = list(
            FollowUpSchedule.history.filter(clinic_id=clinic_id)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")[:HISTORY_SHOWN]
        )
    return render(
        request,
        "referrals/followup_schedule.html",
        {
            "form": form,
            "current": followup_services.schedule_weeks(clinic_id) if clinic_id else [],
            "default": list(FollowUpSchedule.DEFAULT_WEEKS),
            "history": history,
            "clinic": request.user.clinic,
        },
        status=status,
    )


@permission_required("referrals.view_followupschedule")
@require_http_methods(["GET", "POST"])
def followup_schedule(request):
    if request.method == "POST":
        return _save(request)
    current = (
        followup_services.schedule_weeks(request.user.clinic_id) if request.user.clinic_id else []
    )
    form = FollowUpScheduleForm(initial={"weeks": ", ".join(str(w) for w in current)})
    return _render(request, form)


@permission_required("referrals.change_followupschedule")
def _save(request):
    form = FollowUpScheduleForm(request.POST)
    if request.user.clinic_id is None:
        form.is_valid()
        form.add_error(None, "Your account has no clinic, so there is no schedule to change.")
        return _render(request, form, status=400)
    if not form.is_valid():
        return _render(request, form, status=400)
    try:
        changed = followup_services.save_schedule(
            clinic_id=request.user.clinic_id, weeks=form.cleaned_data["weeks"], by=request.user
        )
    except IntegrityError:
        # Two supervisors saved the clinic's first schedule at the same moment.
        form.add_error(None, "Someone else changed the schedule at the same moment. Try again.")
        return _render(request, form, status=409)
    if changed:
        messages.success(
            request,
            "The follow-up schedule is saved. New referrals use it; follow-ups already "
            "scheduled keep their dates.",
        )
    else:
        messages.info(request, "The schedule was already that: nothing changed.")
    return redirect("referrals:followup-schedule")


@permission_required("accounts.use_clinician_home")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def clinician_home(request):
    """The clinician's home is their worklist (VIII.I–J): follow-ups due, referrals waiting on
    a step, clients due to report back. It lives here, not in accounts, because it reads
    referrals (dependencies point one way). It names clients, so it is logged like a list."""
    request.access_log.attempted("client", "")
    return render(
        request,
        "accounts/home_clinician.html",
        {
            "activity": account_selectors.recent_account_activity(request.user),
            "worklist": worklist.clinician_worklist(
                request.user, today=timezone.localdate(), query=request.GET
            ),
        },
    )
