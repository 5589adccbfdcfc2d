"""Exchanging the annotated referral list (policy VII.D) in open formats.

Exports, for everyone who may read the list (``directory.view_group``): CSV, XLSX, Open
Referral HSDS 3.0 and the Meeting Guide feed, none built whole in memory (see below). Imports,
for site admins: listings from CSV and meetings from a Meeting Guide file, each shown as a
preview first and written, all or nothing, only when confirmed. The formats are pure
(``directory.rules``), the catalogue's snapshot and the import plans read
(``directory.selectors``), and the confirmed imports write (``directory.services``).
"""

from django.conf import settings
from django.contrib import messages
from django.db import DataError, IntegrityError
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import permission_required
from core import streaming
from directory.forms import ConfirmForm, MeetingUploadForm, UploadForm
from directory.models import Group
from directory.rules import hsds, spreadsheet
from directory.rules import meeting_guide as meeting_feed
from directory.rules.uploads import FileRefused, decode_utf8
from directory.selectors import csv_import as csv_plans
from directory.selectors import meeting_guide as meeting_plans
from directory.selectors import snapshot
from directory.services import csv_import as csv_writes
from directory.services import meeting_guide as meeting_writes
from directory.views import uploads
from directory.views.caching import catalogue_cached

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_TYPE = "application/json"  # what JsonResponse sent before these exports streamed


def _attachment(response, stem: str, extension: str):
    response["Content-Disposition"] = (
        f'attachment; filename="{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"'
    )
    return response


def _streamed(pieces, content_type: str, stem: str, extension: str):
    """An export sent as it is written: chunks of text (``streaming.buffered``), read from
    the database a chunk of listings at a time, so the file is never whole in memory."""
    response = StreamingHttpResponse(streaming.buffered(pieces), content_type=content_type)
    return _attachment(response, stem, extension)


# --- Exports --------------------------------------------------------------------------------
# Built once per catalogue version and served from the shared-reads cache with an ETag
# (directory.views.caching): twenty people exporting at once cost one build.
# Each export grows with the directory (2,000 listings with 20,000 meetings in the county), so
# none is built whole in memory: CSV and JSON stream; the workbook is written to a temporary
# file, which is then sent a block at a time.


@permission_required("directory.view_group")
@require_GET
@catalogue_cached
def export_csv(request):
    """Streamed: rows leave as the database yields them, a chunk of listings at a time."""
    return _streamed(
        spreadsheet.csv_lines(snapshot.listings()),
        "text/csv; charset=utf-8",
        "self-help-groups",
        "csv",
    )


@permission_required("directory.view_group")
@require_GET
@catalogue_cached
def export_xlsx(request):
    """Written to a temporary file by openpyxl's write-only workbook, then sent from it.

    An XLSX file is a zip archive whose parts are only complete at the end, so it cannot
    leave as it is written; the temporary file keeps memory bounded instead, and
    ``FileResponse`` sends it in blocks and deletes it when done.
    """
    response = FileResponse(spreadsheet.xlsx_file(snapshot.listings()), content_type=XLSX_TYPE)
    return _attachment(response, "self-help-groups", "xlsx")


def _hsds_pieces():
    total, listings = snapshot.counted_listings(with_meetings=True, with_criteria=True)
    yield from hsds.document_pieces(total, listings, today=timezone.localdate())


@permission_required("directory.view_group")
@require_GET
@catalogue_cached
def export_hsds(request):
    """Streamed, an organization at a time; the page header's count comes with the rows."""
    return _streamed(_hsds_pieces(), JSON_TYPE, "self-help-groups-hsds", "json")


@permission_required("directory.view_group")
@require_GET
@catalogue_cached
def meeting_guide_feed(request):
    """Streamed, a meeting at a time."""
    items = meeting_feed.feed_items(
        snapshot.listings(with_meetings=True), timezone=settings.TIME_ZONE
    )
    return _streamed(streaming.json_array(items), JSON_TYPE, "self-help-meetings", "json")


# --- Imports --------------------------------------------------------------------------------

EXPIRED = (
    "This preview has expired or was already imported (a preview can be confirmed once, "
    "within an hour). Upload the file again."
)
OUTDATED = (
    "The directory changed after the preview was made (someone saved a listing or imported "
    "a file), so nothing was written. Here is the preview again as things are now."
)
NOT_WRITTEN = (
    "The import could not be written, and nothing of it was saved: {error}. Upload the file "
    "again to see a fresh preview."
)


def _read_upload(form, kind: str) -> str | None:
    try:
        return decode_utf8(form.cleaned_data["file"].read(), kind=kind)
    except FileRefused as refused:
        form.add_error("file", refused.message)
        return None


def _has_changes(plan) -> bool:
    return plan.count("create") + plan.count("update") > 0


