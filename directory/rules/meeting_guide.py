"""The Meeting Guide JSON feed (code4recovery spec), out of the directory and into it.

The spec (github.com/code4recovery/spec): a JSON array of weekly meetings; ``name`` and
``slug`` required, slug unique and stable; ``day`` 0–6 from Sunday (or an array of them);
``time`` and ``end_time`` ``HH:MM`` in 24 hours; ``types`` codes such as O (open), C (closed),
BE (newcomer), X (wheelchair access) and language codes (S for Spanish); ``formatted_address``
or address parts; ``conference_url`` and ``conference_phone`` for online meetings; ``region``;
``group``; ``notes``; ``updated`` in UTC as ``YYYY-MM-DD HH:MM:SS``.

Anonymity: the spec forbids last names in a feed. The meetings hold no person at all (a contact
person's first name lives on the listing's contacts, which the feed never carries).

Slugs: the model has none, so one is made from the listing's slug, the day and the start time
(``dual-recovery-anonymous-mon-1900``, then ``-2``, ``-3`` at the same hour, by content), the
same on every export and after a round trip through another directory. :func:`parse_feed`
checks an imported feed item by item and reports every problem with its item number.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, time

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from directory.rules.meeting_types import MEETING_TYPES
from directory.rules.records import MEETING_STATUSES, Listing, WeeklyMeeting
from directory.rules.uploads import FileRefused

MAX_MEETINGS = 5000
SLUG_MAX = 64  # the spec: "64 characters max"
DAY_ABBREVIATIONS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

# The spec's language type codes, and the BCP 47 code of each language.
LANGUAGE_TYPES = {
    "AM": "am",
    "ASL": "ase",
    "DA": "da",
    "DE": "de",
    "EL": "el",
    "EN": "en",
    "FA": "fa",
    "FR": "fr",
    "HE": "he",
    "HI": "hi",
    "HR": "hr",
    "HU": "hu",
    "ITA": "it",
    "JA": "ja",
    "KOR": "ko",
    "LT": "lt",
    "ML": "ml",
    "NO": "no",
    "POL": "pl",
    "POR": "pt",
    "PUN": "pa",
    "RUS": "ru",
    "S": "es",
    "SK": "sk",
    "SV": "sv",
    "TH": "th",
    "TL": "tl",
    "UK": "uk",
}
TYPE_FOR_LANGUAGE = {language: code for code, language in LANGUAGE_TYPES.items()}

_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
# The spec's type codes, matched without regard to case ("be" is BE; "12x12" keeps its x).
KNOWN_TYPES = {code.upper(): code for code in MEETING_TYPES}
_DIAL = re.compile(r"^[0-9+,*#() .-]{3,100}$")

NAME_MAX = 255  # the spec's limit; stored names longer than the model's are refused below
# The lengths of Meeting's fields (name, location_name, address, online_url).
MODEL_NAME_MAX = 200
LOCATION_MAX = 200
ADDRESS_MAX = 300
URL_MAX = 300
NOTES_MAX = 5000


# --- Out: the feed --------------------------------------------------------------------------


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _identity(meeting: WeeklyMeeting) -> tuple:
    """What orders meetings of one listing held at the same hour, whatever the database."""
    return (
        meeting.location_name,
        meeting.address,
        meeting.online_url,
        meeting.dial_in,
        meeting.name,
        meeting.end or time(0),
        meeting.notes,
    )


def meeting_keys(listing: Listing) -> list[str]:
    """A key per meeting of the listing, in the listing's order: day and time, numbered when
    several meetings share them (``mon-1900``, ``mon-1900-2``)."""
    base = [f"{DAY_ABBREVIATIONS[m.weekday]}-{m.start:%H%M}" for m in listing.meetings]
    shared: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(base):
        shared[key].append(index)
    keys = list(base)
    for key, indexes in shared.items():
        if len(indexes) > 1:
            ranked = sorted(indexes, key=lambda i: _identity(listing.meetings[i]))
            for rank, index in enumerate(ranked[1:], start=2):
                keys[index] = f"{key}-{rank}"
    return keys


def meeting_slug(listing_slug: str, key: str) -> str:
    """``<listing slug>-<key>``, at most 64 characters; a long listing slug is shortened and
    keeps a short hash of itself, so two long slugs with one beginning stay apart."""
    room = SLUG_MAX - len(key) - 1
    prefix = listing_slug
    if len(prefix) > room:
        digest = hashlib.sha256(listing_slug.encode()).hexdigest()[:6]
        prefix = f"{listing_slug[: room - 7].rstrip('-')}-{digest}"
    return f"{prefix}-{key}"


def types_of(meeting: WeeklyMeeting) -> list[str]:
    """The meeting's type codes, with its language's code (``S`` for Spanish) when it has one."""
    codes = list(dict.fromkeys(meeting.type_codes))
    language_type = TYPE_FOR_LANGUAGE.get(meeting.language_code)
    if language_type and language_type not in codes:
        codes.append(language_type)
    return codes


def feed_item(listing: Listing, meeting: WeeklyMeeting, *, slug: str, timezone: str) -> dict:
    item = {
        "name": meeting.name or listing.name,
        "slug": slug,
        "day": meeting.weekday,
        "time": _hhmm(meeting.start),
    }
    if meeting.end:
        item["end_time"] = _hhmm(meeting.end)
    item["timezone"] = timezone
    item["types"] = types_of(meeting)
    optional = {
        "location": meeting.location_name,
        "formatted_address": meeting.address,
        "conference_url": meeting.online_url,
        "conference_phone": meeting.dial_in,
        "region": meeting.region,
        "group": listing.name,
        "notes": meeting.notes,
    }
    item.update({key: value for key, value in optional.items() if value})
    if meeting.updated:
        item["updated"] = meeting.updated.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return item


def feed_items(listings: Iterable[Listing], *, timezone: str) -> Iterator[dict]:
    """Every meeting of every listing that meets (active or temporarily closed), by listing,
    one at a time (the feed streams: ``streaming.json_array``)."""
    for listing in listings:
        if listing.status not in MEETING_STATUSES:
            continue
        for meeting, key in zip(listing.meetings, meeting_keys(listing), strict=True):
            slug = meeting_slug(listing.slug, key)
            yield feed_item(listing, meeting, slug=slug, timezone=timezone)


def feed(listings: Iterable[Listing], *, timezone: str) -> list[dict]:
    """The whole feed as a list (:func:`feed_items`, gathered)."""
    return list(feed_items(listings, timezone=timezone))


# --- In: reading a feed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Where (the item's number, counting from 1 as the file lists them; None for the whole
    file), which field, and what is wrong."""

    item: int | None
    field: str
    message: str


