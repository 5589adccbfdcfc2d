"""Planning a Meeting Guide import against the catalogue: what the feed would change. Reads only.

Each meeting of the parsed feed (``directory.rules.meeting_guide``) belongs to the listing the
admin chose on the upload page, or else to the current listing whose name (or alias) is the
item's ``group``. A meeting matching one the listing already has (same day, start, address and
online link) is an update; otherwise it is new. Meetings the file does not mention are left as
they are. The plan's fingerprint is what the confirmation checks before writing.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from directory.models import Group, Language, Meeting, ServiceArea
from directory.rules.meeting_guide import (
    DAY_NAMES,
    LANGUAGE_TYPES,
    FeedMeeting,
    ParsedFeed,
    Problem,
    full_address,
    parse_feed,
)
from directory.rules.name_matching import match_name


@dataclass
class MeetingPlan:
    meeting: FeedMeeting
    listing: Group | None = None
    action: str = "error"  # create, update, unchanged, error
    existing: Meeting | None = None
    values: dict = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    # Matching by name (``by_name``): how the listing was found, and the listings to offer
    # the site admin for this row (the ambiguous ones, or the nearest names).
    how: str = ""
    offered: list[Group] = field(default_factory=list)

    @property
    def day_name(self) -> str:
        return DAY_NAMES[self.meeting.weekday]

    @property
    def action_label(self) -> str:
        return {
            "create": "New meeting",
            "update": "Update",
            "unchanged": "No change",
            "skip": "Skipped",
            "error": "Not imported",
        }[self.action]


@dataclass
class ImportPlan:
    entries: list[MeetingPlan]
    problems: list[Problem]
    warnings: list[Problem]
    by_name: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        """How many of each action, for the page: create, update, unchanged, error."""
        actions = ("create", "update", "unchanged", "error")
        if self.by_name:
            actions += ("skip",)
        return {action: self.count(action) for action in actions}

    def count(self, action: str) -> int:
        return sum(1 for entry in self.entries if entry.action == action)

    @property
    def fingerprint(self) -> str:
        summary = [
            [
                entry.meeting.item,
                entry.meeting.weekday,
                entry.action,
                entry.listing.pk if entry.listing else None,
                entry.listing.version if entry.listing else None,
                entry.existing.pk if entry.existing else None,
                entry.changes,
            ]
            for entry in self.entries
        ]
        return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


CHANGE_LABELS = {
    "weekday": "day",
    "start_time": "time",
    "address": "address",
    "online_url": "conference link",
    "slug": "slug",
    "city": "city",
    "state": "state",
    "postal_code": "postal code",
    "latitude": "latitude",
    "longitude": "longitude",
    "location_notes": "location notes",
    "conference_notes": "conference notes",
    "name": "name",
    "end_time": "end",
    "location_name": "location",
    "dial_in": "conference phone",
    "service_area": "region",
    "language": "language",
    "type_codes": "types",
    "notes": "notes",
}


def _place(meeting) -> str:
    """The meeting's street address written out, whatever its parts: "1 Main St, Long Beach,
    CA 90802" kept as one street line and the same address in parts are one place."""
    return full_address(meeting).casefold() if meeting.address else ""


def _match_key(weekday, start, place, online_url) -> tuple:
    return (weekday, start, place, online_url)


def _match_by_name(parsed: ParsedFeed, entries, warnings, choices: Mapping[str, int]) -> None:
    """Each meeting's listing by its group's or its own name (``rules.name_matching``), or the
    site admin's choice for that row; a meeting with no listing is skipped, with a note."""
    groups = {
        group.pk: group
        for group in Group.objects.current().only("pk", "name", "aliases", "slug", "version")
    }
    names = {pk: [g.name, *(str(a) for a in g.aliases or [])] for pk, g in groups.items()}
    for entry in entries:
        meeting = entry.meeting
        found = match_name([meeting.group, meeting.name], names)
        entry.offered = [groups[pk] for pk in found.suggestions]
        chosen = choices.get(str(meeting.item))
        if chosen is not None:
            if chosen in groups:
                entry.listing, entry.how = groups[chosen], "chosen in the preview"
                if entry.listing not in entry.offered:
                    entry.offered.insert(0, entry.listing)
            else:
                entry.action, entry.how = "skip", "skipped in the preview"
            continue
        if len(found.listing_ids) == 1:
            entry.listing, entry.how = groups[found.listing_ids[0]], found.how
            if entry.listing not in entry.offered:
                entry.offered.insert(0, entry.listing)
            continue
        entry.action, entry.how = "skip", found.how
        label = meeting.group or meeting.name
        warnings.append(
            Problem(
                meeting.item,
                "group",
                f"“{label}”: {found.how}; skipped unless you choose its listing below.",
            )
        )


