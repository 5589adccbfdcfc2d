"""Open Referral HSDS 3.0: the annotated list as organizations with their services.

HSDS 3.0 is the format for exchanging the directory (``assured_date`` is the last verification).
The shape is the API's paged list, one page holding every organization, each carrying its
``services`` in full; a listing is one organization with one service. There is no location
table, so a meeting's address travels in its schedule's ``description`` and ``attending_type``.

Field names and types follow the HSDS 3.0 schema files:
- ``service.status`` is one of active, inactive, defunct, "temporarily closed";
- ``phone.extension`` is a number (an extension with letters goes into the description);
- ``schedule.byday`` is RFC 5545 (``MO``, ``TU`` ...), ``freq`` ``WEEKLY``, times ``HH:MM``.
  ``schedule.timezone`` is a UTC offset, which cannot express Pacific time across daylight
  saving, so it is left out and the description says "Pacific time".

Ids are UUID 5 of the listing's slug (and of the part's own stable key), so exporting twice gives
the same ids and a consumer can match records across exports.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import time

from core import streaming
from directory.rules.meeting_guide import meeting_keys
from directory.rules.records import Listing, Phone, WeeklyMeeting

# A fixed namespace for this directory's ids (uuid5 of the project's name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://dmh.lacounty.gov/self-help-referral/")

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


def stable_id(*parts: str) -> str:
    """The same UUID for the same record on every export."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


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


def schedule(listing: Listing, meeting: WeeklyMeeting, *, service_id: str, key: str) -> dict:
    """One weekly meeting as an RFC 5545 weekly rule."""
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
        "id": stable_id("schedule", listing.slug, key),
        "service_id": service_id,
        "freq": "WEEKLY",
        "interval": 1,
        "byday": BYDAY[meeting.weekday],
        "opens_at": _hhmm(meeting.start),
        "description": description,
    }
    if meeting.end:
        record["closes_at"] = _hhmm(meeting.end)
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


def service(listing: Listing, *, organization_id: str) -> dict:
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

    seen: Counter = Counter()
    phones = []
    for item in listing.phones:
        key = (item.number, item.extension, item.area)
        seen[key] += 1
        phones.append(phone(listing, item, service_id=service_id, occurrence=seen[key]))
    record["phones"] = phones
    record["schedules"] = [
        schedule(listing, meeting, service_id=service_id, key=key)
        for meeting, key in zip(listing.meetings, meeting_keys(listing), strict=True)
    ]
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
    return record


def organization(listing: Listing) -> dict:
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
    record["services"] = [service(listing, organization_id=organization_id)]
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


def document(listings: Iterable[Listing]) -> dict:
    """The whole export: one page of the HSDS API's organization list."""
    contents = [organization(listing) for listing in listings]
    return {**page_header(len(contents)), "contents": contents}


def document_pieces(total: int, listings: Iterable[Listing]) -> Iterator[str]:
    """The same document as JSON text, an organization at a time (the export streams it):
    exactly the text of :func:`document` written with ``json.dumps(indent=1)``. ``total`` is
    the number of listings, which the page header gives before them."""
    return streaming.json_object(
        page_header(total), "contents", (organization(listing) for listing in listings)
    )