@dataclass(frozen=True)
class FeedMeeting:
    """One weekly meeting read from a feed (an item with several days gives one per day)."""

    item: int
    slug: str
    name: str
    group: str
    weekday: int
    start: time
    end: time | None = None
    location_name: str = ""
    address: str = ""
    online_url: str = ""
    dial_in: str = ""
    region: str = ""
    type_codes: tuple[str, ...] = ()
    notes: str = ""


@dataclass
class ParsedFeed:
    meetings: list[FeedMeeting] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _kind_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def parse_time(value, *, label: str) -> time:
    """``HH:MM`` in 24 hours; ValueError with the reason otherwise ("25:00" included)."""
    if not isinstance(value, str):
        raise ValueError(f"{label} must be text in HH:MM (24-hour), not {_kind_of(value)}.")
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError(f"{label} “{value}” is not in HH:MM (24-hour), for example 19:30.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{label} “{value}” is not a time of day (00:00 to 23:59).")
    return time(hour, minute)


def parse_days(value) -> list[int]:
    """``day``: an integer 0–6 (0 = Sunday) or a list of them; ValueError otherwise."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError("day is an empty list; give at least one day, 0 (Sunday) to 6.")
    days = []
    for one in values:
        if isinstance(one, str) and one.strip().isdigit():
            one = int(one.strip())
        if isinstance(one, bool) or not isinstance(one, int):
            raise ValueError(
                f"day {json.dumps(one)} is not a day number: use 0 (Sunday) to 6 (Saturday)."
            )
        if not 0 <= one <= 6:
            raise ValueError(f"day {one} is not a day number: use 0 (Sunday) to 6 (Saturday).")
        if one not in days:
            days.append(one)
    return days


def _text(item: dict, key: str, number: int, problems: list, limit: int) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(Problem(number, key, f"{key} must be text, not {_kind_of(value)}."))
        return ""
    value = value.strip()
    if len(value) > limit:
        problems.append(Problem(number, key, f"{key} is longer than {limit} characters."))
        return ""
    return value


def parse_item(number: int, item, *, timezone: str) -> tuple[list[FeedMeeting], list, list]:
    """One item of the array: its meetings (one per day), problems, warnings."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if not isinstance(item, dict):
        return (
            [],
            [Problem(number, "", f"Each meeting must be an object, not {_kind_of(item)}.")],
            [],
        )

    name = _text(item, "name", number, problems, NAME_MAX)
    if not name and not any(p.field == "name" for p in problems):
        problems.append(Problem(number, "name", "name is required (the spec requires it)."))
    elif len(name) > MODEL_NAME_MAX:
        problems.append(
            Problem(number, "name", f"name is longer than the {MODEL_NAME_MAX} characters kept.")
        )
    slug = item.get("slug")
    if isinstance(slug, int) and not isinstance(slug, bool):
        slug = str(slug)
    if not isinstance(slug, str) or not slug.strip():
        problems.append(
            Problem(number, "slug", "slug is required: text or a number unique in the file.")
        )
        slug = ""
    slug = slug.strip()

    days: list[int] = []
    if "day" not in item or item.get("day") in (None, ""):
        problems.append(
            Problem(
                number,
                "day",
                "day is missing: only weekly meetings can be imported (a meeting by "
                "appointment has no day and time).",
            )
        )
    else:
        try:
            days = parse_days(item["day"])
        except ValueError as error:
            problems.append(Problem(number, "day", str(error)))

    start = end = None
    if item.get("time") in (None, ""):
        problems.append(Problem(number, "time", "time is missing: give the start as HH:MM."))
    else:
        try:
            start = parse_time(item["time"], label="time")
        except ValueError as error:
            problems.append(Problem(number, "time", str(error)))
    if item.get("end_time") not in (None, ""):
        try:
            end = parse_time(item["end_time"], label="end_time")
        except ValueError as error:
            problems.append(Problem(number, "end_time", str(error)))
    if start and end and end <= start:
        problems.append(
            Problem(
                number,
                "end_time",
                f"The meeting ends at {end:%H:%M}, "
                + ("when" if end == start else "before")
                + f" it starts at {start:%H:%M}. A meeting that runs past midnight can be "
                "imported without its end_time.",
            )
        )

    given_timezone = item.get("timezone")
    if isinstance(given_timezone, str) and given_timezone and given_timezone != timezone:
        warnings.append(
            Problem(
                number,
                "timezone",
                f"timezone is {given_timezone}; the directory keeps {timezone} times, so the "
                "times are imported as they are written.",
            )
        )

    types: list[str] = []
    raw_types = item.get("types")
    if raw_types is not None:
        if not isinstance(raw_types, list):
            problems.append(
                Problem(number, "types", f"types must be a list, not {_kind_of(raw_types)}.")
            )
        else:
            for code in raw_types:
                if not isinstance(code, str):
                    problems.append(
                        Problem(number, "types", f"{json.dumps(code)} is not a meeting type code.")
                    )
                    continue
                known = KNOWN_TYPES.get(code.strip().upper())
                if known is None:
                    # The spec lets feeds add their own types, which importers ignore; the
                    # directory keeps only the spec's codes (directory.meeting_types).
                    warnings.append(
                        Problem(
                            number,
                            "types",
                            f"“{code}” is not a Meeting Guide type code; it is left out.",
                        )
                    )
                elif known not in types:
                    types.append(known)

    location_name = _text(item, "location", number, problems, LOCATION_MAX)
    address = _text(item, "formatted_address", number, problems, ADDRESS_MAX)
    if not address:
        parts = [
            _text(item, key, number, problems, ADDRESS_MAX)
            for key in ("address", "city", "state", "postal_code", "country")
        ]
        address = ", ".join(part for part in parts if part)
        if len(address) > ADDRESS_MAX:
            problems.append(
                Problem(number, "address", f"The address is longer than {ADDRESS_MAX} characters.")
            )
            address = ""
    online_url = _text(item, "conference_url", number, problems, URL_MAX)
    if online_url:
        try:
            URLValidator(schemes=["http", "https"])(online_url)
        except ValidationError:
            problems.append(
                Problem(
                    number,
                    "conference_url",
                    f"conference_url “{online_url}” is not a web address (http:// or https://).",
                )
            )
    dial_in = _text(item, "conference_phone", number, problems, 100)
    if dial_in and not _DIAL.match(dial_in):
        problems.append(
            Problem(
                number,
                "conference_phone",
                f"conference_phone “{dial_in}” may hold only digits, +, commas, * and #.",
            )
        )
    region = _text(item, "region", number, problems, 200)
    regions = item.get("regions")
    if not region and isinstance(regions, list) and regions and isinstance(regions[-1], str):
        region = regions[-1].strip()  # the most specific one
    group = _text(item, "group", number, problems, 200)
    notes = _text(item, "notes", number, problems, NOTES_MAX)

    if problems:
        return [], problems, warnings
    meetings = [
        FeedMeeting(
            item=number,
            slug=slug,
            name=name,
            group=group,
            weekday=day,
            start=start,
            end=end,
            location_name=location_name,
            address=address,
            online_url=online_url,
            dial_in=dial_in,
            region=region,
            type_codes=tuple(types),
            notes=notes,
        )
        for day in days
    ]
    return meetings, [], warnings