def plan_meetings(
    parsed: ParsedFeed,
    *,
    listing: Group | None,
    by_name: bool = False,
    choices: Mapping[str, int] | None = None,
) -> ImportPlan:
    """Match each meeting to its listing and to a meeting already there. Reads only.

    ``by_name``: a published feed (a local intergroup's) where most meetings are of groups
    not in the directory. Each meeting is matched to a listing by name, with the site admin's
    per-row ``choices`` (feed item -> listing id, or 0 to skip) from the preview; meetings no
    listing matches are skipped with a note rather than stopping the import.
    """
    problems = list(parsed.problems)
    warnings = list(parsed.warnings)
    by_name_index: dict[str, list[Group]] = defaultdict(list)
    entries: list[MeetingPlan] = []
    matched_by_name = listing is None and by_name
    if matched_by_name:
        entries = [MeetingPlan(meeting=meeting) for meeting in parsed.meetings]
        _match_by_name(parsed, entries, warnings, choices or {})
    elif listing is None:
        for group in Group.objects.current().only(
            "pk", "name", "aliases", "slug", "version", "status"
        ):
            names = {group.name.casefold(), *(str(a).casefold() for a in group.aliases or [])}
            for name in names:
                by_name_index[name].append(group)
    areas: dict[str, ServiceArea] = {}
    for area in ServiceArea.objects.all():
        areas.setdefault(area.name.casefold(), area)
        areas.setdefault(area.slug.casefold(), area)
    languages = {language.code.casefold(): language for language in Language.objects.all()}

    for meeting in [] if matched_by_name else parsed.meetings:
        entry = MeetingPlan(meeting=meeting)
        if listing is not None:
            entry.listing = listing
        elif not meeting.group:
            problems.append(
                Problem(
                    meeting.item,
                    "group",
                    "The meeting names no group: choose its listing on the upload page.",
                )
            )
        else:
            found = by_name_index.get(meeting.group.casefold(), [])
            if len(found) == 1:
                entry.listing = found[0]
            elif found:
                problems.append(
                    Problem(
                        meeting.item,
                        "group",
                        f"“{meeting.group}” is the name of {len(found)} listings; import their "
                        "meetings one listing at a time, choosing it on the upload page.",
                    )
                )
            else:
                problems.append(
                    Problem(
                        meeting.item,
                        "group",
                        f"“{meeting.group}” is not the name of a current listing; add the "
                        "listing first, or choose the listing on the upload page.",
                    )
                )
        entries.append(entry)

    existing: dict[tuple, list[Meeting]] = defaultdict(list)
    by_slug: dict[tuple, Meeting] = {}
    targets = {entry.listing.pk for entry in entries if entry.listing is not None}
    for meeting in Meeting.objects.filter(group_id__in=targets).select_related(
        "service_area", "language"
    ):
        if meeting.slug:
            by_slug.setdefault((meeting.group_id, meeting.slug), meeting)
        key = (
            meeting.group_id,
            *_match_key(meeting.weekday, meeting.start_time, _place(meeting), meeting.online_url),
        )
        existing[key].append(meeting)

    claimed: dict[tuple, int] = {}
    for entry in entries:
        if entry.listing is None:
            continue
        meeting = entry.meeting
        area = None
        if meeting.region:
            area = areas.get(meeting.region.casefold())
            if area is None:
                warnings.append(
                    Problem(
                        meeting.item,
                        "region",
                        f"region “{meeting.region}” is not one of the directory's service "
                        "areas; the meeting is imported without one.",
                    )
                )
        # A language code among the types (S for Spanish) is the meeting's language when the
        # directory knows that language; the code then need not be kept among the types.
        language = None
        type_codes = list(meeting.type_codes)
        for code in meeting.type_codes:
            known = languages.get(LANGUAGE_TYPES.get(code, "").casefold())
            if known is not None and language is None:
                language = known
                type_codes.remove(code)
        # TC says the listing is temporarily closed: that is the listing's status here, not a
        # type of the meeting (the feed adds it back while the listing stays closed).
        if entry.listing.status == Group.Status.TEMPORARILY_CLOSED and "TC" in type_codes:
            type_codes.remove("TC")
        name = "" if meeting.name == entry.listing.name else meeting.name
        entry.values = {
            "weekday": meeting.weekday,
            "start_time": meeting.start,
            "address": meeting.address,
            "online_url": meeting.online_url,
            "slug": meeting.slug,
            "city": meeting.city,
            "state": meeting.state,
            "postal_code": meeting.postal_code,
            "latitude": meeting.latitude,
            "longitude": meeting.longitude,
            "location_notes": meeting.location_notes,
            "conference_notes": meeting.conference_notes,
            "name": name,
            "end_time": meeting.end,
            "location_name": meeting.location_name,
            "dial_in": meeting.dial_in,
            "service_area": area,
            "language": language,
            "type_codes": type_codes,
            "notes": meeting.notes,
        }
        key = (
            entry.listing.pk,
            *_match_key(meeting.weekday, meeting.start, _place(meeting), meeting.online_url),
        )
        if key in claimed:
            problems.append(
                Problem(
                    meeting.item,
                    "",
                    f"Item {claimed[key]} is the same meeting ({DAY_NAMES[meeting.weekday]} "
                    f"{meeting.start:%H:%M} at the same place) of the same listing.",
                )
            )
            continue
        claimed[key] = meeting.item
        # The same meeting is the one with the source's slug (it keeps following the meeting
        # when its time or place changes), else the one held at the same day, time and place.
        same = by_slug.get((entry.listing.pk, meeting.slug))
        matches = [same] if same is not None else existing.get(key, [])
        if matches:
            entry.existing = matches[0]
            if _place(entry.existing) == _place(meeting):
                # The same place, written in parts or as one line: the stored form stays.
                for attribute in ("address", "city", "state", "postal_code"):
                    del entry.values[attribute]
            entry.changes = [
                CHANGE_LABELS[attribute]
                for attribute, value in entry.values.items()
                if getattr(entry.existing, attribute) != value
            ]
            entry.action = "update" if entry.changes else "unchanged"
        else:
            entry.action = "create"

    problems.sort(key=lambda p: p.item or 0)
    # An item held on several days is several meetings: say each thing about it once.
    return ImportPlan(
        entries=entries,
        problems=list(dict.fromkeys(problems)),
        warnings=list(dict.fromkeys(warnings)),
        by_name=matched_by_name,
    )


def plan_import(
    text: str,
    *,
    listing: Group | None,
    timezone: str,
    by_name: bool = False,
    choices: Mapping[str, int] | None = None,
) -> ImportPlan:
    return plan_meetings(
        parse_feed(text, timezone=timezone), listing=listing, by_name=by_name, choices=choices
    )
