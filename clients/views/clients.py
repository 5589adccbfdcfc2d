"""Client records: list, find, create, a client's page, and edit.

Tenancy: clients are reached only through the user's clinic (``core.access.fetch`` for one
client). Another clinic's client answers 404 like a missing one, and the access log records the
id asked for; a superuser has no clinic and so reaches no client.

The access log: each request that touches client records writes exactly one row:
- a client's page: ``view`` of that client;
- the edit form: ``view`` when opened (GET), ``edit`` when sent (saved, refused or in conflict);
- creating: ``create`` of the new client (a refused form is a ``create`` failure);
- the list and the search: one ``view`` row of type ``client`` with no id, since both show names
  and record numbers; the search text (a name or a record number) is never logged.
The blank "new client" form touches no record and is not logged.

No PHI in URLs: clients are addressed by database id, the search is sent by POST, and the list's
only parameters are the "mine/all" toggle and the id of the client a page starts after or ends
before.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.forms import DUPLICATE_MESSAGE, ClientEditForm, ClientForm, FindClientForm
from clients.models import CLIENT_FIELDS
from clients.selectors import clients as selectors
from clients.selectors.feedback import feedback_summary
from clients.services import clients as services
from core.access import fetch
from core.pagination import keyset_page
from core.rows import UrlPattern, date_label
from referrals.selectors import drafts as draft_selectors
from referrals.selectors import referral as referral_selectors

MINE, ALL = "mine", "all"


def _detail_url(client) -> str:
    return reverse("clients:detail", kwargs={"pk": client.pk})


# --- The list and the search ---------------------------------------------------------------------


@permission_required("clients.view_client")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def client_list(request):
    """The clinic's clients by last name, 25 a page; "my clients" or all of the clinic's."""
    request.access_log.attempted("client", "")  # a list: clients in general, no one client
    # Clinicians start on their own clients; supervisors, who have none, on the whole clinic.
    default = MINE if request.user.has_perm("clients.add_client") else ALL
    show = request.GET.get("show")
    if show not in (MINE, ALL):
        show = default
    clients = selectors.client_list(request.user, mine=show == MINE)
    # Keyset pages (previous / next), not numbered ones: a big clinic has 10,000 clients, and
    # a numbered page would count them all on every request and skip rows with OFFSET to
    # reach page 300. A page from the clinic's name index costs the same wherever it is
    # (core/pagination.py); a client further away is found with the search above the list.
    page = keyset_page(clients, request.GET, per_page=selectors.LIST_PAGE_SIZE)
    return render(
        request,
        "clients/list.html",
        {
            "page": page,
            "show": show,
            "find_form": FindClientForm(),
            "drafts": _drafts(request, [c.pk for c in page.object_list]),
        },
    )


def _drafts(request, client_ids) -> dict[int, int]:
    """The clients' draft referrals, so that a client screened "refer" is one click from their
    referral's page (one query for the whole list)."""
    if not client_ids or not request.user.has_perm("referrals.change_referral"):
        return {}
    return draft_selectors.open_drafts(client_ids)


@permission_required("clients.view_client")
@require_http_methods(["GET", "POST"])
def client_find(request):
    """Find clients by name or record number. POST only: the search text is PHI (no URLs)."""
    if request.method == "GET":
        # A bookmarked or retyped address: the search form is on the list.
        return redirect("clients:list")
    return _find(request)


@access_logged(AccessEvent.Action.VIEW)
def _find(request):
    request.access_log.attempted("client", "")  # search results: no one client
    form = FindClientForm(request.POST)
    partial = bool(request.htmx)
    template = "clients/_search_results.html" if partial else "clients/find.html"
    context = {"find_form": form, "partial": partial, "searched": True}
    if form.is_valid():
        found, more = selectors.find_clients(
            request.user, record_number=form.record_number, name_terms=form.name_terms
        )
        context |= {
            "found": found,
            "more": more,
            "limit": selectors.FIND_LIMIT,
            "drafts": _drafts(request, [c.pk for c in found]),
        }
        status = 200
    else:
        # A full page answers 400. htmx swaps in only 2xx and 422 answers (base.html), so the
        # fragment that explains the problem answers 422 to be shown in place.
        status = 422 if partial else 400
    response = render(request, template, context, status=status)
    # The same address answers with a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- A client's page -----------------------------------------------------------------------------


@permission_required("clients.view_client")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def client_detail(request, pk):
    """The client's details, their latest screenings and referrals (and, later, attendance)."""
    client = fetch(request, referral_selectors.client_history(request.user.clinic_id), pk)
    # Each row's link and date worked out once here, not by {% url %} and |date per row.
    screening_url = UrlPattern("referrals:screening", "pk")
    for screening in client.recent_screenings:
        screening.url = screening_url(screening.pk)
        screening.when_label = date_label(screening.screened_at, "N j, Y, P")
    referral_url = UrlPattern("referrals:detail", "pk")
    for referral in client.recent_referrals:
        referral.url = referral_url(referral.pk)
        referral.started_label = date_label(referral.created_at, "N j, Y")
    # IX.B: feedback and the state of any review flag it opened (two queries).
    feedback = feedback_summary(client) if request.user.has_perm("clients.view_feedback") else None
    return render(request, "clients/detail.html", {"client": client, "feedback": feedback})


