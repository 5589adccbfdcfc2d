"""Reads the directory's pages need (policy VII.C–D), each a fixed number of queries.

Every page's queries are pinned in tests/integration/directory/test_browse.py with 500 listings,
each with contacts and meetings.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from core.rows import UrlPattern, date_label, phone_labels
from directory.models import (
    Category,
    Contact,
    Criterion,
    CriterionConfirmation,
    Group,
    Language,
    Meeting,
    Need,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    ServiceArea,
)
from directory.rules.meeting_types import type_label

# The areas whose listings also serve an area of each kind: a countywide line serves every
# Service Planning Area, a national one everywhere.
WIDER_KINDS = {
    ServiceArea.Kind.SPA: [ServiceArea.Kind.COUNTYWIDE, ServiceArea.Kind.NATIONAL],
    ServiceArea.Kind.COUNTYWIDE: [ServiceArea.Kind.NATIONAL],
    ServiceArea.Kind.OUT_OF_COUNTY: [ServiceArea.Kind.NATIONAL],
    ServiceArea.Kind.NATIONAL: [],
}


def listings() -> QuerySet:
    """Current listings (archived ones excluded), by name."""
    return Group.objects.current().order_by("name", "pk")


# What a search result shows of its listing (templates/directory/_results.html): the
# description, notes and the stored search document stay in the table. The page's query
# keeps every matching row until it has counted them (``COUNT(*) OVER ()``), so the narrower
# the row, the less it carries (at the county's 2,000 listings, 4.7 ms for whole rows, 1.5 ms
# for these).
RESULT_FIELDS = ("pk", "slug", "name", "status", "last_verified_on", "archived_at")

# A result's status badge, as templates/directory/_status.html colours it (dark otherwise).
STATUS_BADGES = {
    Group.Status.ACTIVE.value: "text-bg-success",
    Group.Status.TEMPORARILY_CLOSED.value: "text-bg-warning",
}


def areas_covering(area: ServiceArea) -> QuerySet:
    """The ids of the area itself and of the wider areas that serve it (a subquery)."""
    return ServiceArea.objects.filter(
        Q(pk=area.pk) | Q(kind__in=WIDER_KINDS.get(area.kind, []))
    ).values("pk")


def covering_ids(area: ServiceArea, areas) -> list[int]:
    """:func:`areas_covering` from ``areas``, every service area already read (the filter's
    menu holds them): a list of ids the planner can estimate, where the subquery made it scan
    every meeting of the county."""
    wider = WIDER_KINDS.get(area.kind, [])
    return sorted({area.pk} | {other.pk for other in areas if other.kind in wider})


def contacts_for_area(area: ServiceArea | None, area_ids: list[int] | None = None) -> QuerySet:
    """A listing's contacts for the chosen area: those mapped to it or to a wider area, and
    those mapped to no area at all (a web address, a general number). All, without an area.

    ``area_ids``: the covering areas' ids, when the caller has them (:func:`covering_ids`)."""
    contacts = Contact.objects.order_by("order", "id")
    if area is None:
        return contacts
    mapped = Contact.service_areas.through.objects.filter(contact_id=OuterRef("pk"))
    covering = area_ids if area_ids is not None else areas_covering(area)
    return contacts.filter(Exists(mapped.filter(servicearea_id__in=covering)) | ~Exists(mapped))


def result_rows(queryset: QuerySet) -> QuerySet:
    """The search's listings with the columns a result shows (:func:`add_result_details`)."""
    return queryset.only(*RESULT_FIELDS)


@dataclass(frozen=True, slots=True)
class ContactLine:
    """A contact as a search result shows it (what templates/_partials/contact.html draws):
    ``href`` links ``text`` when there is one, ``external`` for a web address."""

    display_value: str
    text: str
    href: str = ""
    external: bool = False
    area_label: str = ""
    person_first_name: str = ""
    hours: str = ""
    note: str = ""


_CONTACT_COLUMNS = (
    "group_id",
    "kind",
    "stored_phone",
    "extension",
    "email",
    "url",
    "area_label",
    "person_first_name",
    "hours",
    "note",
    "as_printed",
)


def _contact_line(row: tuple, region: str | None) -> ContactLine:
    _, kind, phone, extension, email, url, area_label, person, hours, note, as_printed = row
    extra = {"area_label": area_label, "person_first_name": person, "hours": hours, "note": note}
    if kind == Contact.Kind.PHONE:
        if not phone:  # no number: the source's text, unlinked
            shown = f" ext. {extension}" if extension else ""
            return ContactLine(shown, as_printed, **extra)
        e164, national = phone_labels(phone, region)
        shown = f"{national} ext. {extension}" if extension else national
        href = f"tel:{e164};ext={extension}" if extension else f"tel:{e164}"
        return ContactLine(shown, shown, href, **extra)
    if kind == Contact.Kind.EMAIL:
        return ContactLine(email, email, f"mailto:{email}", **extra)
    if url.lower().startswith(("https://", "http://")):
        return ContactLine(url, url, url, external=True, **extra)
    return ContactLine(url, url, **extra)


