"""Where a client can most conveniently attend a group, mapped to a Service Planning Area.

Policy 04.9 VIII.B: "With client input and approval, the clinician should collect ... most
convenient location for group attendance". Clinicians type that location as they hear it, a city,
a community, a neighbourhood of the City of Los Angeles or a ZIP code; :func:`resolve_place`
turns it into one of Los Angeles County's eight Service Planning Areas so that groups can be
matched by ``directory.ServiceArea`` (``kind="spa"``, ``spa_number`` 1-8).

The reviewed source is ``directory/data/la-county-places.yaml``, read once. Everything here is
pure (no database): the SPA's ``ServiceArea`` slug comes from ``taxonomy.yaml``, the same file the
directory's seed builds those rows from.

Refusals are :class:`PlaceNotFound` (or a subclass) whose message is a sentence the clinician can
act on: give a ZIP code, name a neighbourhood, or choose a service area instead.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PLACES_FILE = DATA_DIR / "la-county-places.yaml"
TAXONOMY_FILE = DATA_DIR / "taxonomy.yaml"

ZIP_SECTIONS = ("zip_codes", "po_box_zip_codes", "county_line_zip_codes")
SPA_NUMBERS = range(1, 9)

# A ZIP code, a ZIP+4 with its hyphen (or a space), or nine digits run together.
_ZIP_RE = re.compile(r"^(\d{5})(?:[-\s]?\d{4})?$")
# Dashes of every kind are word separators ("Florence–Firestone"), except inside a ZIP+4.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
# Abbreviations typed for a whole word of a place name: "Mt Washington", "N Hollywood".
_WORDS = {
    "mt": "mount",
    "st": "saint",
    "ste": "sainte",
    "ft": "fort",
    "hts": "heights",
    "pk": "park",
    "bch": "beach",
    "vly": "valley",
    "n": "north",
    "s": "south",
    "so": "south",
    "e": "east",
    "w": "west",
}
# What may trail a place: "Pasadena, CA", "Pasadena, California, USA".
_STATE_WORDS = ("ca", "calif", "california", "usa", "us", "united states")


@dataclass(frozen=True)
class Place:
    """A location resolved to a Service Planning Area (VIII.B)."""

    spa_number: int
    label: str  # what was recognised: "Pasadena", "ZIP 91101"

    @property
    def service_area_slug(self) -> str:
        """The slug of the ``directory.ServiceArea`` with this ``spa_number``."""
        return spa_slugs()[self.spa_number]


class PlaceNotFound(ValueError):
    """The text doesn't resolve to a SPA; the message says what to do instead."""


class OutsideCounty(PlaceNotFound):
    """A ZIP code in another county: the clinician chooses a service area instead."""


class AmbiguousPlace(PlaceNotFound):
    """A place that spans several SPAs (the City of Los Angeles): a ZIP code is needed."""


# ---- Normalisation ---------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case without accents, dashes as spaces, dots and apostrophes dropped."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    for dash in _DASHES:
        text = text.replace(dash, "-")
    text = re.sub(r"(?<=\d)-(?=\d)", "\x00", text)  # keep a ZIP+4's hyphen
    text = re.sub(r"[-/,;()]", " ", text)
    text = re.sub(r"[.'\u2019`]", "", text)  # "L.A." -> "la", "St." -> "st"
    return text.replace("\x00", "-")


def _strip_state(words: list[str]) -> list[str]:
    """Drop a trailing ", CA" / "California" / "USA" (and a ZIP that follows it stays)."""
    changed = True
    while changed and len(words) > 1:
        changed = False
        for state in _STATE_WORDS:
            tail = state.split()
            if len(words) > len(tail) and words[-len(tail) :] == tail:
                words = words[: -len(tail)]
                changed = True
    return words


def normalise(text: str) -> str:
    """The lookup key of a place name: "St. Mary's, CA" and "saint marys" give the same key.

    Case, accents, spacing, dashes, dots, a trailing state and a leading "City of" don't matter,
    and abbreviated words ("Mt", "St", "Hts", "N") are read as the whole word.
    """
    words = _strip_state(_fold(text).split())
    words = [_WORDS.get(word, word) for word in words]
    if len(words) > 2 and words[:2] == ["city", "of"]:
        words = words[2:]  # "City of Industry", "City of Commerce", "City of Los Angeles"
    return " ".join(words)


# ---- The data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: str
    spa: int | None
    note: str


@dataclass(frozen=True)
class _Places:
    names: dict[str, _Entry]  # normalised name or alias -> entry
    zips: dict[str, int]  # "91101" -> SPA
    ranges: tuple[tuple[int, int], ...]
    outside: frozenset[str]


@cache
def load_data() -> dict[str, Any]:
    """The YAML as written (tests check its consistency on this)."""
    with PLACES_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def spa_slugs() -> dict[int, str]:
    """SPA number -> ``ServiceArea`` slug, from taxonomy.yaml (the seed's own source)."""
    with TAXONOMY_FILE.open(encoding="utf-8") as handle:
        taxonomy = yaml.safe_load(handle)
    return {
        area["spa_number"]: area["slug"]
        for area in taxonomy["service_areas"]
        if area.get("kind") == "spa"
    }


