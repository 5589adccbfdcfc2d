"""Open Referral HSDS 3.0: the annotated list as organizations with their services.

HSDS 3.0 is the format for exchanging the directory (``assured_date`` is the last verification).
The shape is the API's paged list, one page holding every organization, each carrying its
``services`` in full; a listing is one organization with one service.

Field names and types follow the HSDS 3.0 schema files (``../shared/specs/hsds-3.0/``):
- ``service.status`` is one of active, inactive, defunct, "temporarily closed";
- ``service.last_modified`` is when the listing or one of its meetings last changed (UTC, to the
  millisecond);
- ``phone.extension`` is a number (an extension with letters goes into the description);
- ``schedule`` is an RFC 5545 weekly rule: ``byday`` (``MO``, ``TU`` ...), ``freq`` ``WEEKLY``,
  ``interval`` 1 with its ``dtstart``. HSDS reads a time without an offset as UTC, and a UTC
  offset cannot say "Pacific time" across daylight saving, so each meeting is given for the
  period of the current offset and for the next one: ``valid_from``/``valid_to`` bound the
  period, ``opens_at``/``closes_at`` carry its offset (``19:00-08:00``) and ``timezone`` says
  it as a number (-8). A consumer that keeps the file past the second period has no times.
- ``attributes`` carry the directory's taxonomy: needs, group types (II), format (III),
  medication stance (VI.C) and the criteria II.A–H, whose ``value`` is meets, does_not_meet or
  not_confirmed (not confirmed is never read as either);
- an in-person meeting's address is a ``location`` (with its ``address`` when the street,
  city, state and postal code are all known), linked by a ``service_at_location`` that the
  meeting's schedule names.

Ids are UUID 5 of the listing's slug (and of the part's own stable key), so exporting twice gives
the same ids and a consumer can match records across exports.
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core import streaming
from directory.rules.meeting_guide import meeting_keys
from directory.rules.records import Listing, Phone, WeeklyMeeting

# A fixed namespace for this directory's ids (uuid5 of the project's name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://dmh.lacounty.gov/self-help-referral/")
# Where the meetings are (every time in the export is local time there).
ZONE = ZoneInfo("America/Los_Angeles")

# HSDS service status by Group.Status value.
STATUS = {
    "active": "active",
    "temporarily-closed": "temporarily closed",
    "inactive": "inactive",
    "defunct": "defunct",
}

# RFC 5545 day codes by Meeting Guide day number (0 = Sunday, as Meeting.weekday).
BYDAY = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
DAY_NAMES = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")

# The directory's taxonomies (key: name, description), exported as HSDS taxonomies.
TAXONOMIES = {
    "needs": (
        "LA County DMH self-help referral list: needs",
        "What a group helps with, as the county's self-help referral list classifies it.",
    ),
    "group-types": (
        "DMH policy 04.9 II: self-help group types",
        "The self-help group types A-E of DMH policy 04.9, section II (after Mallory, 1984); "
        "several may apply to one group.",
    ),
    "formats": (
        "DMH policy 04.9 III: self-help formats",
        "The nine self-help formats of DMH policy 04.9, section III.",
    ),
    "medication-stance": (
        "DMH policy 04.9 VI.C: medication stance",
        "Whether the group treats members on appropriately prescribed psychiatric medication "
        "as full members.",
    ),
    "criteria": (
        "DMH policy 04.9 II.A-H: criteria for referral",
        "The eight criteria a self-help group for DMH referral meets. The attribute's value is "
        "meets, does_not_meet or not_confirmed; not confirmed is neither.",
    ),
}


def stable_id(*parts: str) -> str:
    """The same UUID for the same record on every export."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Period:
    """Days on which Los Angeles keeps one UTC offset (from one daylight-saving change to the
    day before the next)."""

    valid_from: date
    valid_to: date
    offset: timedelta

    @property
    def suffix(self) -> str:
        minutes = int(self.offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    @property
    def hours(self) -> float:
        value = self.offset.total_seconds() / 3600
        return int(value) if value == int(value) else value


def _offset(day: date) -> timedelta:
    # Noon: the change happens at 2 a.m., so noon has the day's offset for meetings.
    return datetime.combine(day, time(12), tzinfo=ZONE).utcoffset()


@functools.lru_cache(maxsize=16)
def periods(today: date, count: int = 2) -> tuple[Period, ...]:
    """The period of today's offset and the ``count - 1`` after it (worked out once a day: each
    of the county's 20,000 meetings asks)."""
    start = today
    while _offset(start - timedelta(days=1)) == _offset(today):
        start -= timedelta(days=1)
    found = []
    for _ in range(count):
        offset = _offset(start)
        end = start
        while _offset(end + timedelta(days=1)) == offset:
            end += timedelta(days=1)
        found.append(Period(start, end, offset))
        start = end + timedelta(days=1)
    return tuple(found)


def _hhmm(value: time, period: Period) -> str:
    return value.strftime("%H:%M") + period.suffix


def _millis(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clock(value: time) -> str:
    hour = value.hour % 12 or 12
    suffix = "a.m." if value.hour < 12 else "p.m."
    return f"{hour}:{value.minute:02d} {suffix}"


def phone(listing: Listing, item: Phone, *, service_id: str, occurrence: int) -> dict:
    key = f"{item.number};{item.extension};{item.area}"
    record = {
        "id": stable_id("phone", listing.slug, key, str(occurrence)),
        "service_id": service_id,
        "number": item.number,
        "type": "voice",
    }
    description = [item.area] if item.area else []
    if item.extension.isdigit():
        record["extension"] = int(item.extension)
    elif item.extension:
        description.append(f"ext. {item.extension}")
    description += [text for text in (item.hours, item.note) if text]
    if description:
        record["description"] = "; ".join(description)
    return record


def first_day(period: Period, weekday: int) -> date:
    """The first day of the period that falls on ``weekday`` (Sunday = 0)."""
    ahead = (weekday - (period.valid_from.isoweekday() % 7)) % 7
    return period.valid_from + timedelta(days=ahead)


def schedule(
    listing: Listing,
    meeting: WeeklyMeeting,
    *,
    service_id: str,
    key: str,
    period: Period,
    service_at_location_id: str | None = None,
) -> dict:
    """One weekly meeting as an RFC 5545 weekly rule, for one period of one UTC offset."""
    when = f"{DAY_NAMES[meeting.weekday]} {_clock(meeting.start)}"
    if meeting.end:
        when += f"–{_clock(meeting.end)}"
    where = []
    if meeting.location_name:
        where.append(meeting.location_name)
    if meeting.address:
        where.append(meeting.address)
    if meeting.online_url or meeting.dial_in:
        where.append("online")
    description = f"{when} (Pacific time)"
    if meeting.name:
        description = f"{meeting.name}: {description}"
    if where:
        description += ", " + ", ".join(where)
    record = {
        "id": stable_id("schedule", listing.slug, key, period.valid_from.isoformat()),
        "service_id": service_id,
        "valid_from": period.valid_from.isoformat(),
        "valid_to": period.valid_to.isoformat(),
        "dtstart": first_day(period, meeting.weekday).isoformat(),
        "timezone": period.hours,
        "freq": "WEEKLY",
        "interval": 1,
        "byday": BYDAY[meeting.weekday],
        "opens_at": _hhmm(meeting.start, period),
        "description": description,
    }
    if service_at_location_id:
        record["service_at_location_id"] = service_at_location_id
    if meeting.end:
        record["closes_at"] = _hhmm(meeting.end, period)
    attending = []
    if meeting.address:
        attending.append("in person")
    if meeting.online_url or meeting.dial_in:
        attending.append("online")
    if attending:
        record["attending_type"] = " or ".join(attending)
    if meeting.notes:
        record["notes"] = meeting.notes
    return record


def _place_key(meeting: WeeklyMeeting) -> str:
    return "|".join((meeting.address, meeting.city, meeting.state, meeting.postal_code))


def service_at_location(listing: Listing, meeting: WeeklyMeeting, *, service_id: str) -> dict:
    """Where an in-person meeting is: a physical location, with its postal address when every
    part HSDS requires is known (street, city, state, postal code)."""
    key = _place_key(meeting)
    location_id = stable_id("location", listing.slug, key)
    location = {
        "id": location_id,
        "location_type": "physical",
        "name": meeting.location_name or meeting.address,
    }
    if meeting.location_notes:
        location["description"] = meeting.location_notes
    if meeting.latitude is not None and meeting.longitude is not None:
        location["latitude"] = float(meeting.latitude)
        location["longitude"] = float(meeting.longitude)
    if meeting.address and meeting.city and meeting.state and meeting.postal_code:
        location["addresses"] = [
            {
                "id": stable_id("address", listing.slug, key),
                "location_id": location_id,
                "address_1": meeting.address,
                "city": meeting.city,
                "state_province": meeting.state,
                "postal_code": meeting.postal_code,
                "country": "US",
                "address_type": "physical",
            }
        ]
    return {
        "id": stable_id("service_at_location", listing.slug, key),
        "service_id": service_id,
        "location_id": location_id,
        "location": location,
    }


def _term(taxonomy: str, code: str, name: str, description: str) -> dict:
    taxonomy_name, taxonomy_description = TAXONOMIES[taxonomy]
    taxonomy_id = stable_id("taxonomy", taxonomy)
    term = {
        "id": stable_id("taxonomy_term", taxonomy, code or name),
        **({"code": code} if code else {}),
        "name": name,
        "description": description,
        "taxonomy": taxonomy_name,
        "taxonomy_id": taxonomy_id,
        "taxonomy_detail": {
            "id": taxonomy_id,
            "name": taxonomy_name,
            "description": taxonomy_description,
        },
    }
    return term


def attributes(listing: Listing, *, service_id: str) -> list[dict]:
    """The listing's place in the directory's taxonomies, as HSDS attributes of its service."""
    terms: list[tuple[dict, str | None]] = []
    for need in listing.needs:
        terms.append((_term("needs", "", need, f"The group helps with: {need}."), None))
    for code, name in listing.types:
        terms.append(
            (_term("group-types", code, name, f"Self-help group type {code} (policy II)."), None)
        )
    if listing.format:
        label = listing.format_label or listing.format
        terms.append(
            (_term("formats", listing.format, label, f"Self-help format {listing.format}."), None)
        )
    stance = listing.medication_label or listing.medication_stance
    terms.append(
        (
            _term(
                "medication-stance",
                listing.medication_stance,
                stance,
                "VI.C: how the group treats members on prescribed psychiatric medication.",
            ),
            None,
        )
    )
    for code, wording, status in listing.criteria:
        terms.append((_term("criteria", code, wording, f"DMH policy 04.9 {code}."), status))
    records = []
    for term, value in terms:
        record = {
            "id": stable_id("attribute", listing.slug, term["id"]),
            "link_id": service_id,
            "link_entity": "service",
            "taxonomy_term_id": term["id"],
            "taxonomy_term": term,
        }
        if value is not None:
            record["value"] = value
        records.append(record)
    return records


def last_modified(listing: Listing) -> datetime | None:
    """When the listing or one of its meetings last changed."""
    times = [listing.updated, *(meeting.updated for meeting in listing.meetings)]
    return max((t for t in times if t is not None), default=None)


def service(listing: Listing, *, organization_id: str, today: date) -> dict:
    service_id = stable_id("service", listing.slug)
    record = {
        "id": service_id,
        "organization_id": organization_id,
        "name": listing.name,
        "description": listing.description,
        "status": STATUS[listing.status],
    }
    if listing.aliases:
        record["alternate_name"] = "; ".join(listing.aliases)
    if listing.urls:
        record["url"] = listing.urls[0]
    if listing.emails:
        record["email"] = listing.emails[0]
    if listing.fees_note:
        record["fees_description"] = listing.fees_note
    if listing.last_verified_on:
        # Design notes, section 4: assured_date is the date the listing was last verified.
        record["assured_date"] = listing.last_verified_on.isoformat()
    changed = last_modified(listing)
    if changed is not None:
        record["last_modified"] = _millis(changed)

    seen: Counter = Counter()
    phones = []
    for item in listing.phones:
        key = (item.number, item.extension, item.area)
        seen[key] += 1
        phones.append(phone(listing, item, service_id=service_id, occurrence=seen[key]))
    record["phones"] = phones
    places: dict[str, dict] = {}
    for meeting in listing.meetings:
        if meeting.address and _place_key(meeting) not in places:
            places[_place_key(meeting)] = service_at_location(
                listing, meeting, service_id=service_id
            )
    record["schedules"] = [
        schedule(
            listing,
            meeting,
            service_id=service_id,
            key=key,
            period=period,
            service_at_location_id=(places[_place_key(meeting)]["id"] if meeting.address else None),
        )
        for meeting, key in zip(listing.meetings, meeting_keys(listing), strict=True)
        for period in periods(today)
    ]
    record["service_at_locations"] = list(places.values())
    record["languages"] = [
        {
            "id": stable_id("language", listing.slug, code),
            "service_id": service_id,
            "name": name,
            "code": code,
        }
        for code, name in listing.languages
    ]
    record["service_areas"] = [
        {
            "id": stable_id("service_area", listing.slug, area.slug),
            "service_id": service_id,
            "name": area.name,
            **({"description": area.kind} if area.kind else {}),
        }
        for area in listing.service_areas
    ]
    # Emails beyond the first (HSDS has one per service) become contacts of the service.
    record["contacts"] = [
        {"id": stable_id("contact", listing.slug, email), "service_id": service_id, "email": email}
        for email in listing.emails[1:]
    ]
    record["attributes"] = attributes(listing, service_id=service_id)
    return record


def organization(listing: Listing, *, today: date) -> dict:
    organization_id = stable_id("organization", listing.slug)
    record = {
        "id": organization_id,
        "name": listing.name,
        # Required by HSDS; a listing without a description still says what it is.
        "description": listing.description
        or f"{listing.name}: a self-help group on the LA County DMH annotated referral list.",
    }
    if listing.aliases:
        record["alternate_name"] = "; ".join(listing.aliases)
    if listing.emails:
        record["email"] = listing.emails[0]
    if listing.urls:
        record["website"] = listing.urls[0]
    record["services"] = [service(listing, organization_id=organization_id, today=today)]
    return record


def page_header(total: int) -> dict:
    """The members before ``contents``: one page holding every organization."""
    return {
        "total_items": total,
        "total_pages": 1,
        "page_number": 1,
        "size": total,
        "first_page": True,
        "last_page": True,
        "empty": not total,
    }


def document(listings: Iterable[Listing], *, today: date) -> dict:
    """The whole export: one page of the HSDS API's organization list; ``today`` picks the
    periods the schedules are given for."""
    contents = [organization(listing, today=today) for listing in listings]
    return {**page_header(len(contents)), "contents": contents}


def document_pieces(total: int, listings: Iterable[Listing], *, today: date) -> Iterator[str]:
    """The same document as JSON text, an organization at a time (the export streams it):
    exactly the text of :func:`document` written with ``json.dumps(indent=1)``. ``total`` is
    the number of listings, which the page header gives before them."""
    return streaming.json_object(
        page_header(total), "contents", (organization(listing, today=today) for listing in listings)
    )