def parse_feed(text: str, *, timezone: str) -> ParsedFeed:
    """Every item of the feed checked; FileRefused when the file is not a feed at all."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise FileRefused(
            f"The file is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except RecursionError:
        raise FileRefused("The file is not a meeting feed: it is nested too deeply.") from None
    if not isinstance(data, list):
        raise FileRefused(
            "A Meeting Guide feed is a JSON array of meetings ([ {...}, {...} ]); this file "
            f"holds {_kind_of(data)}."
        )
    if not data:
        raise FileRefused("The feed is an empty list: it holds no meetings.")
    if len(data) > MAX_MEETINGS:
        raise FileRefused(f"The feed has more than {MAX_MEETINGS} meetings; split it.")
    parsed = ParsedFeed()
    slugs: dict[str, int] = {}
    for number, item in enumerate(data, start=1):
        meetings, problems, warnings = parse_item(number, item, timezone=timezone)
        parsed.warnings += warnings
        if meetings and meetings[0].slug in slugs:
            problems = [
                Problem(
                    number,
                    "slug",
                    f"slug “{meetings[0].slug}” is already item {slugs[meetings[0].slug]}'s.",
                )
            ]
            meetings = []
        elif meetings:
            slugs[meetings[0].slug] = number
        parsed.meetings += meetings
        parsed.problems += problems
    return parsed