def _preview(
    request, plan, text, *, kind, template, options=None, context=None, notice="", status=None
):
    """The preview of an upload: what would change, and a confirm form only if it can be written.

    The upload is kept server-side (``uploads.keep``) under a single-use token; the form
    carries only that token and the content's hash.
    """
    pending = None
    if plan.ok and _has_changes(plan):
        pending = uploads.keep(
            request, kind=kind, content=text, fingerprint=plan.fingerprint, options=options
        )
    confirm = (
        ConfirmForm(initial={"token": pending.token, "sha256": pending.sha256}) if pending else None
    )
    if status is None:
        status = 200 if plan.ok else 400
    return render(
        request,
        template,
        {**(context or {}), "plan": plan, "notice": notice, "confirm": confirm},
        status=status,
    )


# The rows a preview lists one by one. A 5,000-row table took longer to render than the
# worker's timeout allows under load, and nobody reads it: the counts say what the file does,
# the problems are all listed apart, and the first rows show what a change looks like.
PREVIEW_ROWS = 300


def _csv_preview(request, plan, text, *, notice="", status=None):
    listed = plan.rows
    if len(listed) > PREVIEW_ROWS:
        listed = [row for row in plan.rows if row.action != "unchanged"][:PREVIEW_ROWS]
    return _preview(
        request,
        plan,
        text,
        kind="csv",
        template="directory/exchange/csv_preview.html",
        options={"rows": len(plan.rows)},
        context={"listed": listed, "unlisted": len(plan.rows) - len(listed)},
        notice=notice,
        status=status,
    )


