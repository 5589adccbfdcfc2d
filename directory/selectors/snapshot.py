"""The catalogue as plain, frozen data: what every export reads, in a fixed number of queries.

Exports never walk the ORM row by row: :func:`listings` runs one query for a chunk of
listings and one per related table, reading plain rows (``values_list``: no model instance,
no related manager per row, which made Django's ``prefetch_related`` take most of a second for
the county's 2,000 listings), then turns each listing into a :class:`Listing`. The records
(``directory.rules.records``) are what the formats of ``directory.rules`` (``spreadsheet``,
``hsds``, ``meeting_guide``) turn into files, without a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, OuterRef, QuerySet, Subquery, Window

from directory.models import (
    Contact,
    Criterion,
    CriterionConfirmation,
    Format,
    Group,
    Meeting,
    ServiceArea,
)
from directory.rules.records import Area, Listing, Phone, WeeklyMeeting

# Listings fetched per round of queries. Each round is one query for the listings and one per
# related table, never a query per row. Large enough that the county's whole directory (2,000
# listings) is one round, so an export runs the same queries at every scale; small enough to
# bound memory if the directory ever grows past it. Measured on the county data (generate_
# scale_data --scale county, PostgreSQL), a round adds to a process's resident memory about
# 38 MiB for the CSV export and 86 MiB for HSDS with its 20,000 meetings; with rounds of
# 1,000 it was 24 and 57 MiB but two rounds of queries.
CHUNK_SIZE = 2500


def _meeting_updated() -> Subquery:
    """When the meeting last changed: its newest history row (django-simple-history)."""
    history = Meeting.history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date")
    return Subquery(history.values("history_date")[:1])


def meetings_queryset() -> QuerySet:
    """Meetings with what a row needs, in one query; ``updated`` comes from the history."""
    return Meeting.objects.select_related("service_area", "language").annotate(
        updated=_meeting_updated()
    )


# The listing's own columns, in the order ``_listing`` reads them.
GROUP_COLUMNS = (
    "pk",
    "slug",
    "name",
    "status",
    "format",
    "description",
    "aliases",
    "medication_stance",
    "fees_note",
    "last_verified_on",
    "updated_at",
)
MEETING_COLUMNS = (
    "group_id",
    "weekday",
    "start_time",
    "end_time",
    "name",
    "location_name",
    "address",
    "online_url",
    "dial_in",
    "service_area__name",
    "language__code",
    "type_codes",
    "notes",
    "updated",
    "slug",
    "city",
    "state",
    "postal_code",
    "latitude",
    "longitude",
    "location_notes",
    "conference_notes",
)


def listings_queryset() -> QuerySet:
    """Current listings (archived ones are kept for history, never exported), by name, as
    rows of ``GROUP_COLUMNS``."""
    return Group.objects.current().order_by("name", "pk")


def _by_group(rows) -> defaultdict[int, list]:
    """Rows whose first value is a listing's id, gathered by listing, in the rows' order."""
    grouped: defaultdict[int, list] = defaultdict(list)
    for group_id, *values in rows:
        grouped[group_id].append(values)
    return grouped


class _Related:
    """What a chunk of listings holds in the related tables: one query a table, read as
    plain rows (``values_list``), never model instances. ``scope``: the chunk's ids, or a
    subquery giving them. Each table is read in the order its
    model's page and Django's ``prefetch_related`` used (the model's ``Meta.ordering``)."""

    def __init__(self, scope, *, with_meetings: bool, with_criteria: bool = False):
        self.categories = _by_group(
            Group.categories.through.objects.filter(group_id__in=scope)
            .order_by("category__order", "category__name", "category_id")
            .values_list("group_id", "category__name")
        )
        self.needs = _by_group(
            Group.needs.through.objects.filter(group_id__in=scope)
            .order_by("need__name", "need_id")
            .values_list("group_id", "need__name")
        )
        self.types = _by_group(
            Group.types.through.objects.filter(group_id__in=scope)
            .order_by("grouptype__code")
            .values_list("group_id", "grouptype__code", "grouptype__name")
        )
        self.languages = _by_group(
            Group.languages.through.objects.filter(group_id__in=scope)
            .order_by("language__name", "language_id")
            .values_list("group_id", "language__code", "language__name")
        )
        self.areas = _by_group(
            Group.service_areas.through.objects.filter(group_id__in=scope)
            .order_by("servicearea__order", "servicearea__name", "servicearea_id")
            .values_list("group_id", "servicearea__slug", "servicearea__name", "servicearea__kind")
        )
        self.contacts = _by_group(
            Contact.objects.filter(group_id__in=scope)
            .order_by("order", "id")
            .values_list(
                "group_id",
                "kind",
                "phone",
                "extension",
                "area_label",
                "hours",
                "note",
                "email",
                "url",
            )
        )
        self.meetings = (
            _by_group(
                meetings_queryset()
                .filter(group_id__in=scope)
                .order_by("weekday", "start_time", "id")
                .values_list(*MEETING_COLUMNS)
            )
            if with_meetings
            else {}
        )
        self.criteria = (
            _by_group(
                CriterionConfirmation.objects.filter(group_id__in=scope)
                .order_by("criterion")
                .values_list("group_id", "criterion", "status")
            )
            if with_criteria
            else {}
        )


def _meeting(values) -> WeeklyMeeting:
    (
        weekday,
        start,
        end,
        name,
        location_name,
        address,
        online_url,
        dial_in,
        region,
        language_code,
        type_codes,
        notes,
        updated,
        slug,
        city,
        state,
        postal_code,
        latitude,
        longitude,
        location_notes,
        conference_notes,
    ) = values
    return WeeklyMeeting(
        weekday=weekday,
        start=start,
        end=end,
        name=name,
        location_name=location_name,
        address=address,
        online_url=online_url,
        dial_in=dial_in,
        region=region or "",
        language_code=language_code or "",
        type_codes=tuple(str(code) for code in (type_codes or [])),
        notes=notes,
        updated=updated,
        slug=slug,
        city=city,
        state=state,
        postal_code=postal_code,
        latitude=latitude,
        longitude=longitude,
        location_notes=location_notes,
        conference_notes=conference_notes,
    )


def _listing(row, related: _Related) -> Listing:
    """The frozen form of one listing, from its row and what ``_Related`` read for its chunk."""
    (
        pk,
        slug,
        name,
        status,
        format_code,
        description,
        aliases,
        medication_stance,
        fees_note,
        last_verified_on,
        updated_at,
    ) = row[: len(GROUP_COLUMNS)]
    contacts = related.contacts.get(pk, [])
    phones = tuple(
        Phone(number=phone.as_e164, extension=extension, area=area, hours=hours, note=note)
        for kind, phone, extension, area, hours, note, _email, _url in contacts
        if kind == Contact.Kind.PHONE and phone
    )
    return Listing(
        slug=slug,
        name=name,
        status=status,
        format=format_code,
        description=description,
        aliases=tuple(aliases or ()),
        categories=tuple(category for (category,) in related.categories.get(pk, [])),
        needs=tuple(need for (need,) in related.needs.get(pk, [])),
        types=tuple((code, kind) for code, kind in related.types.get(pk, [])),
        languages=tuple((code, language) for code, language in related.languages.get(pk, [])),
        service_areas=tuple(
            Area(slug=area_slug, name=area_name, kind=ServiceArea.Kind(kind).label)
            for area_slug, area_name, kind in related.areas.get(pk, [])
        ),
        medication_stance=medication_stance,
        fees_note=fees_note,
        last_verified_on=last_verified_on,
        phones=phones,
        emails=tuple(c[6] for c in contacts if c[0] == Contact.Kind.EMAIL and c[6]),
        urls=tuple(c[7] for c in contacts if c[0] == Contact.Kind.WEB and c[7]),
        meetings=tuple(_meeting(values) for values in related.meetings.get(pk, [])),
        criteria=tuple(
            (criterion, Criterion(criterion).label, status)
            for criterion, status in related.criteria.get(pk, [])
        ),
        updated=updated_at,
        status_label=Group.Status(status).label,
        format_label=Format(format_code).label if format_code else "",
        medication_label=Group.MedicationStance(medication_stance).label,
    )


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _snapshots(
    queryset: QuerySet, columns, *, with_meetings: bool, with_criteria: bool = False
) -> Iterator:
    """(row, Listing) for each row of ``queryset``: the rows come from the database a chunk at
    a time (``iterator``: a server-side cursor on PostgreSQL), then one query per related
    table for the chunk."""
    rows = queryset.values_list(*columns).iterator(chunk_size=CHUNK_SIZE)
    for number, chunk in enumerate(_chunks(rows, CHUNK_SIZE)):
        if number == 0 and len(chunk) < CHUNK_SIZE:
            # Every listing came in one chunk (the county's whole directory does): the related
            # tables are read for the current listings, a condition in SQL, rather than for
            # a list of 2,000 ids that Django and the driver would each go through, by table.
            scope = listings_queryset().values("pk")
        else:
            scope = [row[0] for row in chunk]
        related = _Related(scope, with_meetings=with_meetings, with_criteria=with_criteria)
        for row in chunk:
            yield row, _listing(row, related)


def listings(*, with_meetings: bool = False, with_criteria: bool = False) -> Iterator[Listing]:
    """Every current listing, a chunk at a time (bounded memory and a bounded query count).
    ``with_criteria``: also II.A–H (HSDS exports them)."""
    for _row, listing in _snapshots(
        listings_queryset(), GROUP_COLUMNS, with_meetings=with_meetings, with_criteria=with_criteria
    ):
        yield listing


def counted_listings(
    *, with_meetings: bool = False, with_criteria: bool = False
) -> tuple[int, Iterator[Listing]]:
    """How many current listings there are, and the listings a chunk at a time.

    The number comes with every row (``COUNT(*) OVER ()``) of the same statement that reads
    the listings, so it is never a second query and never disagrees with the rows it counts
    (a listing added while a separate count ran would). The database works out the window
    before the first row leaves; Python still holds only a chunk. Reads the first chunk now.
    """
    queryset = listings_queryset().annotate(listing_total=Window(Count("pk")))
    snapshots = _snapshots(
        queryset,
        (*GROUP_COLUMNS, "listing_total"),
        with_meetings=with_meetings,
        with_criteria=with_criteria,
    )
    first = next(snapshots, None)
    if first is None:
        return 0, iter(())
    row, listing = first

    def rest() -> Iterator[Listing]:
        yield listing
        for _row, following in snapshots:
            yield following

    return row[-1], rest()
