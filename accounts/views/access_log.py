"""The supervisor's view of the clinic's access log: filtered, a page at a time."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.forms import AccessEventFilter
from accounts.permissions import permission_required
from accounts.selectors import access_log, staff


@permission_required("accounts.view_clinic_access_log")
@require_safe
def access_log_list(request):
    """The supervisor's clinic's access log, filtered, a page at a time (newer and older)."""
    clinic = request.user.clinic
    events = access_log.clinic_access_events(clinic)
    people = staff.clinic_staff(clinic).prefetch_related(None)
    event_filter = AccessEventFilter(request.GET or None, queryset=events, staff_queryset=people)
    context = {"filter": event_filter, "page": None, "clinic": clinic}
    if event_filter.is_bound and not event_filter.is_valid():
        return render(request, "accounts/access_log.html", context, status=400)
    try:
        position = access_log.access_log_position(request.GET)
    except access_log.BadCursor:
        context["bad_cursor"] = True
        return render(request, "accounts/access_log.html", context, status=400)
    context["page"] = access_log.access_event_page(event_filter.qs, position, request.GET)
    context["per_page"] = access_log.ACCESS_LOG_PAGE_SIZE
    return render(request, "accounts/access_log.html", context)
