"""What the page benchmark measures: the pages, the users and the entities, chosen by queries.

The entities are chosen by queries, the same way at every scale, so that small and county are
compared fairly: the clinic nearest the average clinic's size (the small scale's one clinic is
that size) and, apart, the clinic with the most clients (pages keyed ``…@largest``); in each, its
clinician with the most referrals; of
that clinician's clients with referrals and attendance, the one at the 90th percentile of
attendance (a busy client, not a freak of the random draw); the listing at the 90th percentile
of meetings; the search word is the name of the need most listings have. Their sizes are recorded
(counts only, never a name) so that the report shows what each page had to read.

The Django admin's changelist of listings (directory/admin.py: a stock ``ModelAdmin`` whose
search covers the fields the directory search reads) is measured as a peer, with the same search
words, signed in as the generator's superuser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Value, When

from accounts.models import AccessEvent, Role, User
from clients.models import Attendance, Client, Feedback
from directory.filters import GroupFilter
from directory.models import Contact, Group, Language, Meeting, Need, ServiceArea
from directory.selectors import browse as directory_selectors
from directory.selectors import search as directory_search
from directory.views import browse as directory_browse_views
from referrals.models import FollowUp, ProcedureStep, Referral, ReferredGroup, Screening
from scale.rules import bench as bench_rules

ACCESS_LOG_FILTER_DAYS = 30
SUPERUSER_USERNAME = "bench-superuser"


@dataclass
class Selection:
    """What the pages are measured on: users, addresses and sizes (counts, never names)."""

    users: dict[str, User]
    pages: list[bench_rules.Page]
    sizes: dict = field(default_factory=dict)


# --- what the database holds ------------------------------------------------------------------


def datasets() -> list[dict]:
    """The generator's ScaleDataset rows (scale, seed, seconds, peak memory, counts...)."""
    try:
        model = apps.get_model("scale", "ScaleDataset")
    except LookupError:
        return []
    return [bench_rules.jsonable(row) for row in model.objects.order_by("pk").values()]


def database_server() -> dict:
    info = {"vendor": connection.vendor}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            info["version"] = cursor.fetchone()[0]
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            info["version"] = cursor.fetchone()[0]
    return info


# --- choosing what to measure -----------------------------------------------------------------


def _role_users(clinic_id: int, role: Role):
    return User.objects.filter(clinic_id=clinic_id, is_active=True, groups__name=role.value)


def largest_clinic_id() -> int:
    row = (
        Client.objects.order_by()
        .values("clinic_id")
        .annotate(clients=Count("id"))
        .order_by("-clients", "clinic_id")
        .first()
    )
    if row is None:
        raise bench_rules.BenchError(
            "The database holds no clients: generate data first (generate_scale_data)."
        )
    return row["clinic_id"]


def _busiest_clinician(clinic_id: int) -> User:
    clinicians = _role_users(clinic_id, Role.CLINICIAN)
    row = (
        Referral.objects.filter(clinic_id=clinic_id, clinician__in=clinicians)
        .order_by()
        .values("clinician_id")
        .annotate(referrals=Count("id"))
        .order_by("-referrals", "clinician_id")
        .first()
    )
    if row is not None:
        return User.objects.select_related("clinic").get(pk=row["clinician_id"])
    clinician = clinicians.select_related("clinic").order_by("username").first()
    if clinician is None:
        raise bench_rules.BenchError("The chosen clinic has no active clinician.")
    return clinician


