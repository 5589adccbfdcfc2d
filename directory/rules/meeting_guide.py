"""The Meeting Guide JSON feed (code4recovery spec), out of the directory and into it.

The spec (github.com/code4recovery/spec): a JSON array of weekly meetings; ``name`` and
``slug`` required, slug unique and stable; ``day`` 0–6 from Sunday (or an array of them);
``time`` and ``end_time`` ``HH:MM`` in 24 hours; ``types`` codes such as O (open), C (closed),
BE (newcomer), X (wheelchair access) and language codes (S for Spanish); ``formatted_address``
or address parts; ``conference_url`` and ``conference_phone`` for online meetings; ``region``;
``group``; ``notes``; ``updated`` in UTC as ``YYYY-MM-DD HH:MM:SS``.

Anonymity: the spec forbids last names in a feed. The meetings hold no person at all (a contact
person's first name lives on the listing's contacts, which the feed never carries).

Slugs: each meeting stores one, kept from the feed it was imported from or made when it was
first saved; a meeting without one gets one made from the listing's slug, the day and the start
time (``dual-recovery-anonymous-mon-1900``, then ``-2``, ``-3`` at the same hour, by content),
the same on every export and after a round trip through another directory.

Addresses: an in-person meeting goes out with its full street address and ``approximate:
"no"``; an online-only one with an approximate city and ``approximate: "yes"`` (TSML refuses a
meeting without an address, and reads fewer than four comma parts as approximate).

:func:`parse_feed` checks an imported feed item by item and reports every problem with its
item number; a meeting by appointment is left out, and an end past midnight dropped, each with
a warning, rather than refusing the feed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, time
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

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
    "AF": "af",
    "AM": "am",
    "AR": "ar",
    "ASL": "ase",
    "BG": "bg",
    "DA": "da",
    "DE": "de",
    "EL": "el",
    "EN": "en",
    "FA": "fa",
    "FI": "fi",
    "FR": "fr",
    "HE": "he",
    "HI": "hi",
    "HR": "hr",
    "HU": "hu",
    "IS": "is",
    "ITA": "it",
    "JA": "ja",
    "KA": "ka",
    "KOR": "ko",
    "LT": "lt",
    "ML": "ml",
    "MT": "mt",
    "NE": "ne",
    "NL": "nl",
    "NO": "no",
    "POL": "pl",
    "POR": "pt",
    "PUN": "pa",
    "RUS": "ru",
    "S": "es",
    "SK": "sk",
    "SL": "sl",
    "SV": "sv",
    "TH": "th",
    "TL": "tl",
    "TUR": "tr",
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


def types_of(meeting: WeeklyMeeting, *, closed: bool = False) -> list[str]:
    """The meeting's type codes, with its language's code (``S`` for Spanish) when it has one,
    and ``TC`` when its listing is temporarily closed (``closed``)."""
    codes = list(dict.fromkeys(meeting.type_codes))
    language_type = TYPE_FOR_LANGUAGE.get(meeting.language_code)
    if language_type and language_type not in codes:
        codes.append(language_type)
    if closed and CLOSED_TYPE not in codes:
        codes.append(CLOSED_TYPE)
    return codes


# The spec's "Location Temporarily Closed": the apps show such a meeting online only (when it
# has a conference link) or not at all, instead of sending people to a closed door.
CLOSED_TYPE = "TC"
COUNTRY = "US"
DEFAULT_CITY = "Los Angeles"  # where an online meeting without a city is placed, approximately

# Videoconference services whose links open a meeting (the providers TSML and the Meeting
# Guide app recognise). The spec: conference_url "should launch directly into the meeting and
# not link to an intermediary page".
CONFERENCE_HOSTS = (
    "zoom.us",
    "zoom.com",
    "meet.google.com",
    "teams.microsoft.com",
    "teams.live.com",
    "gotomeeting.com",
    "meet.goto.com",
    "webex.com",
    "bluejeans.com",
    "join.skype.com",
    "whereby.com",
    "meet.jit.si",
    "discord.gg",
    "discord.com",
    "freeconferencecall.com",
    "signal.group",
)


def is_meeting_link(url: str) -> bool:
    """Whether ``url`` opens a meeting on a known videoconference service: https, a known
    host (or a subdomain of one, such as ``us02web.zoom.us``), and a path beyond the
    service's home page."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    known = any(host == known or host.endswith("." + known) for known in CONFERENCE_HOSTS)
    return parts.scheme == "https" and known and parts.path.strip("/") != ""