@permission_required("directory.add_group")
@permission_required("directory.change_group")
@require_http_methods(["GET", "POST"])
def import_csv(request):
    """Upload, preview, confirm: nothing is written before the confirmation."""
    if request.method == "POST" and "token" in request.POST:
        return _confirm_csv(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        text = _read_upload(form, "CSV")
        if text is not None:
            try:
                plan = csv_plans.plan_import(text)
            except FileRefused as refused:
                form.add_error("file", refused.message)
            else:
                return _csv_preview(request, plan, text)
    status = 400 if form.errors else 200
    return render(
        request,
        "directory/exchange/csv_upload.html",
        {"form": form, "columns": spreadsheet.COLUMNS},
        status=status,
    )


def _confirm_csv(request):
    confirm = ConfirmForm(request.POST)
    pending = None
    if confirm.is_valid():
        pending = uploads.take(
            request,
            kind="csv",
            token=confirm.cleaned_data["token"],
            digest=confirm.cleaned_data["sha256"],
        )
    if pending is None:
        return _upload_again(request, "directory/exchange/csv_upload.html", UploadForm(), EXPIRED)
    if pending.options.get("rows", 0) > settings.CSV_IMPORT_INLINE_ROWS:
        # Too long to write within the request under load (a 5,000-row file took 8 to 15 s
        # with the machine busy, and the worker's timeout is 30 s): the worker writes it, and
        # the progress page follows it. The text goes with the task; no client data is in it.
        result = csv_writes.confirm_in_background.enqueue(
            text=pending.content, fingerprint=pending.fingerprint, user_id=request.user.pk
        )
        entry = {"id": str(result.id)}
        if result.is_finished:  # a backend that runs tasks as they are queued (the tests')
            entry["status"] = result.status.name
            entry["value"] = result.return_value if entry["status"] == "SUCCESSFUL" else None
        request.session[BACKGROUND_KEY] = entry
        return redirect("directory:import-progress")
    try:
        outcome = csv_writes.confirm_import(
            text=pending.content, fingerprint=pending.fingerprint, by=request.user
        )
    except csv_writes.PreviewOutdated as outdated:
        return _csv_preview(request, outdated.plan, pending.content, notice=OUTDATED, status=409)
    except (FileRefused, IntegrityError, DataError) as error:
        message = NOT_WRITTEN.format(error=getattr(error, "message", "a conflict in the data"))
        return _upload_again(
            request, "directory/exchange/csv_upload.html", UploadForm(), message, status=409
        )
    messages.success(
        request,
        f"Imported: {outcome.created} new listing{'s' if outcome.created != 1 else ''}, "
        f"{outcome.updated} updated, {outcome.unchanged} unchanged.",
    )
    return redirect("directory:import")


BACKGROUND_KEY = "directory_csv_import_task"


@permission_required("directory.add_group")
@permission_required("directory.change_group")
@require_GET
def import_progress(request):
    """The progress of the long CSV import this session confirmed last. Without JavaScript the
    page reloads itself every few seconds until it is done; with htmx, the progress box alone
    is fetched again. Only the session that confirmed the import knows its task."""
    progress = None
    entry = request.session.get(BACKGROUND_KEY) or {}
    if "status" in entry:
        progress = csv_plans.progress(entry["status"], entry.get("value"))
    elif entry.get("id"):
        try:
            result = csv_writes.confirm_in_background.get_result(entry["id"])
        except TaskResultDoesNotExist:
            pass  # pruned from the queue's table since
        else:
            value = result.return_value if result.status.name == "SUCCESSFUL" else None
            progress = csv_plans.progress(result.status.name, value)
    template = (
        "directory/exchange/_import_progress.html"
        if request.htmx
        else "directory/exchange/import_progress.html"
    )
    return render(request, template, {"progress": progress})


def _upload_again(request, template, form, message, *, status=400):
    return render(
        request,
        template,
        {"form": form, "columns": spreadsheet.COLUMNS, "error": message},
        status=status,
    )


def _meetings_preview(
    request, plan, text, listing, *, notice="", status=None, by_name=False, choices=None
):
    options = {"listing": listing.pk if listing else None}
    context = {"listing": listing}
    if by_name:
        options |= {"by_name": True, "choices": choices or {}}
        # The per-row choices go back with a token of their own: the confirm form's token is
        # single-use, and choosing again must not spend it.
        again = uploads.keep(
            request, kind="meetings", content=text, fingerprint=plan.fingerprint, options=options
        )
        context["rematch"] = {"token": again.token, "sha256": again.sha256}
    return _preview(
        request,
        plan,
        text,
        kind="meetings",
        template="directory/exchange/meetings_preview.html",
        options=options,
        context=context,
        notice=notice,
        status=status,
    )


def _rematch_meetings(request):
    """The preview again, with the site admin's listing (or "skip") for each row."""
    confirm = ConfirmForm(request.POST)
    pending = None
    if confirm.is_valid():
        pending = uploads.take(
            request,
            kind="meetings",
            token=confirm.cleaned_data["token"],
            digest=confirm.cleaned_data["sha256"],
        )
    if pending is None or not pending.options.get("by_name"):
        return _upload_again(
            request, "directory/exchange/meetings_upload.html", MeetingUploadForm(), EXPIRED
        )
    choices = dict(pending.options.get("choices") or {})
    for key, value in request.POST.items():
        item = key.removeprefix("row-")
        if key.startswith("row-") and item.isdigit() and value.isdigit():
            choices[item] = int(value)
    plan = meeting_plans.plan_import(
        pending.content,
        listing=None,
        timezone=settings.TIME_ZONE,
        by_name=True,
        choices=choices,
    )
    return _meetings_preview(request, plan, pending.content, None, by_name=True, choices=choices)


@permission_required("directory.add_meeting")
@permission_required("directory.change_meeting")
@require_http_methods(["GET", "POST"])
def import_meetings(request):
    """A Meeting Guide file (an intergroup's schedule): upload, preview, confirm."""
    if request.method == "POST" and "token" in request.POST:
        if "rematch" in request.POST:
            return _rematch_meetings(request)
        return _confirm_meetings(request)
    form = MeetingUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        text = _read_upload(form, "JSON")
        if text is not None:
            listing = form.cleaned_data["listing"]
            by_name = form.cleaned_data["by_name"]
            try:
                plan = meeting_plans.plan_import(
                    text, listing=listing, timezone=settings.TIME_ZONE, by_name=by_name
                )
            except FileRefused as refused:
                form.add_error("file", refused.message)
            else:
                return _meetings_preview(request, plan, text, listing, by_name=by_name)
    status = 400 if form.errors else 200
    return render(request, "directory/exchange/meetings_upload.html", {"form": form}, status=status)


def _confirm_meetings(request):
    confirm = ConfirmForm(request.POST)
    pending = None
    if confirm.is_valid():
        pending = uploads.take(
            request,
            kind="meetings",
            token=confirm.cleaned_data["token"],
            digest=confirm.cleaned_data["sha256"],
        )
    if pending is None:
        return _upload_again(
            request, "directory/exchange/meetings_upload.html", MeetingUploadForm(), EXPIRED
        )
    listing = None
    listing_pk = pending.options.get("listing")
    if listing_pk is not None:
        listing = Group.objects.current().filter(pk=listing_pk).first()
        if listing is None:
            return _upload_again(
                request,
                "directory/exchange/meetings_upload.html",
                MeetingUploadForm(),
                "The listing chosen for these meetings was archived after the preview; "
                "nothing was written.",
                status=409,
            )
    by_name = bool(pending.options.get("by_name"))
    choices = pending.options.get("choices") or {}
    try:
        outcome = meeting_writes.confirm_import(
            text=pending.content,
            listing=listing,
            timezone=settings.TIME_ZONE,
            fingerprint=pending.fingerprint,
            by=request.user,
            by_name=by_name,
            choices=choices,
        )
    except meeting_writes.PreviewOutdated as outdated:
        return _meetings_preview(
            request,
            outdated.plan,
            pending.content,
            listing,
            notice=OUTDATED,
            status=409,
            by_name=by_name,
            choices=choices,
        )
    except (FileRefused, IntegrityError, DataError) as error:
        message = NOT_WRITTEN.format(error=getattr(error, "message", "a conflict in the data"))
        return _upload_again(
            request,
            "directory/exchange/meetings_upload.html",
            MeetingUploadForm(),
            message,
            status=409,
        )
    messages.success(
        request,
        f"Imported: {outcome.created} new meeting{'s' if outcome.created != 1 else ''}, "
        f"{outcome.updated} updated, {outcome.unchanged} unchanged.",
    )
    return redirect("directory:meeting-guide-import")
