"""Reading the annotated referral list (policy VII.C–D): search, a listing's page, the print.

Everyone with ``directory.view_group`` reads the whole county's list (clinicians, supervisors,
site admins, of any clinic). Pages only read: GET and HEAD, nothing written.
"""

from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from accounts.permissions import permission_required
from core.pagination import CountedPaginator
from directory.filters import GroupFilter
from directory.selectors import browse as selectors
from directory.views.caching import catalogue_page

PAGE_SIZE = 20


@require_safe
@permission_required("directory.view_group")
def search(request):
    """Search and filter the list; htmx asks for the results alone as the filters change."""
    group_filter = GroupFilter(request.GET or None, queryset=selectors.listings(), request=request)
    partial = request.htmx and not request.htmx.history_restore_request
    template = "directory/_results.html" if partial else "directory/search.html"
    context = {"filter": group_filter, "partial": partial}
    if group_filter.is_bound and not group_filter.is_valid():
        response = render(request, template, {**context, "page": None}, status=400)
    else:
        area = group_filter.chosen_area
        today = timezone.localdate()
        results = selectors.result_rows(group_filter.qs)
        # Numbered pages with a count ("42 groups found"): the list is the directory's current
        # listings, 2,000 in the county, which grow by hand and not with the clients, so the
        # count never reads more than that and the last page's OFFSET is as bounded. The page
        # and the count come from one query.
        # The page's links keep the search and the filters.
        query = request.GET.copy()
        query.pop("page", None)
        page = CountedPaginator(results, PAGE_SIZE, query=query).get_page(request.GET.get("page"))
        selectors.add_result_details(
            page.object_list, today=today, area=area, area_ids=group_filter.covering_area_ids
        )
        context |= {
            "page": page,
            "area": area,
            "searched": group_filter.is_bound and bool(group_filter.form.cleaned_data.get("q")),
            "today": today,
        }
        response = render(request, template, context)
    # The same address answers with a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
@permission_required("directory.view_group")
def group(request, slug):
    """A listing with everything known about it (VII.C): contacts, meetings, etiquette."""
    # Archived listings stay for the history of referrals; only those who edit the list see
    # them. Everyone else gets 404, as for a listing that never was.
    listing = selectors.group_page(
        slug, include_archived=request.user.has_perm("directory.change_group")
    )
    return render(
        request, "directory/group.html", {"group": listing, "today": timezone.localdate()}
    )


@require_safe
@permission_required("directory.view_group")
@catalogue_page  # built once per catalogue version for each session (the layout is personal)
def print_list(request):
    """The annotated referral list to print (VII.D), under the appendix's headings."""
    return render(
        request,
        "directory/print.html",
        {
            "sections": selectors.print_sections(),
            "resources": selectors.referral_resources(),
            "today": timezone.localdate(),
            "printed_at": timezone.localtime(),
        },
    )
