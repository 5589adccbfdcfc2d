"""Every page of the directory, under /directory/.

Reading the list (clinicians and everyone with view_group), keeping it current (site admins),
and exchanging it in open formats. A listing's own page, ``<slug>/``, is last, and its
converter never takes another page's first word (``ListingSlugConverter``, below).
"""

import functools

from django.urls import path, register_converter
from django.urls.converters import SlugConverter

from directory.views import browse, corrections, exchange, manage, public, verification

app_name = "directory"


@functools.cache
def _other_pages_first_words() -> frozenset[str]:
    """The first word of every other directory page's address: "new", "manage", "import"..."""
    # Read at first use, when this module's urlpatterns below exist.
    words = set()
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        first, slash, _ = route.partition("/")
        if slash and first and "<" not in first and pattern.name != "group":
            words.add(first)
    return frozenset(words)


class ListingSlugConverter(SlugConverter):
    """A listing's slug, but never the first word of another directory page's address.

    The listing's page is ``/directory/<slug>/``; the site admins' and the exchange's pages
    (``/directory/new/``, ``/directory/manage/``, ``/directory/import/``...) would be read as
    slugs if this route came before theirs. Refusing those words (a ValueError here means "no
    match, try the next route") keeps every page reachable whatever order the routes are in.
    """

    def to_python(self, value):
        if value in _other_pages_first_words():
            raise ValueError(value)
        return value


register_converter(ListingSlugConverter, "listing_slug")

urlpatterns = [
    # Keeping the list current.
    path("manage/", manage.worklist, name="worklist"),
    path("new/", manage.group_create, name="group-create"),
    path("resources/", manage.resource_list, name="resources"),
    path("resources/<slug:key>/edit/", manage.resource_edit, name="resource-edit"),
    path(
        "resources/<slug:key>/flags/new/",
        manage.resource_flag_create,
        name="resource-flag-create",
    ),
    path("flags/<int:pk>/resolve/", manage.flag_resolve, name="flag-resolve"),
    # VII.D: calls, the groups' change requests, clinicians' reports, progress.
    path("progress/", verification.progress, name="progress"),
    path("changes/", verification.change_requests, name="change-requests"),
    path("changes/<int:pk>/", verification.change_request_review, name="change-request"),
    path("<slug:slug>/call/", verification.call, name="call"),
    path("<slug:slug>/send-link/", verification.send_link, name="send-link"),
    path("<slug:slug>/report/", verification.report, name="report"),
    path("<slug:slug>/edit/", manage.group_edit, name="group-edit"),
    path("<slug:slug>/archive/", manage.group_archive, name="group-archive"),
    path("<slug:slug>/unarchive/", manage.group_unarchive, name="group-unarchive"),
    path("<slug:slug>/verify/", manage.group_verify, name="group-verify"),
    path("<slug:slug>/criteria/", manage.group_criteria, name="group-criteria"),
    path("<slug:slug>/history/", manage.group_history, name="group-history"),
    path("<slug:slug>/flags/new/", manage.flag_create, name="flag-create"),
    # Exchanging it in open formats.
    path("export.csv", exchange.export_csv, name="export-csv"),
    path("export.xlsx", exchange.export_xlsx, name="export-xlsx"),
    path("export/hsds.json", exchange.export_hsds, name="export-hsds"),
    path("meetings.json", exchange.meeting_guide_feed, name="meeting-guide"),
    path("import/", exchange.import_csv, name="import"),
    path("import/progress/", exchange.import_progress, name="import-progress"),
    path("meetings/import/", exchange.import_meetings, name="meeting-guide-import"),
    # Reading it.
    path("", browse.search, name="search"),
    path("print/", browse.print_list, name="print"),
    path("<listing_slug:slug>/", browse.group, name="group"),
]


# The public directory (VII.A), under /groups/ (config/urls.py, namespace "public"): English at
# the root, Spanish under es/; the groups' own corrections (VII.D). No sign-in, except the
# poster, which staff print.
public_urlpatterns = [
    path("", public.search, name="search"),
    path("meetings.json", public.meetings_feed, name="meetings"),
    path("poster/<int:clinic_id>/", public.poster, name="poster"),
    path("verify/<str:token>/", corrections.verify_with_link, name="verify-link"),
    path("es/", public.search, {"lang": "es"}, name="search-es"),
    path("es/<slug:slug>/", public.group, {"lang": "es"}, name="group-es"),
    path("<slug:slug>/suggest/", corrections.suggest_change, name="suggest-change"),
    path("<slug:slug>/", public.group, name="group"),
]