def add_result_details(
    groups: list[Group],
    *,
    today: date,
    area: ServiceArea | None = None,
    area_ids: list[int] | None = None,
) -> None:
    """What each result of a page shows, set on its listing (two queries, none for no rows):
    its address, status and verification badges, its needs, its contacts for the area
    (``shown_contacts``).

    Computed here rather than in the template: a page's twenty cards drew their links, dates,
    badges and phone numbers through includes, tags and filters, most of the page's time.
    """
    if not groups:
        return
    ids = [group.pk for group in groups]
    needs: dict[int, list[str]] = {pk: [] for pk in ids}
    rows = (
        Group.needs.through.objects.filter(group_id__in=ids)
        .order_by("need__name")
        .values_list("group_id", "need__name")
    )
    for group_id, name in rows:
        needs[group_id].append(name)
    contacts: dict[int, list[ContactLine]] = {pk: [] for pk in ids}
    region = Contact._meta.get_field("phone").region
    # The stored text, not the field's parsed number (the field parses on every load).
    rows = (
        contacts_for_area(area, area_ids)
        .filter(group_id__in=ids)
        .annotate(stored_phone=ExpressionWrapper(F("phone"), output_field=CharField()))
        .values_list(*_CONTACT_COLUMNS)
    )
    for row in rows:
        contacts[row[0]].append(_contact_line(row, region))
    page_url = UrlPattern("directory:group", "slug")
    for group in groups:
        group.page_url = page_url(group.slug)
        group.status_badge = STATUS_BADGES.get(group.status, "text-bg-dark")
        group.status_label = group.get_status_display()
        group.stale = group.is_stale(today)
        group.verified_label = date_label(group.last_verified_on, "F j, Y")
        group.archived_label = date_label(group.archived_at, "F j, Y")
        group.needs_label = ", ".join(needs[group.pk]) or "Not recorded"
        group.shown_contacts = contacts[group.pk]


def _open_flag_count():
    open_flags = (
        ReviewFlag.objects.filter(group_id=OuterRef("pk"), resolved_at__isnull=True)
        .order_by()
        .values("group_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(open_flags, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class CriterionRow:
    """One of II.A–H for a listing: meets, does not meet, or not confirmed; by whom, when."""

    code: str
    label: str
    confirmation: CriterionConfirmation | None

    @property
    def status(self) -> str:
        if self.confirmation is None:
            return CriterionConfirmation.Status.NOT_CONFIRMED
        return self.confirmation.status

    @property
    def status_label(self) -> str:
        return CriterionConfirmation.Status(self.status).label

    @property
    def recorded(self) -> bool:
        """Someone recorded an answer (who and when are shown)."""
        return self.confirmation is not None and self.confirmation.confirmed_at is not None


def group_page(slug: str, *, include_archived: bool = False) -> Group:
    """One listing with everything its page shows, in ten queries; 404 if there is none.

    Archived listings are found only with ``include_archived`` (for site admins).
    """
    groups = Group.objects.select_related("last_verified_by").annotate(
        open_flags=_open_flag_count()
    )
    if not include_archived:
        groups = groups.current()
    groups = groups.prefetch_related(
        Prefetch("categories", queryset=Category.objects.order_by("order", "name")),
        "types",
        Prefetch("needs", queryset=Need.objects.order_by("name")),
        Prefetch("languages", queryset=Language.objects.order_by("name")),
        Prefetch("service_areas", queryset=ServiceArea.objects.order_by("order", "name")),
        Prefetch("criteria", queryset=CriterionConfirmation.objects.select_related("confirmed_by")),
        Prefetch(
            "contacts",
            queryset=Contact.objects.order_by("order", "id").prefetch_related(
                Prefetch("service_areas", queryset=ServiceArea.objects.order_by("order", "name"))
            ),
        ),
        Prefetch(
            "meetings",
            queryset=Meeting.objects.select_related("service_area", "language").order_by(
                "weekday", "start_time", "id"
            ),
        ),
    )
    group = groups.filter(slug=slug).first()
    if group is None:
        raise Http404("No such listing.")
    confirmations = {row.criterion: row for row in group.criteria.all()}
    group.criterion_rows = [
        CriterionRow(code, label, confirmations.get(code)) for code, label in Criterion.choices
    ]
    for meeting in group.meetings.all():
        meeting.type_labels = [type_label(code) for code in meeting.type_codes or []]
    return group


@dataclass(frozen=True)
class PrintSection:
    heading: Category | None
    listings: list


def print_sections() -> list[PrintSection]:
    """Every current listing under each appendix heading, in the headings' order (VII.D).

    A listing under two headings (Procovery Circles) is printed under both. Listings with no
    heading come last. Five queries whatever the size of the list.
    """
    categories = list(Category.objects.order_by("order", "name"))
    groups = listings().prefetch_related(
        "categories",
        Prefetch("needs", queryset=Need.objects.order_by("name")),
        Prefetch("contacts", queryset=Contact.objects.order_by("order", "id")),
    )
    by_heading = {category.pk: [] for category in categories}
    unfiled = []
    for group in groups:
        headings = [category.pk for category in group.categories.all()]
        for pk in headings:
            by_heading.setdefault(pk, []).append(group)
        if not headings:
            unfiled.append(group)
    sections = [PrintSection(category, by_heading[category.pk]) for category in categories]
    sections = [section for section in sections if section.listings]
    if unfiled:
        sections.append(PrintSection(None, unfiled))
    return sections


def referral_resources() -> list[ReferralResource]:
    """SHARE!, the Friendship Line, the Client Coalition (VIII.D–E), with their phones."""
    return list(
        ReferralResource.objects.order_by("name").prefetch_related(
            Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
        )
    )