def _client_of(clinician: User) -> Client | None:
    """Of the clinician's clients with a referral and attendance, a busy one (90th percentile
    of attendance records); else any client the clinician referred; else the clinic's first."""
    referred = Client.objects.filter(clinic_id=clinician.clinic_id).filter(
        Exists(Referral.objects.filter(client_id=OuterRef("pk"), clinician_id=clinician.pk))
    )
    ranked = list(
        referred.annotate(records=Count("attendance"))
        .filter(records__gt=0)
        .order_by("records", "pk")
        .values_list("pk", flat=True)
    )
    pk = bench_rules.pick(ranked)
    if pk is None:
        pk = referred.order_by("pk").values_list("pk", flat=True).first()
    if pk is None:
        pk = (
            Client.objects.filter(clinic_id=clinician.clinic_id)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
    return None if pk is None else Client.objects.get(pk=pk)


def _referral_with_groups(clinician: User, client: Client | None) -> Referral | None:
    chosen = Referral.objects.filter(clinic_id=clinician.clinic_id).filter(
        Exists(ReferredGroup.objects.filter(referral_id=OuterRef("pk")))
    )
    own = chosen.filter(clinician_id=clinician.pk)
    if client is not None:
        found = own.filter(client_id=client.pk).order_by("-pk").first()
        if found is not None:
            return found
    return own.order_by("-pk").first() or chosen.order_by("-pk").first()


def _referral_waiting_for_groups(clinician: User) -> Referral | None:
    """A referral at VIII.C: client input approved, groups not yet chosen (the clinician's own
    first, as the matching page of their clinic is what they would open)."""
    return (
        Referral.objects.filter(
            clinic_id=clinician.clinic_id,
            status=Referral.Status.PREPARING,
            approval=Referral.Approval.APPROVED,
        )
        .annotate(
            others=Case(
                When(clinician_id=clinician.pk, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("others", "-pk")
        .first()
    )


def _busy_listing() -> Group | None:
    ranked = list(
        directory_selectors.listings()
        .annotate(meeting_count=Count("meetings"))
        .order_by("meeting_count", "slug")
        .values_list("pk", flat=True)
    )
    pk = bench_rules.pick(ranked)
    return None if pk is None else Group.objects.get(pk=pk)


def _search_terms() -> tuple[str, dict[str, str], dict]:
    """The common search word (from the need most listings have) and filters that keep
    results: the need itself, then the language and the area that keep the most listings."""
    listed = directory_selectors.listings().values("pk")
    need_rows = (
        Group.needs.through.objects.filter(group_id__in=listed)
        .order_by()
        .values("need_id")
        .annotate(listings=Count("group_id"))
        .order_by("-listings", "need_id")
    )
    top = need_rows.first()
    if top is None:
        raise bench_rules.BenchError(
            "No listing has a need: load the directory (generate_scale_data)."
        )
    need = Need.objects.get(pk=top["need_id"])
    words = directory_search.words(need.name)
    word = next((w for w in words if len(w) >= 4), words[0] if words else need.slug)

    def results(params: dict) -> int:
        group_filter = GroupFilter(params, queryset=directory_selectors.listings())
        return group_filter.qs.count() if group_filter.is_valid() else -1

    filters = {"q": word, "need": need.slug}
    for name, choices, key in (
        ("language", Language.objects.order_by("code"), "code"),
        ("area", ServiceArea.objects.order_by("order", "slug"), "slug"),
    ):
        best, best_count = None, 0
        for choice in choices:
            count = results({**filters, name: getattr(choice, key)})
            if count > best_count:
                best, best_count = getattr(choice, key), count
        if best is not None:
            filters[name] = best
    sizes = {
        "listings": directory_selectors.listings().count(),
        "listings_with_the_need": top["listings"],
        "results_without_filters": results({"q": word}),
        "results_with_filters": results(filters),
        "filters": sorted(filters),
    }
    return word, filters, sizes


# Words tried, in order, for the search that fills a page at every scale: the first with at
# least a page of results is used (the 2008 catalogue alone has more than 20 "anonymous").
FILL_WORDS = ("anonymous", "support", "group", "recovery")


def _page_filling_word() -> tuple[str | None, int]:
    page_size = directory_browse_views.PAGE_SIZE
    best = (None, 0)
    for word in FILL_WORDS:
        group_filter = GroupFilter({"q": word}, queryset=directory_selectors.listings())
        count = group_filter.qs.count() if group_filter.is_valid() else 0
        if count >= page_size:
            return word, count
        best = max(best, (word, count), key=lambda pair: pair[1])
    return best


def _admin_changelist_path() -> str | None:
    """The admin's changelist of listings, if the admin has one that searches."""
    if admin.site.is_registered(Group) and admin.site.get_model_admin(Group).search_fields:
        return "/admin/directory/group/"
    return None


def typical_clinic_id() -> int:
    """The clinic whose number of clients is nearest the average clinic's (ties: lowest id).

    The small scale has one clinic, of the county's average size; comparing it with a county
    clinic of the same size shows what the county's *other* data costs a page, which is what
    "pages that stay fast as the data grows" is about. The largest clinic is measured as well.
    """
    sizes = list(
        Client.objects.order_by()
        .values("clinic_id")
        .annotate(clients=Count("id"))
        .order_by("clinic_id")
        .values_list("clinic_id", "clients")
    )
    if not sizes:
        raise bench_rules.BenchError(
            "The database holds no clients: generate data first (generate_scale_data)."
        )
    mean = sum(n for _, n in sizes) / len(sizes)
    return min(sizes, key=lambda row: (abs(row[1] - mean), row[0]))[0]


def choose(as_of: date, clinic_id: int | None = None, suffix: str = "") -> Selection:
    """Users, pages and sizes, chosen by queries (see the module's docstring).

    With ``suffix`` (``@largest``), only the per-clinic pages, keyed ``<page>@largest``.
    """
    clinic_id = clinic_id or typical_clinic_id()
    clinician = _busiest_clinician(clinic_id)
    supervisor = _role_users(clinic_id, Role.SUPERVISOR).order_by("username").first()
    if supervisor is None:
        raise bench_rules.BenchError("The chosen clinic has no active supervisor.")
    superuser = (
        User.objects.filter(username=SUPERUSER_USERNAME, is_active=True, is_superuser=True)
        .filter(is_staff=True)
        .first()
    )
    if superuser is None:
        raise bench_rules.BenchError(
            f"No active superuser {SUPERUSER_USERNAME!r} (the generator makes one)."
        )

    client = _client_of(clinician)
    referral = _referral_with_groups(clinician, client)
    waiting = _referral_waiting_for_groups(clinician)
    listing = _busy_listing()
    word, filters, search_sizes = _search_terms()
    fill_word, fill_results = _page_filling_word()
    if not fill_results:  # a catalogue too small for any of them: the common need's word
        fill_word, fill_results = word, search_sizes["results_without_filters"]
    search_sizes["page_filling_word"] = fill_word
    search_sizes["page_filling_results"] = fill_results
    search_sizes["browse_results"] = directory_selectors.listings().count()
    admin_path = _admin_changelist_path()
    log_from = as_of - timedelta(days=ACCESS_LOG_FILTER_DAYS - 1)
    log_filter = {
        "user": str(clinician.pk),
        "action": AccessEvent.Action.VIEW.value,
        "date_from": log_from.isoformat(),
        "date_to": as_of.isoformat(),
    }

    def page(key, title, role, path, missing=""):
        return bench_rules.Page(key, title, role, path, "" if path else missing)

    def maybe(obj, template):
        return template.format(obj.pk) if obj is not None else None

    pages = [
        # The floor: the plainest signed-in page (layout, middleware, session); every page is
        # also reported as a multiple of it.
        page("floor", "The floor: a signed-in page with the layout only", "clinician", "/about/"),
        # Search growth at equal page fill: a full page of 20 at every scale.
        page("search_browse", "Directory, browsing (a full page)", "clinician", "/directory/"),
        page(
            "search_full",
            "Directory search that fills a page",
            "clinician",
            fill_word and "/directory/?" + urlencode({"q": fill_word}),
            f"word with {directory_browse_views.PAGE_SIZE} results",
        ),
        page(
            "search",
            "Directory search, no filters",
            "clinician",
            "/directory/?" + urlencode({"q": word}),
        ),
        page(
            "search_filtered",
            "Directory search with filters",
            "clinician",
            "/directory/?" + urlencode(filters),
        ),
        page(
            "group",
            "A listing's page",
            "clinician",
            listing and f"/directory/{listing.slug}/",
            "current listing",
        ),
        page(
            "client",
            "A client's page",
            "clinician",
            maybe(client, "/clients/{}/"),
            "client in the clinic",
        ),
        page(
            "screening",
            "Screening (the questions)",
            "clinician",
            maybe(client, "/referrals/screen/{}/"),
            "client in the clinic",
        ),
        page(
            "matching",
            "Choosing groups (matching)",
            "clinician",
            maybe(waiting, "/referrals/{}/groups/"),
            "referral approved by the client and waiting for its groups",
        ),
        page(
            "referral",
            "A referral's page",
            "clinician",
            maybe(referral, "/referrals/{}/"),
            "referral with chosen groups",
        ),
        page("worklist", "The clinician's worklist", "clinician", "/clinician/"),
        page(
            "review", "The supervisor's review (default period)", "supervisor", "/referrals/review/"
        ),
        page("supervisor_home", "The supervisor's home", "supervisor", "/supervisor/"),
        page("access_log", "The access log, first page", "supervisor", "/access-log/"),
        page(
            "access_log_filtered",
            "The access log, filtered",
            "supervisor",
            "/access-log/?" + urlencode(log_filter),
        ),
        page(
            "export",
            "The review's CSV export (streamed)",
            "supervisor",
            "/referrals/review/export.csv",
        ),
    ]
    pages.append(
        page(
            "admin_search",
            "Admin changelist of listings, same search (peer)",
            "superuser",
            admin_path and admin_path + "?" + urlencode({"q": word}),
            "searchable changelist of listings in the Django admin",
        )
    )

    sizes = {
        "as_of": as_of.isoformat(),
        "clinic": {
            "clients": Client.objects.filter(clinic_id=clinic_id).count(),
            "active_staff": User.objects.filter(clinic_id=clinic_id, is_active=True).count(),
            "screenings": Screening.objects.filter(clinic_id=clinic_id).count(),
            "referrals": Referral.objects.filter(clinic_id=clinic_id).count(),
            "attendance": Attendance.objects.filter(clinic_id=clinic_id).count(),
            "access_log_rows": AccessEvent.objects.filter(clinic_id=clinic_id).count(),
        },
        "clinician": {
            "referrals": Referral.objects.filter(clinician_id=clinician.pk).count(),
            "primary_clients": Client.objects.filter(primary_clinician_id=clinician.pk).count(),
            "open_followups": FollowUp.objects.filter(
                clinician_id=clinician.pk, done_at__isnull=True
            ).count(),
        },
        "client": client
        and {
            "referrals": Referral.objects.filter(client_id=client.pk).count(),
            "screenings": Screening.objects.filter(client_id=client.pk).count(),
            "attendance": Attendance.objects.filter(client_id=client.pk).count(),
            "feedback": Feedback.objects.filter(client_id=client.pk).count(),
        },
        "referral": referral
        and {
            "chosen_groups": ReferredGroup.objects.filter(referral_id=referral.pk).count(),
            "steps_done": ProcedureStep.objects.filter(
                referral_id=referral.pk, status=ProcedureStep.Status.DONE
            ).count(),
            "followups": FollowUp.objects.filter(referral_id=referral.pk).count(),
        },
        "matching": {"referral_found": waiting is not None},
        "listing": listing
        and {
            "meetings": Meeting.objects.filter(group_id=listing.pk).count(),
            "contacts": Contact.objects.filter(group_id=listing.pk).count(),
        },
        "search": search_sizes,
        "access_log_filter": {
            "days": ACCESS_LOG_FILTER_DAYS,
            "rows": AccessEvent.objects.filter(
                clinic_id=clinic_id,
                user_id=clinician.pk,
                action=AccessEvent.Action.VIEW,
                occurred_at__date__range=(log_from, as_of),
            ).count(),
        },
    }
    users = {"clinician": clinician, "supervisor": supervisor, "superuser": superuser}
    if suffix:
        pages = [
            bench_rules.Page(
                p.key + suffix,
                p.title + " (largest clinic)",
                p.role + suffix,
                p.path,
                p.missing,
            )
            for p in pages
            if p.key in bench_rules.PER_CLINIC_PAGES
        ]
        users = {role + suffix: user for role, user in users.items()}
        sizes = {key: sizes[key] for key in ("clinic", "clinician", "client", "referral")}
    return Selection(users=users, pages=pages, sizes=sizes)
