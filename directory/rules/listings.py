"""What an admin edits on a listing, and the shape of one row's edit: plain data, no database.

The field lists are what the forms offer and the services write; ``RowEdit`` carries one change
to a listing's contact or meeting (or a resource's phone) from a form to ``directory.services``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

# Verification dates are the county's local date, whatever the server's clock zone.
COUNTY_TIME_ZONE = ZoneInfo("America/Los_Angeles")

# What an admin edits on a listing (everything but slug, source text, verification, archive).
GROUP_FIELDS = (
    "name",
    "aliases",
    "description",
    "format",
    "is_twelve_step",
    "status",
    "medication_stance",  # VI.C
    "etiquette_note",  # VIII.F
    "evidence_note",  # I.F
    "fees_note",  # II.G
)
GROUP_M2M = ("categories", "types", "needs", "languages", "service_areas")
CONTACT_FIELDS = (
    "kind",
    "phone",
    "extension",
    "email",
    "url",
    "area_label",
    "hours",
    "person_first_name",  # VIII.C: first name only
    "note",
)
CONTACT_M2M = ("service_areas",)
MEETING_FIELDS = (
    "name",
    "weekday",
    "start_time",
    "end_time",
    "location_name",
    "address",
    "online_url",
    "dial_in",
    "service_area",
    "language",
    "type_codes",
    "notes",
)
# A meeting's exchange fields: written by the Meeting Guide import (and kept by every other
# write, which leaves a field it is not given as it is).
MEETING_FEED_FIELDS = (
    "slug",
    "city",
    "state",
    "postal_code",
    "latitude",
    "longitude",
    "location_notes",
    "conference_notes",
)
RESOURCE_FIELDS = (
    "name",
    "description",
    "url",
    "hours",
    "opens_at",
    "closes_at",
    "needs_confirmation",
    "confirmation_note",
)
RESOURCE_PHONE_FIELDS = ("phone", "extension", "label", "source")

# Single path segments under /directory/ that are pages, never a listing's slug.
RESERVED_SLUGS = frozenset(
    # The staff directory's pages, and the public directory's ("es" and "poster" under /groups/).
    {
        "new",
        "manage",
        "resources",
        "flags",
        "export",
        "import",
        "print",
        "meetings",
        "search",
        "es",
        "poster",
    }
)


@dataclass(frozen=True)
class RowEdit:
    """One change to a listing's contact or meeting (or a resource's phone).

    ``pk`` is None for a new row. ``values`` holds the fields to set, many-to-many ones as
    iterables of objects.
    """

    pk: int | None
    values: Mapping[str, Any] = field(default_factory=dict)
    delete: bool = False