def full_address(meeting: WeeklyMeeting) -> str:
    """Street, city, "state ZIP" and country: the four comma parts TSML and the app read as
    an exact place (fewer parts are taken for an approximate one)."""
    if not meeting.city:
        # A street line that is the whole address as written ("1 Main St, Long Beach, CA
        # 90802"), from before addresses had their parts.
        return meeting.address if meeting.address.endswith("USA") else f"{meeting.address}, USA"
    state_zip = " ".join(part for part in (meeting.state, meeting.postal_code) if part)
    parts = (meeting.address, meeting.city, state_zip, "USA")
    return ", ".join(part for part in parts if part)


def approximate_address(meeting: WeeklyMeeting) -> str:
    """Where an online-only meeting is placed, approximately: its city (or Los Angeles)."""
    return f"{meeting.city or DEFAULT_CITY}, {meeting.state or 'CA'}, USA"


def _coordinate(value) -> float | None:
    return None if value is None else float(value)


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
    item["types"] = types_of(meeting, closed=listing.status == "temporarily-closed")
    if meeting.address:
        # In person: the full street address, exact.
        address = {
            "formatted_address": full_address(meeting),
            "approximate": "no",
            "address": meeting.address,
            "city": meeting.city,
            "state": meeting.state,
            "postal_code": meeting.postal_code,
            "country": COUNTRY,
        }
    else:
        # Online only: the spec asks for an address all the same; an approximate one, said so.
        address = {
            "formatted_address": approximate_address(meeting),
            "approximate": "yes",
            "city": meeting.city,
            "state": meeting.state,
        }
    conference_url = meeting.online_url if is_meeting_link(meeting.online_url) else ""
    optional = {
        "location": meeting.location_name,
        **address,
        "latitude": _coordinate(meeting.latitude),
        "longitude": _coordinate(meeting.longitude),
        "location_notes": meeting.location_notes,
        "conference_url": conference_url,
        # Another web link (a page with the joining details) is not a conference link: the
        # apps would offer it as one. It goes as the meeting's page instead.
        "url": meeting.online_url if meeting.online_url and not conference_url else "",
        "conference_url_notes": meeting.conference_notes if conference_url else "",
        "conference_phone": meeting.dial_in,
        "conference_phone_notes": (
            meeting.conference_notes if meeting.dial_in and not conference_url else ""
        ),
        "region": meeting.region,
        "group": listing.name,
        "notes": meeting.notes,
    }
    item.update({key: value for key, value in optional.items() if value not in ("", None)})
    if meeting.updated:
        item["updated"] = meeting.updated.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return item


def feed_items(listings: Iterable[Listing], *, timezone: str) -> Iterator[dict]:
    """Every meeting of every listing that meets (active or temporarily closed), by listing,
    one at a time (the feed streams: ``streaming.json_array``).

    A meeting's slug is the one stored with it (kept from the feed it was imported from, or
    made when it was saved), else one made from the listing's slug, day and time. Slugs must
    be unique in a feed: a second meeting with a slug already sent gets ``-2``, ``-3``.
    """
    sent: set[str] = set()
    for listing in listings:
        if listing.status not in MEETING_STATUSES:
            continue
        for meeting, key in zip(listing.meetings, meeting_keys(listing), strict=True):
            slug = meeting.slug or meeting_slug(listing.slug, key)
            if slug in sent:
                number = 2
                while f"{slug}-{number}" in sent:
                    number += 1
                slug = f"{slug}-{number}"
            sent.add(slug)
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
    city: str = ""
    state: str = ""
    postal_code: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    location_notes: str = ""
    conference_notes: str = ""


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


