"""The supervisor's review of their clinic's self-help documentation (policy IX.A–B).

Three addresses, for supervisors only (others get 403), each reaching only their own clinic:

* ``review/`` (GET): per clinician, for a period (default the last 90 days), the figures of
  ``clients.selectors.review``, the documentation gaps (``weeks``, 1 to 26, default 4), charts
  each with a table of the same numbers, and the sign-offs. The gaps name clients, so each
  request writes one ``view`` row (object ``supervisor-review``, the period as its id).
* ``review/export.csv`` (GET): the per-clinician figures as CSV, streamed, with no client's name
  or id; one ``export`` row.
* ``review/sign-off/`` (POST): a supervisor signs off a clinician's documentation for a period
  with a note (IX); a second sign-off of that period answers 409 and writes nothing.

Bad parameters answer 400 with the reason, never 500.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.forms import ReviewQueryForm, SignOffForm
from clients.selectors import review
from clients.selectors.review import ClinicianFigures
from clients.services import review as review_services
from core.csv import escape_formula
from core.periods import Period

LOG_TYPE = "supervisor-review"


# --- the sign-off form -----------------------------------------------------------------------


# --- the page --------------------------------------------------------------------------------


def _query_form(data, today) -> ReviewQueryForm:
    return ReviewQueryForm(data, today=today)


def _render(request, *, query_form, sign_off_form=None, status=200):
    """The page; when ``query_form`` is not valid, only the form and its messages."""
    today = timezone.localdate()
    clinic_id = request.user.clinic_id
    context = {"query_form": query_form, "clinic": request.user.clinic, "today": today}
    if query_form.is_valid():
        period = query_form.cleaned_data["period"]
        weeks = query_form.cleaned_data["weeks"]
        # The form shows the period in effect, defaults included.
        context["query_form"] = ReviewQueryForm(
            today=today, initial={"start": period.start, "end": period.end, "weeks": weeks}
        )
        request.access_log.attempted(LOG_TYPE, period.log_id)
        query = QueryDict(mutable=True)
        query.update({**period.as_query(), "weeks": str(weeks)})
        data = review.review(
            clinic_id,
            period,
            gap_weeks=weeks,
            gaps_page_number=request.GET.get("page"),
            gaps_query=query,
        )
        if sign_off_form is None:
            sign_off_form = SignOffForm(
                clinic_id=clinic_id,
                today=today,
                initial={"period_start": period.start, "period_end": period.end},
            )
        sign_off_form.offer(data.staff)
        context |= {
            "review": data,
            "period": period,
            "weeks": weeks,
            "query": query.urlencode(),
            "clauses": [
                (clause, review.CLAUSE_TITLES[clause]) for clause, _ in review.NOT_REFERRED_CLAUSES
            ],
            "sign_off_form": sign_off_form,
        }
    else:
        request.access_log.attempted(LOG_TYPE, "")
    return render(request, "clients/review.html", context, status=status)


@permission_required("accounts.use_supervisor_home")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def review_page(request):
    """The review for the supervisor's clinic and a period (GET parameters)."""
    query_form = _query_form(request.GET, timezone.localdate())
    status = 200 if query_form.is_valid() else 400
    return _render(request, query_form=query_form, status=status)


# --- sign-off --------------------------------------------------------------------------------


