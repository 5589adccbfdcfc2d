"""The catalogue's listings as plain, frozen records: what every export formats.

``directory.selectors.snapshot`` reads them from the database in a fixed number of queries;
the formats (``spreadsheet``, ``hsds``, ``meeting_guide``) are pure functions of these
records, so their tests need no database. Statuses, stances and formats are the models'
choice values; their labels are filled in by the snapshot (they take no part in equality).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

# Listings whose meetings are worth publishing (Group.Status values): an inactive or defunct
# group meets nowhere.
MEETING_STATUSES = ("active", "temporarily-closed")


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
    address: str = ""  # the street line
    online_url: str = ""
    dial_in: str = ""
    region: str = ""  # the service area's name
    language_code: str = ""
    type_codes: tuple[str, ...] = ()
    notes: str = ""
    updated: datetime | None = None
    # The Meeting Guide's stable identifier, kept from the source or made once and stored.
    slug: str = ""
    # With ``address`` (the street line), the full address of an in-person meeting.
    city: str = ""
    state: str = ""
    postal_code: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    location_notes: str = ""
    conference_notes: str = ""


@dataclass(frozen=True)
class Listing:
    slug: str
    name: str
    status: str = "active"  # a Group.Status value
    format: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    types: tuple[tuple[str, str], ...] = ()  # (code, name)
    languages: tuple[tuple[str, str], ...] = ()  # (code, name)
    service_areas: tuple[Area, ...] = ()
    medication_stance: str = "not-known"  # a Group.MedicationStance value
    fees_note: str = ""
    last_verified_on: date | None = None
    phones: tuple[Phone, ...] = ()
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    meetings: tuple[WeeklyMeeting, ...] = field(default=())
    # II.A–H: (criterion code, its wording, CriterionConfirmation.Status value); read for HSDS.
    criteria: tuple[tuple[str, str, str], ...] = ()
    updated: datetime | None = field(default=None, compare=False)  # the listing's row saved
    # The choices' labels, for the spreadsheet's columns.
    status_label: str = field(default="", compare=False)
    format_label: str = field(default="", compare=False)
    medication_label: str = field(default="", compare=False)