# --- Create --------------------------------------------------------------------------------------


def _no_clinic(request):
    """A user without a clinic (a superuser, most often) cannot add a client: to which clinic?"""
    return render(request, "clients/no_clinic.html", status=403)


def _render_form(request, form, *, client=None, status=200, conflict=None):
    return render(
        request,
        "clients/form.html",
        {"form": form, "client": client, "conflict": conflict},
        status=status,
    )


@permission_required("clients.add_client")
@require_http_methods(["GET", "POST"])
def client_create(request):
    if request.user.clinic_id is None:
        return _no_clinic(request)
    if request.method == "POST":
        return _create(request)
    form = ClientForm(
        clinic_id=request.user.clinic_id, initial={"primary_clinician": request.user.pk}
    )
    return _render_form(request, form)


@access_logged(AccessEvent.Action.CREATE)
def _create(request):
    # The clinic is the user's own; a "clinic" in the posted data is not a field and is ignored.
    form = ClientForm(request.POST, clinic_id=request.user.clinic_id)
    if form.is_valid():
        try:
            client = services.create_client(
                clinic=request.user.clinic, data=form.values(), by=request.user
            )
        except services.DuplicateRecordNumber:
            form.add_error("record_number", DUPLICATE_MESSAGE)
        else:
            request.access_log.subject(client)
            # No name in the message: messages may travel in a cookie (Django's default storage).
            messages.success(request, "The client was added.")
            if request.POST.get("then") == "screen" and request.user.has_perm(
                "referrals.add_screening"
            ):
                return redirect("referrals:screen", client_id=client.pk)
            return redirect(_detail_url(client))
    return _render_form(request, form, status=400)


# --- Edit ----------------------------------------------------------------------------------------


@permission_required("clients.change_client")
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    if request.method == "POST":
        return _save_edit(request, pk)
    return _edit_form(request, pk)


@access_logged(AccessEvent.Action.VIEW)
def _edit_form(request, pk):
    client = fetch(request, selectors.client_rows(), pk)
    form = ClientEditForm(instance=client, clinic_id=client.clinic_id)
    return _render_form(request, form, client=client)


@access_logged(AccessEvent.Action.EDIT)
def _save_edit(request, pk):
    client = fetch(request, selectors.client_rows(), pk)
    # The form writes what was typed into its instance: a copy, so the page's heading and links
    # keep the client as saved.
    form = ClientEditForm(request.POST, instance=copy.copy(client), clinic_id=client.clinic_id)
    if not form.is_valid():
        return _render_form(request, form, client=client, status=400)
    try:
        client = services.update_client(
            client=client,
            data=form.values(),
            version=form.cleaned_data["version"],
            by=request.user,
        )
    except services.EditConflict as refused:
        return _conflict(request, form, refused.current)
    except services.DuplicateRecordNumber:
        form.add_error("record_number", DUPLICATE_MESSAGE)
        return _render_form(request, form, client=client, status=400)
    messages.success(request, "Your changes to the client's details were saved.")
    return redirect(_detail_url(client))


def _conflict(request, form, current):
    """409: someone saved the client after this editor loaded it (design notes, section 5).

    Nothing was written. The page says who saved and what differs (saved now, and this
    editor's value), and the form keeps everything this editor typed but carries the current
    version, so that saving again puts this editor's values over theirs knowingly.
    """
    differences = _differences(current, form.cleaned_data)
    if not differences:
        # What this editor wanted is what is saved (a double-clicked "Save", most often).
        messages.success(request, "Your changes to the client's details were saved.")
        return redirect(_detail_url(current))
    data = request.POST.copy()
    data["version"] = str(current.version)
    rebased = ClientEditForm(data, instance=copy.copy(current), clinic_id=current.clinic_id)
    rebased.is_valid()  # to show any error the values now have (a record number taken since)
    conflict = {"last_change": selectors.last_change(current), "differences": differences}
    return _render_form(request, rebased, client=current, status=409, conflict=conflict)


def _display(client_or_values, name):
    """A field's value as the page shows it, from a saved client or from the form's values."""
    if isinstance(client_or_values, dict):
        value = client_or_values.get(name)
        if name == "preferred_language":
            return dict(ClientForm.base_fields["preferred_language"].choices).get(value, value)
    else:
        value = getattr(client_or_values, name)
        if name == "preferred_language":
            return client_or_values.get_preferred_language_display()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name == "primary_clinician":
        return (value.get_full_name() or value.get_username()) if value else "None"
    return value or "–"


def _differences(current, values) -> list[dict]:
    """The fields where the saved client and this editor's values differ, for the page."""
    rows = []
    for name in CLIENT_FIELDS:
        if getattr(current, name) != values.get(name):
            rows.append(
                {
                    "field": ClientForm.base_fields[name].label or name,
                    "theirs": _display(current, name),
                    "yours": _display(values, name),
                }
            )
    return rows