@permission_required("clients.add_documentationsignoff")
@require_POST
@access_logged(AccessEvent.Action.CREATE)
def sign_off(request):
    """A sign-off is logged as the sign-off it creates; refused, as an attempt to create one
    (the page shown again is part of that request, not a view of its own)."""
    request.access_log.attempted("documentationsignoff", "")
    today = timezone.localdate()
    clinic_id = request.user.clinic_id
    form = SignOffForm(request.POST, clinic_id=clinic_id, today=today)
    if clinic_id is None:
        form.is_valid()
        form.add_error(None, "Your account has no clinic, so there is no one to sign off.")
        return _refused(request, form, status=400)
    if not form.is_valid():
        return _refused(request, form, status=400)
    data = form.cleaned_data
    signed = review_services.record_sign_off(
        clinic_id=clinic_id,
        clinician=data["clinician"],
        start=data["period_start"],
        end=data["period_end"],
        note=data["note"],
        by=request.user,
    )
    name = form.fields["clinician"].label_from_instance(data["clinician"])
    period = Period(data["period_start"], data["period_end"])
    if signed is None:
        form.add_error(
            None,
            f"{name}'s documentation for {period.start:%b %-d, %Y} to {period.end:%b %-d, %Y} "
            "is already signed off: a period is signed off once. Nothing was saved.",
        )
        return _refused(request, form, status=409)
    request.access_log.subject(signed)
    messages.success(
        request,
        f"Signed off {name}'s documentation for {period.start:%b %-d, %Y} to "
        f"{period.end:%b %-d, %Y}.",
    )
    query = QueryDict(mutable=True)
    query.update(period.as_query())
    return redirect(f"{reverse('clients:review')}?{query.urlencode()}")


def _refused(request, form, *, status):
    """The page again, for the period it was sent from, with the sign-off form's messages."""
    today = timezone.localdate()
    query_form = _query_form(
        {key: request.POST.get(key, "") for key in ("start", "end", "weeks")}, today
    )
    if not query_form.is_valid():
        query_form = _query_form({}, today)
    response = _render(request, query_form=query_form, sign_off_form=form, status=status)
    request.access_log.attempted("documentationsignoff", "")  # the page names the review
    return response


# --- CSV -------------------------------------------------------------------------------------

CSV_HEADER = (
    "clinic",
    "period_start",
    "period_end",
    "clinician",
    "username",
    "screened",
    "screening_incomplete",
    "not_referred",
    *(f"not_referred_{clause}" for clause, _ in review.NOT_REFERRED_CLAUSES),
    "referred",
    "attendance_documented",
    "six_in_a_row",
    "concerns_raised",
    "documentation_gaps",
    "gap_weeks",
    "signed_off_at",
)


class _Echo:
    """A file-like object whose ``write`` returns the line, for ``csv.writer`` to stream."""

    def write(self, value):
        return value


def csv_lines(
    rows: Iterable[ClinicianFigures], *, clinic_name: str, period: Period, gap_weeks: int
) -> Iterator[str]:
    """The header, then one line per clinician. Staff names and counts only: no client's
    name, record number or id. Every text cell goes through the formula guard."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for row in rows:
        signed = timezone.localtime(row.signed_off_at).isoformat() if row.signed_off_at else ""
        yield writer.writerow(
            [
                escape_formula(clinic_name),
                period.start.isoformat(),
                period.end.isoformat(),
                escape_formula(row.name),
                escape_formula(row.clinician.get_username()),
                row.screened,
                row.incomplete,
                row.not_referred,
                *(count for _, count in row.not_referred_by_clause),
                row.referred,
                row.attendance_documented,
                row.six_in_a_row,
                row.concerns,
                row.gaps,
                gap_weeks,
                signed,
            ]
        )


@permission_required("accounts.use_supervisor_home")
@require_safe
@access_logged(AccessEvent.Action.EXPORT)
def review_export(request):
    """The per-clinician figures for the period, as CSV (streamed)."""
    query_form = _query_form(request.GET, timezone.localdate())
    if not query_form.is_valid():
        request.access_log.attempted(LOG_TYPE, "")
        problems = [str(e) for errors in query_form.errors.values() for e in errors]
        return HttpResponse(
            "The figures could not be exported: " + " ".join(problems) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    period = query_form.cleaned_data["period"]
    weeks = query_form.cleaned_data["weeks"]
    request.access_log.attempted(LOG_TYPE, period.log_id)
    rows = review.clinician_figures(
        request.user.clinic_id, period, gap_weeks=weeks, now=timezone.now()
    )
    clinic = request.user.clinic
    response = StreamingHttpResponse(
        csv_lines(rows, clinic_name=clinic.name if clinic else "", period=period, gap_weeks=weeks),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="supervisor-review-{period.start:%Y-%m-%d}-to-'
        f'{period.end:%Y-%m-%d}.csv"'
    )
    return response
