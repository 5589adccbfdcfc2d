"""The note for the clinical record (policy IX.A–B): a printable page and a text download.

``GET /referrals/record-note/<client_id>/?start=YYYY-MM-DD&end=YYYY-MM-DD`` shows the note to
copy or print; ``.../note.txt`` downloads the same text. The note is a use of the client's
record, so each request writes one access-log row: ``print`` for the page (it is the printable
page), ``export`` for the download. Clinicians and supervisors may see it
(``clients.view_attendance``); a client of another clinic is "not found" and the attempt is
logged with the id asked for. The address carries the client's database id and the dates only:
no name. Bad dates answer 400 with what is wrong, never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.rules import record_note as notes
from clients.selectors import record_note as note_selectors
from core import periods
from core.access import fetch

TEMPLATE = "clients/record_note.html"


def _client(request, client_id: int):
    """The client, of the user's clinic, or 404 (logged with the id asked for)."""
    return fetch(request, note_selectors.note_clients(), client_id)


def _note(request, client, today):
    """The period from the address (or ``BadPeriod``) and the note for it."""
    start, end = notes.parse_period(request.GET, today=today)
    data = note_selectors.gather(
        client, start=start, end=end, prepared_by=request.user, today=today
    )
    return start, end, notes.build(data)


@permission_required("clients.view_attendance")
@access_logged(AccessEvent.Action.PRINT)
@require_safe
def record_note(request, client_id: int):
    client = _client(request, client_id)
    today = timezone.localdate()
    context = {"client": client, "today": today, **_limits()}
    try:
        start, end, note = _note(request, client, today)
    except periods.BadPeriod as bad:
        context["problems"] = bad.problems
        context["start_value"] = request.GET.get("start", "")[:20]
        context["end_value"] = request.GET.get("end", "")[:20]
        return render(request, TEMPLATE, context, status=400)
    query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
    download = reverse("clients:record-note-text", kwargs={"client_id": client.pk})
    context.update(
        note=note,
        start_value=start.isoformat(),
        end_value=end.isoformat(),
        download_url=f"{download}?{query}",
        part2_heading=notes.PART2_HEADING,
        part2_statement=notes.PART2_STATEMENT,
    )
    return render(request, TEMPLATE, context)


@permission_required("clients.view_attendance")
@access_logged(AccessEvent.Action.EXPORT)
@require_safe
def record_note_text(request, client_id: int):
    client = _client(request, client_id)
    try:
        _, end, note = _note(request, client, timezone.localdate())
    except periods.BadPeriod as bad:
        return HttpResponse(
            "\n".join(bad.problems) + "\n", content_type="text/plain; charset=utf-8", status=400
        )
    response = HttpResponse(note.text, content_type="text/plain; charset=utf-8")
    # The file name carries the database id and the end date only: no name or record number,
    # since downloaded files' names show in folders, browser histories and email subjects.
    response["Content-Disposition"] = (
        f'attachment; filename="self-help-note-{client.pk}-{end.isoformat()}.txt"'
    )
    return response


def _limits() -> dict:
    return {"default_days": notes.DEFAULT_DAYS, "max_days": notes.MAX_DAYS}
