"""The clinic's follow-up schedule (VIII.J: "At regular intervals"; a clinic may change it).

A supervisor sets the weeks after referral at which their clinic's clinicians follow up
(default 1, 3 and 6). The schedule is read when groups are chosen (``services.
schedule_followups``), so a change applies to new referrals only; follow-ups already on a
worklist keep their dates. Every change is kept in the schedule's history, with who made it.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts import selectors as account_selectors
from accounts.access_log import access_logged
from accounts.models import AccessEvent
from accounts.permissions import permission_required
from referrals.models import FollowUpSchedule
from referrals.selectors import worklist
from referrals.services import followups as followup_services

MAX_WEEK = 52
MAX_ENTRIES = 8
HISTORY_SHOWN = 20


def parse_weeks(text: str) -> list[int]:
    """ "1, 3, 6" → [1, 3, 6]: whole weeks from 1 to 52, increasing, at most eight.

    Raises ``forms.ValidationError`` with every problem found, in plain words.
    """
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts:
        raise forms.ValidationError("Enter at least one week, for example “1, 3, 6”.")
    errors = []
    weeks = []
    for part in parts:
        if not part.isdecimal():
            errors.append(f"“{part[:20]}” is not a whole number of weeks.")
        else:
            weeks.append(int(part))
    if len(parts) > MAX_ENTRIES:
        errors.append(f"Give at most {MAX_ENTRIES} follow-ups; you gave {len(parts)}.")
    out_of_range = [w for w in weeks if not 1 <= w <= MAX_WEEK]
    if out_of_range:
        errors.append(
            f"Weeks run from 1 to {MAX_WEEK} after the referral: "
            + ", ".join(str(w) for w in out_of_range)
            + (" is" if len(out_of_range) == 1 else " are")
            + " outside that."
        )
    if not errors and any(b <= a for a, b in zip(weeks, weeks[1:], strict=False)):
        errors.append(
            "List the weeks in increasing order, each once (for example “1, 3, 6”, not “3, 1”)."
        )
    if errors:
        raise forms.ValidationError(errors)
    return weeks


class FollowUpScheduleForm(forms.Form):
    weeks = forms.CharField(
        label="Follow up after these weeks",
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text=(
            "Whole weeks after the referral, separated by commas, in increasing order: from 1 "
            f"to {MAX_WEEK}, at most {MAX_ENTRIES}. For example “1, 3, 6”."
        ),
    )

    def clean_weeks(self) -> list[int]:
        return parse_weeks(self.cleaned_data["weeks"])


def save_schedule(*, clinic_id: int, weeks: list[int], by) -> bool:
    """Store the clinic's weeks, with who set them (history). False when nothing changed."""
    with transaction.atomic():
        schedule = FollowUpSchedule.objects.select_for_update().filter(clinic_id=clinic_id).first()
        if schedule is None:
            if weeks == list(FollowUpSchedule.DEFAULT_WEEKS):
                return False
            schedule = FollowUpSchedule(clinic_id=clinic_id)
        elif list(schedule.weeks) == weeks:
            return False
        schedule.weeks = weeks
        schedule.updated_by = by
        schedule._history_user = by
        schedule.save()
    return True


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
        changed = save_schedule(
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