# A street address written out: "1 Main St, Long Beach, CA 90802" (and ", USA").
_STREET_ADDRESS = re.compile(
    r"^(?P<street>.+?),\s*(?P<city>[^,]+?),\s*(?P<state>[A-Za-z]{2})"
    r"(?:\s+(?P<zip>\d{5}(?:-\d{4})?))?(?:,\s*(?:USA|US|United States))?$"
)
STATE_MAX = 2
POSTAL_CODE_MAX = 10
CITY_MAX = 100


def split_address(text: str) -> tuple[str, str, str, str]:
    """(street, city, state, postal code) from a written-out address; the whole text as the
    street line when it does not read as one."""
    match = _STREET_ADDRESS.match(text.strip())
    if not match:
        return text.strip(), "", "", ""
    return (
        match["street"].strip(),
        match["city"].strip(),
        match["state"].upper(),
        match["zip"] or "",
    )


def _address(item: dict, number: int, problems: list, warnings: list) -> tuple[str, str, str, str]:
    """The street line, city, state and postal code of an item.

    ``approximate: "yes"`` (an online meeting placed roughly) keeps no street line: the
    formatted address is a city or a region, not a place to go. Otherwise the address parts
    are read when the item gives them, else the formatted address is split.
    """
    approximate = str(item.get("approximate") or "").strip().lower() == "yes"
    street = _text(item, "address", number, problems, ADDRESS_MAX)
    city = _text(item, "city", number, problems, CITY_MAX)
    state = _text(item, "state", number, problems, 40)
    postal_code = _text(item, "postal_code", number, problems, POSTAL_CODE_MAX)
    formatted = _text(item, "formatted_address", number, problems, ADDRESS_MAX)
    if approximate:
        street = ""
    elif not street and formatted:
        street, found_city, found_state, found_zip = split_address(formatted)
        city, state, postal_code = (
            city or found_city,
            state or found_state,
            postal_code or found_zip,
        )
    if state.casefold() == "california":
        state = "CA"
    if len(state) > STATE_MAX:
        warnings.append(
            Problem(number, "state", f"state “{state}” is not a two-letter code; it is left out.")
        )
        state = ""
    return street, city, state.upper(), postal_code


