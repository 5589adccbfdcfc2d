"""The catalogue as plain, frozen data: what every export reads, in a fixed number of queries.

Exports never walk the ORM row by row: :func:`listings` runs one query for a chunk of
listings and one per related table (``prefetch_related``), then turns each listing into a
:class:`Listing`. The formats (``resources``, ``hsds``, ``meeting_guide``) are pure functions of
these dataclasses, so their tests need no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from directory.models import Contact, Format, Group, Meeting

# Listings fetched per round of queries. Each round is one query for the listings and one per
# related table, so 2,000 listings (the county's size) take two rounds, never a query per row.
CHUNK_SIZE = 1000

# Listings whose meetings are worth publishing: an inactive or defunct group meets nowhere.
MEETING_STATUSES = (Group.Status.ACTIVE, Group.Status.TEMPORARILY_CLOSED)


@dataclass(frozen=True)
class Phone:
    number: str  # E.164, e.g. "+13104368585"
    extension: str = ""
    area: str = ""  # the area as printed, e.g. "Long Beach"
    hours: str = ""
    note: str = ""


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    kind: str = ""  # the kind's label, e.g. "Service Planning Area"


@dataclass(frozen=True)
class WeeklyMeeting:
    """One weekly meeting (Meeting Guide numbers days from Sunday = 0, as the model does)."""

    weekday: int
    start: time
    end: time | None = None
    name: str = ""
    location_name: str = ""
    address: str = ""
    online_url: str = ""
    dial_in: str = ""
    region: str = ""  # the service area's name
    language_code: str = ""
    type_codes: tuple[str, ...] = ()
    notes: str = ""
    updated: datetime | None = None


@dataclass(frozen=True)
class Listing:
    slug: str
    name: str
    status: str = Group.Status.ACTIVE
    format: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    types: tuple[tuple[str, str], ...] = ()  # (code, name)
    languages: tuple[tuple[str, str], ...] = ()  # (code, name)
    service_areas: tuple[Area, ...] = ()
    medication_stance: str = Group.MedicationStance.NOT_KNOWN
    fees_note: str = ""
    last_verified_on: date | None = None
    phones: tuple[Phone, ...] = ()
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    meetings: tuple[WeeklyMeeting, ...] = field(default=())

    @property
    def status_label(self) -> str:
        return Group.Status(self.status).label

    @property
    def format_label(self) -> str:
        return Format(self.format).label if self.format else ""

    @property
    def medication_label(self) -> str:
        return Group.MedicationStance(self.medication_stance).label


def _meeting_updated() -> Subquery:
    """When the meeting last changed: its newest history row (django-simple-history)."""
    history = Meeting.history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date")
    return Subquery(history.values("history_date")[:1])


def meetings_queryset() -> QuerySet:
    """Meetings with what a row needs, in one query; ``updated`` comes from the history."""
    return Meeting.objects.select_related("service_area", "language").annotate(
        updated=_meeting_updated()
    )


def listings_queryset(*, with_meetings: bool = False) -> QuerySet:
    """Current listings (archived ones are kept for history, never exported), by name."""
    lookups = [
        "categories",
        "needs",
        "types",
        "languages",
        "service_areas",
        Prefetch("contacts", queryset=Contact.objects.order_by("order", "id")),
    ]
    if with_meetings:
        lookups.append(
            Prefetch("meetings", queryset=meetings_queryset().order_by("weekday", "start_time"))
        )
    return Group.objects.current().order_by("name", "pk").prefetch_related(*lookups)


def meeting_from_model(meeting: Meeting) -> WeeklyMeeting:
    return WeeklyMeeting(
        weekday=meeting.weekday,
        start=meeting.start_time,
        end=meeting.end_time,
        name=meeting.name,
        location_name=meeting.location_name,
        address=meeting.address,
        online_url=meeting.online_url,
        dial_in=meeting.dial_in,
        region=meeting.service_area.name if meeting.service_area else "",
        language_code=meeting.language.code if meeting.language else "",
        type_codes=tuple(str(code) for code in (meeting.type_codes or [])),
        notes=meeting.notes,
        updated=getattr(meeting, "updated", None),
    )


def listing_from_model(group: Group, *, with_meetings: bool = False) -> Listing:
    """The frozen form of one listing; reads only what ``listings_queryset`` prefetched."""
    contacts = list(group.contacts.all())
    phones = tuple(
        Phone(
            number=contact.phone.as_e164,
            extension=contact.extension,
            area=contact.area_label,
            hours=contact.hours,
            note=contact.note,
        )
        for contact in contacts
        if contact.kind == Contact.Kind.PHONE and contact.phone
    )
    return Listing(
        slug=group.slug,
        name=group.name,
        status=group.status,
        format=group.format,
        description=group.description,
        aliases=tuple(group.aliases or ()),
        categories=tuple(category.name for category in group.categories.all()),
        needs=tuple(need.name for need in group.needs.all()),
        types=tuple((kind.code, kind.name) for kind in group.types.all()),
        languages=tuple((language.code, language.name) for language in group.languages.all()),
        service_areas=tuple(
            Area(slug=area.slug, name=area.name, kind=area.get_kind_display())
            for area in group.service_areas.all()
        ),
        medication_stance=group.medication_stance,
        fees_note=group.fees_note,
        last_verified_on=group.last_verified_on,
        phones=phones,
        emails=tuple(c.email for c in contacts if c.kind == Contact.Kind.EMAIL and c.email),
        urls=tuple(c.url for c in contacts if c.kind == Contact.Kind.WEB and c.url),
        meetings=(
            tuple(meeting_from_model(m) for m in group.meetings.all()) if with_meetings else ()
        ),
    )


def listings(*, with_meetings: bool = False) -> Iterator[Listing]:
    """Every current listing, a chunk at a time (bounded memory and a bounded query count)."""
    queryset = listings_queryset(with_meetings=with_meetings)
    for group in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield listing_from_model(group, with_meetings=with_meetings)
