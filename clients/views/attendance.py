"""Document attendance (IX.A) from the client's page: one group, one or several dates at once.

The clinician chooses the group (the client's referred groups first), types the dates, attended
or missed, the meeting when known, whether a peer advocate went along (VIII.H) and how it became
known. The form checks the dates against the record (``attendance.problems_for``) so that every
problem is listed at once; the service checks again, as the authority, and saves all the dates
or none. A refusal answers 400 with every problem beside its field and the input kept.

Clinicians only (supervisors may view the client's page but not record). Another clinic's client
answers 404 like a missing one. The access log gets one ``view`` row when the form is opened (it
shows the client's name and groups) and one ``create`` row when it is sent, saved or refused.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.forms import AttendanceForm
from clients.rules import attendance as attendance_rules
from clients.selectors import attendance
from clients.selectors import clients as client_selectors
from clients.services import attendance as attendance_services
from core.access import fetch


def _form(client, data=None, *, today) -> AttendanceForm:
    referred, others = attendance.form_groups(client)
    group_ids = [pk for pk, _ in referred]
    posted = (data or {}).get("group", "")
    if posted.isdecimal():
        group_ids.append(int(posted))  # so the meeting of another listing can be named too
    return AttendanceForm(
        data,
        client=client,
        today=today,
        referred=referred,
        others=others,
        meetings=attendance.form_meetings(group_ids),
    )


def _client(request, client_id: int):
    return fetch(request, client_selectors.client_rows(), client_id)  # 404 for another clinic's


def _page(request, client, form, *, status=200):
    return render(
        request,
        "clients/attendance_form.html",
        {"client": client, "form": form, "today": timezone.localdate()},
        status=status,
    )


@permission_required("clients.add_attendance")
@require_http_methods(["GET", "POST"])
def record(request, client_id: int):
    if request.method == "POST":
        return _save(request, client_id)
    return _show(request, client_id)


@access_logged(AccessEvent.Action.VIEW)
def _show(request, client_id: int):
    client = _client(request, client_id)
    return _page(request, client, _form(client, today=timezone.localdate()))


@access_logged(AccessEvent.Action.CREATE)
def _save(request, client_id: int):
    client = _client(request, client_id)
    today = timezone.localdate()
    form = _form(client, request.POST, today=today)
    if not form.is_valid():
        return _page(request, client, form, status=400)
    data = form.cleaned_data
    try:
        rows = attendance_services.record_attendance(
            client=client,
            group=data["group"],
            dates=data["dates"],
            status=data["status"],
            meeting=data["meeting"],
            accompanied=data["accompanied"],
            source=data["source"],
            before_referral_reason=data["before_referral_reason"],
            by=request.user,
            today=today,
        )
    except attendance_rules.AttendanceRefused as refused:
        for problem in refused.problems:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        return _page(request, client, form, status=400)
    request.access_log.subject(rows[0])  # what was created: attendance, not the client
    # No names in the message: messages may travel in a cookie.
    count = len(rows)
    messages.success(request, f"{count} meeting{'s' if count != 1 else ''} documented.")
    return redirect(reverse("clients:detail", kwargs={"pk": client.pk}) + "#attendance")