def _coordinate_in(item: dict, key: str, bound: int, number: int, problems: list):
    """A latitude (``bound`` 90) or longitude (180) as a decimal of six places, or None."""
    value = item.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(Problem(number, key, f"{key} must be a number, not {_kind_of(value)}."))
        return None
    try:
        number_value = Decimal(str(value).strip())
    except InvalidOperation:
        number_value = None
    if number_value is None or not number_value.is_finite() or abs(number_value) > bound:
        problems.append(Problem(number, key, f"{key} must be a number from -{bound} to {bound}."))
        return None
    return number_value.quantize(Decimal("0.000001"))


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

    # The spec: a meeting without a day or a time is held by appointment. The directory keeps
    # weekly meetings only, so such an item is left out with a note, and the rest imported.
    if item.get("day") in (None, "") or item.get("time") in (None, ""):
        if problems:
            return [], problems, warnings
        warnings.append(
            Problem(
                number,
                "day",
                "The meeting is by appointment (no day or no time): only weekly meetings are "
                "imported, so it is left out.",
            )
        )
        return [], [], warnings

    days: list[int] = []
    try:
        days = parse_days(item["day"])
    except ValueError as error:
        problems.append(Problem(number, "day", str(error)))

    start = end = None
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
        # Past midnight (or ending as it starts): the directory keeps an end on the same day,
        # so the meeting comes in without its end time.
        warnings.append(
            Problem(
                number,
                "end_time",
                f"The meeting ends at {end:%H:%M}, "
                + ("when" if end == start else "before")
                + f" it starts at {start:%H:%M} (past midnight): it is imported without its "
                "end time.",
            )
        )
        end = None

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
    street, city, state, postal_code = _address(item, number, problems, warnings)
    latitude = _coordinate_in(item, "latitude", 90, number, problems)
    longitude = _coordinate_in(item, "longitude", 180, number, problems)
    if (latitude is None) != (longitude is None):
        warnings.append(
            Problem(number, "latitude", "Only one of latitude and longitude: both are left out.")
        )
        latitude = longitude = None
    location_notes = _text(item, "location_notes", number, problems, NOTES_MAX)
    conference_notes = "\n".join(
        dict.fromkeys(
            note
            for note in (
                _text(item, "conference_url_notes", number, problems, NOTES_MAX),
                _text(item, "conference_phone_notes", number, problems, NOTES_MAX),
            )
            if note
        )
    )
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
        else:
            if not is_meeting_link(online_url):
                warnings.append(
                    Problem(
                        number,
                        "conference_url",
                        f"conference_url “{online_url}” does not open a meeting on a known "
                        "videoconference service; it is imported, but check it.",
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
    # An item held on several days is a meeting per day here, each with its own slug (a feed
    # never repeats a slug): the source's slug and the day.
    meetings = [
        FeedMeeting(
            item=number,
            slug=slug if len(days) == 1 else f"{slug}-{DAY_ABBREVIATIONS[day]}",
            name=name,
            group=group,
            weekday=day,
            start=start,
            end=end,
            location_name=location_name,
            address=street,
            city=city,
            state=state,
            postal_code=postal_code,
            latitude=latitude,
            longitude=longitude,
            location_notes=location_notes,
            conference_notes=conference_notes,
            online_url=online_url,
            dial_in=dial_in,
            region=region,
            type_codes=tuple(types),
            notes=notes,
        )
        for day in days
    ]
    return meetings, [], warnings


# The longest number a feed has reason to hold (a day, a slug given as a number, a
# coordinate): anything longer is refused before Python converts it (a 5,000-digit number
# raises ValueError in int(), and converting one is quadratic).
MAX_NUMBER_LENGTH = 40


def _number(text: str, convert):
    if len(text) > MAX_NUMBER_LENGTH:
        raise FileRefused(
            f"The file holds a number {len(text):,} characters long; a meeting feed's numbers "
            f"are at most {MAX_NUMBER_LENGTH} characters."
        )
    return convert(text)


def _no_constant(name: str):
    raise FileRefused(f"The file holds {name}, which is not valid JSON.")


def _invalid_text(value, depth: int = 0) -> str | None:
    """The first text of ``value`` that is not valid Unicode (a lone surrogate, from an escape
    such as ``\\ud800``): JSON's parser lets it through, but it cannot be stored or shown."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value
        return None
    if depth > 20:
        return None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list):
        for one in value:
            found = _invalid_text(one, depth + 1)
            if found is not None:
                return found
    return None


def parse_feed(text: str, *, timezone: str) -> ParsedFeed:
    """Every item of the feed checked; FileRefused when the file is not a feed at all."""
    try:
        data = json.loads(
            text,
            parse_int=lambda digits: _number(digits, int),
            parse_float=lambda digits: _number(digits, float),
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as error:
        raise FileRefused(
            f"The file is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except RecursionError:
        raise FileRefused("The file is not a meeting feed: it is nested too deeply.") from None
    except ValueError as error:  # a number the parser could not convert
        raise FileRefused(f"The file holds a number that cannot be read: {error}.") from None
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
        if _invalid_text(item) is not None:
            parsed.problems.append(
                Problem(
                    number,
                    "",
                    "The meeting holds text that is not valid Unicode (an escape such as "
                    "\\ud800 that stands for half a character); correct it at the source.",
                )
            )
            continue
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
