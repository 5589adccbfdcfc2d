"""Keeping the annotated referral list current: the site admins' pages (policy VII.D).

Create, edit and archive listings (never delete: II and VII.D, and once referrals exist a
listing that was ever referred must stay), their contacts and meetings on the listing's own
edit page, verification, the criteria of II.A–H, the history, review flags, the referral
resources of VIII.D–E, and the worklist of what needs attention.

Views are thin: a form validates, one ``directory.services`` function writes, then a redirect.
Bad input re-shows the page with the message beside the field and status 400; an edit made
from an older version of the listing is refused with 409 and nothing typed is lost.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import permission_required
from directory.forms import (
    MEETING_TYPE_CHOICES,
    ContactFormSetFactory,
    CriteriaForm,
    GroupEditForm,
    GroupForm,
    MeetingFormSetFactory,
    ResolveFlagForm,
    ResourceForm,
    ResourcePhoneFormSetFactory,
    ReviewFlagForm,
    as_query_dict,
    criterion_field_name,
    rebase_formset_data,
    rebase_group_data,
    row_edits,
)
from directory.models import Contact, Criterion, Group, Meeting, ReferralResource, ReviewFlag
from directory.selectors import manage as selectors
from directory.services import listings as services

# Contacts and meetings are edited on the listing's page; the role needs all of these for it.
ROW_PERMISSIONS = (
    "directory.add_contact",
    "directory.change_contact",
    "directory.delete_contact",
    "directory.add_meeting",
    "directory.change_meeting",
    "directory.delete_meeting",
)


def _next(request, default: str) -> str:
    """Where to go after a button elsewhere (the worklist, the group's page): same site only.

    A path only: ``redirect`` takes any other text for a URL pattern's name, and a ``next`` such
    as ``worklist`` would be a 500 (NoReverseMatch) instead of the default
    (tests/security/test_fuzz_forms.py)."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _edit_url(group: Group) -> str:
    return reverse("directory:group-edit", kwargs={"slug": group.slug})


# --- The worklist --------------------------------------------------------------------------------


@permission_required("directory.change_group")
@require_http_methods(["GET"])
def worklist(request):
    """Stale listings, open review flags, and listings nobody could reach (VII.D)."""
    work = selectors.worklist(request.GET)
    return render(request, "directory/manage/worklist.html", {"work": work})


# --- Create and edit a listing, with its contacts and meetings ------------------------------------


def _formsets(request, group: Group, data=None):
    if not request.user.has_perms(ROW_PERMISSIONS):
        return None, None
    contacts = ContactFormSetFactory(
        data,
        instance=group,
        queryset=selectors.contacts_for_edit(),
        prefix="contacts",
    )
    meetings = MeetingFormSetFactory(
        data,
        instance=group,
        queryset=selectors.meetings_for_edit(),
        prefix="meetings",
    )
    return contacts, meetings


def _all_valid(*forms) -> bool:
    # Validate every one (no short-circuit) so that every error is shown at once.
    results = [form.is_valid() for form in forms if form is not None]
    return all(results)


def _edits(formset):
    return row_edits(formset) if formset is not None else ()


def _render_form(request, group, form, contacts, meetings, *, status=200, conflict=None):
    return render(
        request,
        "directory/manage/group_form.html",
        {
            "group": group,
            "form": form,
            "contacts": contacts,
            "meetings": meetings,
            "conflict": conflict,
            "meeting_types": MEETING_TYPE_CHOICES,
        },
        status=status,
    )


@permission_required("directory.add_group")
@require_http_methods(["GET", "POST"])
def group_create(request):
    data = request.POST if request.method == "POST" else None
    group = Group()
    form = GroupForm(data, instance=group)
    contacts, meetings = _formsets(request, group, data)
    if data is not None:
        duplicate = None
        if _all_valid(form, contacts, meetings):
            try:
                group = services.create_group(
                    values=form.cleaned_data,
                    contacts=_edits(contacts),
                    meetings=_edits(meetings),
                    by=request.user,
                )
            except services.DuplicateListing as refused:
                duplicate = refused.existing
                form.add_error("name", f"A listing named “{duplicate.name}” exists already.")
            else:
                messages.success(
                    request,
                    f"“{group.name}” was added. It is not verified yet: check it with the "
                    "group, then mark it verified.",
                )
                return redirect(_edit_url(group))
        duplicate = duplicate or form.duplicate
        if duplicate is not None and selectors.created_just_now_by(duplicate, request.user):
            # The second request of a double-clicked "Add": the listing is there already.
            messages.info(request, f"“{duplicate.name}” was added.")
            return redirect(_edit_url(duplicate))
        return _render_form(request, None, form, contacts, meetings, status=400)
    return _render_form(request, None, form, contacts, meetings)


def _version(request) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _describe_contact(row: Contact | None) -> str:
    return f"Contact {row.display_value}" if row is not None else "A contact you had loaded"


def _describe_meeting(row: Meeting | None) -> str:
    if row is None:
        return "A meeting you had loaded"
    return f"Meeting on {row.get_weekday_display()} at {row.start_time:%H:%M}"


def _conflict(request, slug, loaded_version, form, contacts, meetings):
    """409: someone saved the listing after this editor loaded it (design notes, section 5).

    The page shows who saved, which fields they changed (their value now beside this editor's),
    and the form again: what this editor typed kept, everything else as it is now, carrying
    the current version, so that saving again applies this editor's changes on top of theirs.
    """
    _all_valid(form, contacts, meetings)  # for the values to show beside theirs
    current = selectors.group_for_edit(slug)
    group_data, moved = rebase_group_data(form, current)
    parts, notes = [group_data], []
    for formset, describe in ((contacts, _describe_contact), (meetings, _describe_meeting)):
        if formset is not None:
            formset_data, formset_notes = rebase_formset_data(formset, current, describe)
            parts.append(formset_data)
            notes += formset_notes
    data = as_query_dict(*parts)
    conflict = selectors.edit_conflict(
        group=current,
        loaded_version=loaded_version,
        form=form,
        moved_fields=moved,
        row_notes=notes,
    )
    fresh = selectors.group_for_edit(slug)  # the form below may write into its instance
    new_form = GroupEditForm(data, instance=fresh)
    new_contacts, new_meetings = _formsets(request, fresh, data)
    if conflict.editor_ids == {request.user.pk} and not _changes_left(
        new_form, new_contacts, new_meetings
    ):
        # A double-clicked "Save": the first click saved exactly this.
        messages.success(request, f"Your changes to “{current.name}” were saved.")
        return redirect(_edit_url(current))
    return _render_form(
        request,
        current,
        new_form,
        new_contacts,
        new_meetings,
        status=409,
        conflict=conflict,
    )


def _changes_left(form, *formsets) -> bool:
    """Whether the rebased form would still change anything."""
    if any(name != "version" for name in form.changed_data):
        return True
    return any(formset.has_changed() for formset in formsets if formset is not None)


@permission_required("directory.change_group")
@require_http_methods(["GET", "POST"])
def group_edit(request, slug):
    group = selectors.group_for_edit(slug)
    if request.method == "GET":
        contacts, meetings = _formsets(request, group)
        return _render_form(request, group, GroupEditForm(instance=group), contacts, meetings)

    form = GroupEditForm(request.POST, instance=group)
    contacts, meetings = _formsets(request, group, request.POST)
    loaded_version = _version(request)
    if loaded_version is not None and loaded_version != group.version:
        return _conflict(request, slug, loaded_version, form, contacts, meetings)
    if not _all_valid(form, contacts, meetings):
        return _render_form(request, group, form, contacts, meetings, status=400)
    values = {name: value for name, value in form.cleaned_data.items() if name != "version"}
    try:
        group = services.update_group(
            group=group,
            version=form.cleaned_data["version"],
            values=values,
            contacts=_edits(contacts),
            meetings=_edits(meetings),
            by=request.user,
        )
    except services.EditConflict:
        return _conflict(request, slug, loaded_version, form, contacts, meetings)
    messages.success(request, f"Your changes to “{group.name}” were saved.")
    return redirect(_edit_url(group))


@permission_required("directory.change_group")
@require_POST
def group_archive(request, slug):
    group = get_object_or_404(Group, slug=slug)
    services.archive_group(group=group, by=request.user)
    messages.success(
        request,
        f"“{group.name}” was archived: clinicians no longer find it. It and its history are kept; "
        "you can bring it back from its edit page.",
    )
    return redirect(_next(request, _edit_url(group)))


@permission_required("directory.change_group")
@require_POST
def group_unarchive(request, slug):
    group = get_object_or_404(Group, slug=slug)
    services.unarchive_group(group=group, by=request.user)
    messages.success(request, f"“{group.name}” is back in the clinicians' search.")
    return redirect(_next(request, _edit_url(group)))


@permission_required("directory.verify_group")
@require_POST
def group_verify(request, slug):
    """VII.D: the listing was checked with the group today; it leaves the stale worklist."""
    group = get_object_or_404(Group, slug=slug)
    group = services.verify_group(group=group, by=request.user)
    messages.success(
        request,
        f"“{group.name}” was marked verified on {date_format(group.last_verified_on, 'N j, Y')}.",
    )
    return redirect(_next(request, _edit_url(group)))


# --- Criteria II.A–H ------------------------------------------------------------------------------


@permission_required("directory.change_criterionconfirmation")
@require_http_methods(["GET", "POST"])
def group_criteria(request, slug):
    """II.A–H: per criterion, meets / does not meet / not confirmed, by whom and when."""
    group = get_object_or_404(Group, slug=slug)
    rows = {row.criterion: row for row in group.criteria.select_related("confirmed_by")}
    statuses = {criterion: row.status for criterion, row in rows.items()}
    form = CriteriaForm(request.POST if request.method == "POST" else None, statuses=statuses)
    if request.method == "POST" and form.is_valid():
        changed = services.set_criteria(group=group, statuses=form.statuses(), by=request.user)
        if changed:
            messages.success(request, f"Recorded: {', '.join(changed)}.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("directory:group-criteria", slug=group.slug)
    criteria = [
        {
            "criterion": criterion,
            "field": form[criterion_field_name(criterion.value)],
            "row": rows.get(criterion.value),
        }
        for criterion in Criterion
    ]
    return render(
        request,
        "directory/manage/criteria.html",
        {"group": group, "form": form, "criteria": criteria},
        status=400 if form.errors else 200,
    )


# --- History --------------------------------------------------------------------------------------


@permission_required("directory.change_group")
@require_http_methods(["GET"])
def group_history(request, slug):
    group = get_object_or_404(Group, slug=slug)
    page, entries = selectors.group_history(group, request.GET.get("page"))
    return render(
        request,
        "directory/manage/history.html",
        {"group": group, "page": page, "entries": entries},
    )


# --- Review flags ---------------------------------------------------------------------------------


def _flag_form(request, *, group=None, resource=None, back: str):
    form = ReviewFlagForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.raise_flag(
            group=group,
            resource=resource,
            by=request.user,
            summary=form.cleaned_data["summary"],
            detail=form.cleaned_data["detail"],
            concerns_medication=form.cleaned_data["concerns_medication"],
        )
        messages.success(request, "The review flag was raised; it is on the worklist.")
        return redirect(back)
    return render(
        request,
        "directory/manage/flag_form.html",
        {"form": form, "group": group, "resource": resource, "back": back},
        status=400 if form.errors else 200,
    )


@permission_required("directory.add_reviewflag")
@require_http_methods(["GET", "POST"])
def flag_create(request, slug):
    group = get_object_or_404(Group, slug=slug)
    return _flag_form(request, group=group, back=_edit_url(group))


@permission_required("directory.add_reviewflag")
@require_http_methods(["GET", "POST"])
def resource_flag_create(request, key):
    resource = get_object_or_404(ReferralResource, key=key)
    return _flag_form(request, resource=resource, back=reverse("directory:resources"))


@permission_required("directory.resolve_reviewflag")
@require_http_methods(["GET", "POST"])
def flag_resolve(request, pk):
    flag = get_object_or_404(
        ReviewFlag.objects.select_related("group", "resource", "opened_by", "resolved_by"), pk=pk
    )
    form = ResolveFlagForm(
        request.POST if request.method == "POST" else None,
        medication=flag.concerns_medication and flag.group_id is not None,
    )
    status = 200
    if request.method == "POST":
        valid = form.is_valid()
        if flag.resolved_at is None and valid:
            try:
                services.resolve_flag(
                    flag=flag,
                    note=form.cleaned_data["resolution_note"],
                    outcome=form.cleaned_data.get("outcome", ""),
                    by=request.user,
                )
            except services.AlreadyResolved:
                flag.refresh_from_db()
            else:
                messages.success(request, "The flag was resolved; your note is kept with it.")
                return redirect(_next(request, reverse("directory:worklist")))
        if flag.resolved_at is None:
            status = 400
        elif valid and (flag.resolved_by_id, flag.resolution_note) == (
            request.user.pk,
            form.cleaned_data["resolution_note"].strip(),
        ):
            # A double-clicked "Resolve": the first click did it.
            return redirect(_next(request, reverse("directory:worklist")))
        else:
            status = 409  # resolved by someone else meanwhile: their note is shown
    return render(
        request, "directory/manage/flag_resolve.html", {"flag": flag, "form": form}, status=status
    )


# --- Referral resources (VIII.D–E) -------------------------------------------------------------


@permission_required("directory.change_referralresource")
@require_http_methods(["GET"])
def resource_list(request):
    return render(request, "directory/manage/resources.html", {"resources": selectors.resources()})


@permission_required("directory.change_referralresource")
@require_http_methods(["GET", "POST"])
def resource_edit(request, key):
    resource = get_object_or_404(ReferralResource, key=key)
    data = request.POST if request.method == "POST" else None
    form = ResourceForm(data, instance=resource)
    phones = ResourcePhoneFormSetFactory(data, instance=resource, prefix="phones")
    if data is not None and _all_valid(form, phones):
        services.update_resource(
            resource=resource,
            values=form.cleaned_data,
            phones=row_edits(phones),
            by=request.user,
        )
        messages.success(request, f"“{resource.name}” was saved.")
        return redirect("directory:resources")
    return render(
        request,
        "directory/manage/resource_form.html",
        {"resource": resource, "form": form, "phones": phones},
        status=400 if data is not None else 200,
    )


# There is deliberately no page that deletes a listing: a listing is archived instead.