def _zip_text(value: Any) -> str:
    return f"{value:05d}" if isinstance(value, int) else str(value)


@cache
def _places() -> _Places:
    data = load_data()
    names: dict[str, _Entry] = {}
    for row in data["cities"]:
        entry = _Entry(row["name"], row["kind"], row["spa"], row.get("note", ""))
        for spelling in [row["name"], *row.get("aliases", [])]:
            key = normalise(spelling)
            if key in names and names[key] != entry:
                raise ValueError(
                    f"{PLACES_FILE.name}: {spelling!r} is both {names[key].name!r} "
                    f"and {entry.name!r}"
                )
            names[key] = entry
    zips: dict[str, int] = {}
    for section in ZIP_SECTIONS:
        for spa, codes in (data.get(section) or {}).items():
            for code in codes:
                zips[_zip_text(code)] = int(spa)
    ranges = tuple((int(low), int(high)) for low, high in data["county_zip_ranges"])
    outside = frozenset(
        _zip_text(code) for codes in data["outside_county_zip_codes"].values() for code in codes
    )
    return _Places(names, zips, ranges, outside)


# ---- Lookup ----------------------------------------------------------------------------------


def _resolve_zip(code: str) -> Place:
    places = _places()
    if code in places.zips:
        return Place(places.zips[code], f"ZIP {code}")
    number = int(code)
    in_range = any(low <= number <= high for low, high in places.ranges)
    if not in_range or code in places.outside:
        raise OutsideCounty(
            f"ZIP code {code} is outside Los Angeles County. Choose a service area instead."
        )
    # A Los Angeles County ZIP code that isn't listed: a PO box or business ZIP of the City of
    # Los Angeles, a new ZIP, or a typing mistake. The clinician can still name the place.
    raise PlaceNotFound(
        f"ZIP code {code} isn't one we can place in a service area (it may be a PO box or "
        "business ZIP code, or mistyped). Type the city or neighbourhood, or choose a "
        "service area."
    )


def _zip_in(words: list[str]) -> str | None:
    """The ZIP code in typed words, if the words hold one and otherwise only a place name.

    "90012", "90012-1234", "Pasadena, CA 91101": the ZIP code is the more precise, so it wins.
    Digits in any other shape ("9001", "900123", "9OO12") are refused: they look like a ZIP
    code typed wrongly, and guessing would place the client in the wrong area.
    """
    digits = [i for i, word in enumerate(words) if any(ch.isdigit() for ch in word)]
    if not digits:
        return None
    if len(digits) == 1 and digits[0] in (0, len(words) - 1):
        match = _ZIP_RE.match(words[digits[0]])
        if match:
            return match.group(1)
    if len(digits) == 2 and len(words) == 2 and digits == [0, 1]:  # "90012 1234"
        match = _ZIP_RE.match(" ".join(words))
        if match:
            return match.group(1)
    return ""


def resolve_place(text: str) -> Place:
    """The SPA of a typed location (VIII.B): a city, community, neighbourhood or ZIP code.

    Raises :class:`AmbiguousPlace` for a place spanning several SPAs ("Los Angeles", "LA"),
    :class:`OutsideCounty` for a ZIP code of another county, and :class:`PlaceNotFound` for
    anything else it can't place, each with a message for the clinician.
    """
    shown = " ".join(str(text or "").split())
    if not shown:
        raise PlaceNotFound("Type a city, neighbourhood or ZIP code.")
    words = _strip_state(_fold(shown).split())
    code = _zip_in(words)
    if code:
        return _resolve_zip(code)
    if code == "":
        raise PlaceNotFound(
            f"“{shown}” isn't a ZIP code: a ZIP code has five digits, like 90012 or "
            "90012-1234. Check it, or type the city or neighbourhood."
        )
    places = _places()
    entry = places.names.get(normalise(shown))
    if entry is None:
        raise PlaceNotFound(_unknown_message(shown))
    if entry.spa is None:
        raise AmbiguousPlace(
            f"{entry.name} spans several service areas: give a ZIP code or a neighbourhood."
        )
    return Place(entry.spa, entry.name)


def _unknown_message(shown: str) -> str:
    message = (
        f"“{shown}” isn't a city or neighbourhood we know in Los Angeles County. "
        "Try its ZIP code, or choose a service area."
    )
    close = difflib.get_close_matches(normalise(shown), list(_places().names), n=1, cutoff=0.8)
    if close:
        entry = _places().names[close[0]]
        message = f"{message} Did you mean {entry.name}?"
    return message


def place_names() -> list[str]:
    """The names to suggest (a ``<datalist>``): every place that resolves, alphabetically.

    Places spanning several SPAs ("Los Angeles") are left out: choosing one would only bring
    the question back.
    """
    names = {entry.name for entry in _places().names.values() if entry.spa is not None}
    return sorted(names, key=normalise)
