"""The directory's seed: the policy's 2008 appendix (``directory/data/*.yaml``) as a fixture.

Pure: dictionaries in, fixture records out. Records name each other by natural key, so the
fixture (``fixtures/directory.json``) carries no primary keys and loads into any database.
Anything malformed raises :class:`SeedError` naming the entry and the field, and the fixture is
written only when the whole source is valid, so nothing is half-built.

Policy clauses carried here: the APPENDIX (listings, headings, contacts), section II's types
A-E, III.A-I (each listing's format), VI.C (medication stance, "not known" unless the policy
says otherwise), VII.C-D (a current annotated list: every listing last verified 2008-11-07, so
stale), VIII.D-E (SHARE!, the Friendship Line and its hours, the Client Coalition's two
numbers), VIII.F (a listing's own etiquette note, only where the source gives one). II.A-H
rows are made by seed_directory. A contact printed without an area gets none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

import phonenumbers
import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TAXONOMY_FILE = DATA_DIR / "taxonomy.yaml"
APPENDIX_FILE = DATA_DIR / "appendix-2008.yaml"
FIXTURE_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "directory.json"

PHONE_REGION = "US"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A clause of the policy a printed block may come from: "VIII.E", "III.B", or the appendix.
CLAUSE_RE = re.compile(r"^(?:I|II|III|IV|V|VI|VII|VIII|IX)\.[A-K]$|^Appendix$")
DOUBLED_SCHEME_RE = re.compile(r"^(https?://)(?:https?://)+", re.IGNORECASE)
_url_validator = URLValidator(schemes=["http", "https"])

# What the fixture must fit: the models' choice values and the lengths of the text they keep.
# The seed imports no model; tests/unit/directory/test_rules_follow_models.py keeps these in
# step with them.
SERVICE_AREA_KINDS = ("spa", "out-of-county", "countywide", "national")  # ServiceArea.Kind
SPA = "spa"
FORMATS = tuple(f"III.{letter}" for letter in "ABCDEFGHI")  # Format, section III
MEDICATION_STANCES = ("affirming", "not-known", "discourages")  # Group.MedicationStance
ACTIVE = "active"  # Group.Status
SEED_SOURCE = "seed"  # ReviewFlag.Source
MAX_LENGTHS = {
    "category": {"name": 200},
    "grouptype": {"name": 100},
    "need": {"name": 100},
    "language": {"code": 12, "name": 60},
    "servicearea": {"name": 100},
    "contact": {
        "area_label": 120,
        "hours": 200,
        "person_first_name": 60,
        "note": 300,
        "as_printed": 300,
    },
    "reviewflag": {"summary": 300},
    "group": {"name": 200},
    "referralresource": {"name": 200, "hours": 120},
    "resourcephone": {"label": 120, "source": 60},
}


class SeedError(ValueError):
    """The seed's source is malformed; the message names the entry and the field."""


def _fail(where: str, field: str, problem: str):
    raise SeedError(f"{where}: {field}: {problem}")


# ---- Normalisation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    e164: str
    extension: str

    @property
    def national(self) -> str:
        number = phonenumbers.parse(self.e164)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def normalise_phone(text: Any) -> Phone:
    """A phone as printed ("(323) 777- 0130 Ext. 223", "1-877-SHARE-49") -> E.164 and extension.

    Vanity letters are read as the keypad digits they stand for; a printed extension ("Ext.",
    "ext", "x") is kept apart. Raises SeedError if the text is not a valid US number.
    """
    if not isinstance(text, str) or not text.strip():
        raise SeedError(f"{text!r} is not a phone number (expected the number as printed)")
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise SeedError(f"{text!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise SeedError(f"{text!r} is not a valid phone number")
    extension = number.extension or ""
    if extension and (not extension.isdigit() or len(extension) > 10):
        raise SeedError(f"{text!r} has an extension that is not 1-10 digits")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164=e164, extension=extension)


def correct_url(printed: Any) -> tuple[str, str]:
    """A web address as printed -> (the address to store, what was corrected or "").

    The only correction made without being told is a doubled scheme ("http://http://x"), which
    is certain; everything else must be a valid http(s) address as printed.
    """
    if not isinstance(printed, str) or not printed.strip():
        raise SeedError(f"{printed!r} is not a web address")
    url = printed.strip()
    correction = ""
    if DOUBLED_SCHEME_RE.match(url):
        url = DOUBLED_SCHEME_RE.sub(r"\1", url)
        correction = "the doubled http:// is removed"
    try:
        _url_validator(url)
    except ValidationError:
        raise SeedError(f"{printed!r} is not a valid web address") from None
    return url, correction


def normalise_printed(text: str) -> str:
    """Printed text compared without layout: a hyphen at a line break joins, spaces collapse."""
    text = re.sub(r"-[ \t]*\n\s*", "-", text)
    return re.sub(r"\s+", " ", text).strip()


# ---- Small validators --------------------------------------------------------------------


def _mapping(value, where: str, *, required: set[str], optional: set[str] = frozenset()):
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected a mapping of fields, got {type(value).__name__}")
    keys = {k for k in value if not str(k).startswith("x-")}
    missing = sorted(required - keys)
    if missing:
        _fail(where, missing[0], "is required")
    unknown = sorted(keys - required - set(optional), key=str)
    if unknown:
        _fail(where, str(unknown[0]), "is not a known field (a typo?)")
    return value


def _max_length(model: str, field_name: str) -> int:
    return MAX_LENGTHS[model][field_name]


def _text(
    data: dict,
    key: str,
    where: str,
    *,
    required: bool = True,
    model: str | None = None,
    model_field: str | None = None,
    field_label: str | None = None,
) -> str:
    label = field_label or key
    value = data.get(key)
    if value is None:
        if required:
            _fail(where, label, "is required")
        return ""
    if not isinstance(value, str):
        _fail(where, label, f"must be text, got {value!r}")
    value = value.strip()
    if required and not value:
        _fail(where, label, "must not be empty")
    if model is not None:
        limit = _max_length(model, model_field or key)
        if limit and len(value) > limit:
            _fail(where, label, f"is {len(value)} characters, more than {limit}")
    return value


def _bool(data: dict, key: str, where: str, *, default: bool | None = None) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        _fail(where, key, f"must be true or false, got {value!r}")
    return value


def _slug(value, where: str, field: str) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        _fail(where, field, f"{value!r} is not a slug (lower-case words joined by hyphens)")
    return value


def _list(data: dict, key: str, where: str, *, required: bool = False) -> list:
    value = data.get(key)
    if value is None:
        if required:
            _fail(where, key, "is required")
        return []
    if not isinstance(value, list):
        _fail(where, key, f"must be a list, got {value!r}")
    return value


def _refs(values: list, known: dict, where: str, field: str) -> list[str]:
    """Check each value names a known taxonomy entry; return them in the taxonomy's order."""
    seen = set()
    for i, value in enumerate(values):
        if value not in known:
            _fail(where, f"{field}[{i}]", f"{value!r} is not in the taxonomy")
        if value in seen:
            _fail(where, f"{field}[{i}]", f"{value!r} is given twice")
        seen.add(value)
    order = list(known)
    return sorted(values, key=order.index)


def _date(value, where: str, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        _fail(where, field, f"{value!r} is not a date (YYYY-MM-DD)")


def _time(value, where: str, field: str) -> time:
    if not isinstance(value, str):
        # YAML reads an unquoted 18:00 as a number (1080): insist on quotes.
        _fail(where, field, f'{value!r} is not a time; write it quoted, e.g. "18:00"')
    try:
        return time.fromisoformat(value)
    except ValueError:
        _fail(where, field, f"{value!r} is not a time (HH:MM)")


# ---- Taxonomy ----------------------------------------------------------------------------


def _taxonomy(taxonomy: dict) -> tuple[dict[str, dict], list[dict]]:
    """Validate the taxonomy; return {kind: {key: entry}} and its fixture records."""
    _mapping(
        taxonomy,
        "taxonomy",
        required={"categories", "group_types", "needs", "languages", "service_areas"},
    )
    known: dict[str, dict] = {}
    records: list[dict] = []

    def entries(kind: str, key: str, fields: dict[str, bool]):
        known[kind] = {}
        items = _list(taxonomy, kind, "taxonomy", required=True)
        if not items:
            _fail("taxonomy", kind, "must not be empty")
        for i, item in enumerate(items):
            where = f"taxonomy: {kind}[{i}]"
            required = {f for f, req in fields.items() if req}
            _mapping(item, where, required=required, optional=set(fields) - required)
            ident = item.get(key)
            where = f"taxonomy: {kind} {ident!r}"
            if ident in known[kind]:
                _fail(where, key, f"{ident!r} is given twice")
            known[kind][ident] = item
            yield i, where, item

    for i, where, item in entries(
        "categories", "slug", {"slug": True, "name": True, "description": True}
    ):
        records.append(
            {
                "model": "directory.category",
                "fields": {
                    "slug": _slug(item["slug"], where, "slug"),
                    "name": _text(item, "name", where, model="category"),
                    "description": _text(item, "description", where),
                    "order": i + 1,
                },
            }
        )
    for _i, where, item in entries(
        "group_types", "code", {"code": True, "name": True, "description": True}
    ):
        code = item["code"]
        if code not in {"A", "B", "C", "D", "E"}:
            _fail(where, "code", f"{code!r} is not one of section II's types A-E")
        records.append(
            {
                "model": "directory.grouptype",
                "fields": {
                    "code": code,
                    "name": _text(item, "name", where, model="grouptype"),
                    "description": _text(item, "description", where),
                },
            }
        )
    for _i, where, item in entries("needs", "slug", {"slug": True, "name": True}):
        records.append(
            {
                "model": "directory.need",
                "fields": {
                    "slug": _slug(item["slug"], where, "slug"),
                    "name": _text(item, "name", where, model="need"),
                },
            }
        )
    for _i, where, item in entries("languages", "code", {"code": True, "name": True}):
        code = _text(item, "code", where, model="language")
        if not re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", code):
            _fail(where, "code", f"{code!r} is not a BCP 47 language code")
        records.append(
            {
                "model": "directory.language",
                "fields": {"code": code, "name": _text(item, "name", where, model="language")},
            }
        )
    spa_numbers: set[int] = set()
    for i, where, item in entries(
        "service_areas",
        "slug",
        {"slug": True, "name": True, "kind": True, "spa_number": False},
    ):
        kind = item["kind"]
        if kind not in SERVICE_AREA_KINDS:
            _fail(where, "kind", f"{kind!r} is not one of {', '.join(SERVICE_AREA_KINDS)}")
        spa = item.get("spa_number")
        if kind == SPA:
            if not isinstance(spa, int) or not 1 <= spa <= 8 or spa in spa_numbers:
                _fail(where, "spa_number", f"{spa!r} is not a free SPA number 1-8")
            spa_numbers.add(spa)
        elif spa is not None:
            _fail(where, "spa_number", "only a Service Planning Area has a SPA number")
        records.append(
            {
                "model": "directory.servicearea",
                "fields": {
                    "slug": _slug(item["slug"], where, "slug"),
                    "name": _text(item, "name", where, model="servicearea"),
                    "kind": kind,
                    "spa_number": spa,
                    "order": i + 1,
                },
            }
        )
    if spa_numbers != set(range(1, 9)):
        _fail("taxonomy", "service_areas", "must hold all eight Service Planning Areas 1-8")
    return known, records


# ---- Printed blocks ----------------------------------------------------------------------


def _printed_blocks(
    entry: dict, where: str, categories: dict, *, allow_under: bool
) -> list[tuple[str | None, str | None, str]]:
    """[(category slug or None, clause or None, verbatim text)] of an entry's `printed`."""
    blocks = _list(entry, "printed", where, required=True)
    if not blocks:
        _fail(where, "printed", "must hold at least one block of the source")
    out = []
    for i, block in enumerate(blocks):
        field = f"printed[{i}]"
        if not isinstance(block, dict) or len({"under", "where"} & set(block)) != 1:
            _fail(where, field, "needs exactly one of `under` (a heading) or `where` (a clause)")
        _mapping(block, f"{where}: {field}", required={"text"}, optional={"under", "where"})
        text = _text(block, "text", where, field_label=f"{field}.text")
        if "under" in block:
            if not allow_under:
                _fail(where, f"{field}.under", "a referral resource is not under a heading")
            if block["under"] not in categories:
                _fail(where, f"{field}.under", f"{block['under']!r} is not a heading")
            out.append((block["under"], None, text))
        else:
            clause = block["where"]
            if not isinstance(clause, str) or not CLAUSE_RE.match(clause):
                _fail(where, f"{field}.where", f"{clause!r} is not a clause such as VIII.E")
            out.append((None, clause, text))
    return out


def _source_note(blocks, categories: dict, revised: date) -> str:
    parts = []
    for under, clause, text in blocks:
        if under:
            header = f"Appendix (revised {revised:%B} {revised.day}, {revised.year}), under "
            header += f"“{categories[under]['name']}”:"
        elif clause == "Appendix":
            header = f"Appendix (revised {revised:%B} {revised.day}, {revised.year}):"
        else:
            header = f"Policy {clause}:"
        parts.append(f"{header}\n{text}")
    return "\n\n".join(parts)


def _check_printed(text: str, printed: str, where: str, field: str):
    if normalise_printed(text) not in printed:
        _fail(where, field, f"{text!r} does not appear in the entry's printed text")


# ---- Listings ----------------------------------------------------------------------------

LISTING_FIELDS = {
    "slug": True,
    "name": True,
    "description": True,
    "format": True,
    "is_twelve_step": True,
    "types": True,
    "needs": True,
    "printed": True,
    "aliases": False,
    "languages": False,
    "service_areas": False,
    "medication_stance": False,
    "etiquette_note": False,
    "evidence_note": False,
    "fees_note": False,
    "contacts": False,
    "flags": False,
    "transcriber_note": False,
}
CONTACT_FIELDS = {"phone", "email", "url", "area", "note", "hours", "person", "printed"}
CONTACT_FIELDS |= {"correction"}
FLAG_FIELDS = {"summary", "detail", "concerns_medication"}


@dataclass
class _Context:
    known: dict[str, dict]
    area_labels: dict[str, list[str]]
    defaults: dict
    revised: date
    last_verified_on: date


def _contact(raw, index: int, where: str, printed: str, ctx: _Context) -> tuple[dict, Phone]:
    field = f"contacts[{index}]"
    _mapping(raw, f"{where}: {field}", required=set(), optional=CONTACT_FIELDS)
    kinds = [k for k in ("phone", "email", "url") if k in raw]
    if len(kinds) != 1:
        _fail(where, field, "needs exactly one of phone, email or url")
    kind = kinds[0]
    fields = {
        "kind": {"phone": "phone", "email": "email", "url": "web"}[kind],
        "phone": "",
        "extension": "",
        "email": "",
        "url": "",
    }
    note_parts = []
    note = _text(raw, "note", where, required=False, field_label=f"{field}.note")
    if note:
        note_parts.append(note)
    phone = None
    if kind == "phone":
        text = raw["phone"]
        try:
            phone = normalise_phone(text)
        except SeedError as exc:
            _fail(where, f"{field}.phone", str(exc))
        fields["phone"], fields["extension"] = phone.e164, phone.extension
        as_printed = text.strip()
        if "printed" in raw or "correction" in raw:
            _fail(where, f"{field}.printed", "a phone is written as printed; nothing to correct")
    elif kind == "email":
        email = _text(raw, "email", where, field_label=f"{field}.email")
        try:
            validate_email(email)
        except ValidationError:
            _fail(where, f"{field}.email", f"{email!r} is not an e-mail address")
        fields["email"] = as_printed = email
        if "printed" in raw or "correction" in raw:
            _fail(where, f"{field}.printed", "an e-mail is written as printed")
    else:
        given = raw["url"]
        try:
            url, correction = correct_url(given)
        except SeedError as exc:
            _fail(where, f"{field}.url", str(exc))
        as_printed = given.strip()
        if "printed" in raw:
            # A correction the transcriber made: it must say why.
            as_printed = _text(raw, "printed", where, field_label=f"{field}.printed")
            correction = _text(raw, "correction", where, field_label=f"{field}.correction")
            if as_printed == url:
                _fail(where, f"{field}.printed", "is the same as url: nothing was corrected")
        elif "correction" in raw:
            _fail(where, f"{field}.correction", "needs `printed`, the text as printed")
        if correction:
            note_parts.append(f"As printed: {as_printed} ({correction})")
        fields["url"] = url
    _check_printed(as_printed, printed, where, f"{field}.{'printed' if 'printed' in raw else kind}")

    area = _text(raw, "area", where, required=False, field_label=f"{field}.area")
    if area:
        if area not in ctx.area_labels:
            _fail(where, f"{field}.area", f"{area!r} is not in area_labels")
        _check_printed(area, printed, where, f"{field}.area")
        areas = ctx.area_labels[area]
    else:
        # Printed without an area: none is recorded ("area not printed"). Where it serves is
        # unknown, and matching treats it so; it is never read as countywide.
        areas = []
    fields.update(
        {
            "area_label": area,
            "hours": _text(raw, "hours", where, required=False, field_label=f"{field}.hours"),
            "person_first_name": _text(
                raw, "person", where, required=False, field_label=f"{field}.person"
            ),
            "note": "; ".join(note_parts),
            "as_printed": as_printed,
            "order": index + 1,
            "service_areas": [[slug] for slug in areas],
        }
    )
    for name, label in (
        ("area_label", "area"),
        ("hours", "hours"),
        ("person_first_name", "person"),
        ("note", "note"),
        ("as_printed", "printed"),
    ):
        limit = _max_length("contact", name)
        if len(fields[name]) > limit:
            _fail(where, f"{field}.{label}", f"is longer than {limit} characters")
    return fields, phone


def _flags(entry: dict, where: str, parent: dict) -> list[dict]:
    records = []
    for i, raw in enumerate(_list(entry, "flags", where)):
        field = f"flags[{i}]"
        _mapping(raw, f"{where}: {field}", required={"summary"}, optional=FLAG_FIELDS)
        records.append(
            {
                "model": "directory.reviewflag",
                "fields": {
                    **parent,
                    "source": SEED_SOURCE,
                    "summary": _text(
                        raw,
                        "summary",
                        where,
                        model="reviewflag",
                        field_label=f"{field}.summary",
                    ),
                    "detail": _text(
                        raw, "detail", where, required=False, field_label=f"{field}.detail"
                    ),
                    "concerns_medication": _bool(
                        raw, "concerns_medication", f"{where}: {field}", default=False
                    ),
                },
            }
        )
    return records


def _listing(entry, index: int, ctx: _Context) -> tuple[list[dict], dict[str, Phone]]:
    where = (
        f"listing {entry.get('slug', index)!r}" if isinstance(entry, dict) else f"listings[{index}]"
    )
    required = {f for f, req in LISTING_FIELDS.items() if req}
    _mapping(entry, where, required=required, optional=set(LISTING_FIELDS) - required)
    known = ctx.known
    slug = _slug(entry["slug"], where, "slug")
    blocks = _printed_blocks(entry, where, known["categories"], allow_under=True)
    categories = [under for under, _, _ in blocks if under]
    if not categories:
        _fail(where, "printed", "no block is `under` an appendix heading")
    printed = normalise_printed("\n".join(text for _, _, text in blocks))

    name = _text(entry, "name", where, model="group")
    aliases = _list(entry, "aliases", where)
    for i, alias in enumerate(aliases):
        if not isinstance(alias, str) or not alias.strip():
            _fail(where, f"aliases[{i}]", f"{alias!r} is not a name")
    if len(set(aliases)) != len(aliases) or name in aliases:
        _fail(where, "aliases", "repeats a name")
    fmt = entry["format"]
    if fmt not in FORMATS:
        _fail(where, "format", f"{fmt!r} is not one of section III's formats III.A-III.I")
    is_twelve_step = _bool(entry, "is_twelve_step", where)
    stance = entry.get("medication_stance", ctx.defaults["medication_stance"])
    if stance not in MEDICATION_STANCES:
        _fail(where, "medication_stance", f"{stance!r} is not one of the VI.C stances")
    needs = _refs(_list(entry, "needs", where), known["needs"], where, "needs")
    if not needs:
        _fail(where, "needs", "must name at least one need")
    types = _refs(_list(entry, "types", where), known["group_types"], where, "types")
    languages = _refs(
        _list(entry, "languages", where) or ctx.defaults["languages"],
        known["languages"],
        where,
        "languages",
    )
    # VIII.F: only a note the source gives the listing. What clinicians tell a client about a
    # twelve-step group (III.A) is the pages' own text, never stored as the listing's customs
    # (the note is printed on the client's sheet).
    etiquette = _text(entry, "etiquette_note", where, required=False)

    contacts, phones = [], {}
    contact_areas: set[str] = set()
    for i, raw in enumerate(_list(entry, "contacts", where)):
        fields, phone = _contact(raw, i, where, printed, ctx)
        contacts.append({"model": "directory.contact", "fields": {"group": [slug], **fields}})
        contact_areas.update(area for (area,) in fields["service_areas"])
        if phone:
            phones[phone.e164] = phone
    if "service_areas" in entry:
        if contacts:
            _fail(where, "service_areas", "come from the contacts' areas; give them there")
        areas = _list(entry, "service_areas", where)
    else:
        areas = sorted(contact_areas)
    areas = _refs(areas, known["service_areas"], where, "service_areas")

    group = {
        "model": "directory.group",
        "fields": {
            "slug": slug,
            "name": name,
            "aliases": aliases,
            "description": _text(entry, "description", where),
            "format": fmt,
            "is_twelve_step": is_twelve_step,
            "status": ACTIVE,
            "medication_stance": stance,
            "etiquette_note": etiquette,
            "evidence_note": _text(entry, "evidence_note", where, required=False),
            "fees_note": _text(entry, "fees_note", where, required=False),
            "source_note": _source_note(blocks, known["categories"], ctx.revised),
            "last_verified_on": ctx.last_verified_on.isoformat(),
            "categories": [[c] for c in _refs(categories, known["categories"], where, "printed")],
            "types": [[t] for t in types],
            "needs": [[n] for n in needs],
            "languages": [[code] for code in languages],
            "service_areas": [[a] for a in areas],
        },
    }
    # (II.A-H: seed_directory gives each new listing one unconfirmed row per criterion; the
    # fixture does not repeat those 8 identical rows per listing.)
    flags = _flags(entry, where, {"group": [slug], "resource": None})
    return [group, *contacts, *flags], phones


# ---- Referral resources ------------------------------------------------------------------

RESOURCE_FIELDS = {
    "key": True,
    "name": True,
    "description": True,
    "printed": True,
    "phones": True,
    "url": False,
    "hours": False,
    "opens_at": False,
    "closes_at": False,
    "needs_confirmation": False,
    "confirmation_note": False,
    "flags": False,
}


def _resource(entry, index: int, ctx: _Context) -> list[dict]:
    where = (
        f"referral resource {entry.get('key', index)!r}"
        if isinstance(entry, dict)
        else f"referral_resources[{index}]"
    )
    required = {f for f, req in RESOURCE_FIELDS.items() if req}
    _mapping(entry, where, required=required, optional=set(RESOURCE_FIELDS) - required)
    key = _slug(entry["key"], where, "key")
    blocks = _printed_blocks(entry, where, ctx.known["categories"], allow_under=False)
    printed = normalise_printed("\n".join(text for _, _, text in blocks))
    url = ""
    if entry.get("url"):
        url, correction = correct_url(entry["url"])
        if correction:
            _fail(where, "url", f"write the corrected address ({correction})")
    opens = entry.get("opens_at")
    closes = entry.get("closes_at")
    if (opens is None) != (closes is None):
        _fail(where, "opens_at" if opens is None else "closes_at", "give both hours or neither")
    if opens is not None:
        opens, closes = _time(opens, where, "opens_at"), _time(closes, where, "closes_at")
        if closes <= opens:
            _fail(where, "closes_at", "must be after opens_at")
    needs_confirmation = _bool(entry, "needs_confirmation", where, default=False)
    note = _text(entry, "confirmation_note", where, required=needs_confirmation)
    resource = {
        "model": "directory.referralresource",
        "fields": {
            "key": key,
            "name": _text(entry, "name", where, model="referralresource"),
            "description": _text(entry, "description", where),
            "url": url,
            "hours": _text(entry, "hours", where, required=False, model="referralresource"),
            "opens_at": opens.isoformat() if opens else None,
            "closes_at": closes.isoformat() if closes else None,
            "needs_confirmation": needs_confirmation,
            "confirmation_note": note,
        },
    }
    phones = []
    for i, raw in enumerate(_list(entry, "phones", where, required=True)):
        field = f"phones[{i}]"
        _mapping(
            raw, f"{where}: {field}", required={"phone", "source"}, optional={"label", "phone"}
        )
        try:
            phone = normalise_phone(raw["phone"])
        except SeedError as exc:
            _fail(where, f"{field}.phone", str(exc))
        as_printed = raw["phone"].strip()
        _check_printed(as_printed, printed, where, f"{field}.phone")
        source = _text(raw, "source", where, model="resourcephone", field_label=f"{field}.source")
        for clause in (part.strip() for part in source.split(",")):
            if not CLAUSE_RE.match(clause):
                _fail(where, f"{field}.source", f"{clause!r} is not a clause such as VIII.E")
        phones.append(
            {
                "model": "directory.resourcephone",
                "fields": {
                    "resource": [key],
                    "phone": phone.e164,
                    "extension": phone.extension,
                    "label": _text(
                        raw,
                        "label",
                        where,
                        required=False,
                        model="resourcephone",
                        field_label=f"{field}.label",
                    ),
                    "as_printed": as_printed,
                    "source": source,
                    "order": i + 1,
                },
            }
        )
    if not phones:
        _fail(where, "phones", "must hold at least one number")
    flags = _flags(entry, where, {"group": None, "resource": [key]})
    return [resource, *phones, *flags]


# ---- The whole -----------------------------------------------------------------------------


def build_records(taxonomy: dict, appendix: dict) -> list[dict]:
    """The taxonomy and the appendix's transcription -> fixture records (natural keys).

    Order: taxonomy; then each listing followed by its contacts and flags; then each
    referral resource followed by its phones and flags. Raises SeedError on any defect.
    """
    known, records = _taxonomy(taxonomy)
    _mapping(
        appendix,
        "appendix",
        required={
            "source",
            "last_verified_on",
            "area_labels",
            "defaults",
            "listings",
            "referral_resources",
        },
    )
    source = _mapping(
        appendix["source"], "appendix: source", required={"document", "part", "revised"}
    )
    areas = known["service_areas"]
    area_labels = appendix["area_labels"]
    if not isinstance(area_labels, dict):
        _fail("appendix", "area_labels", "must map each printed label to service areas")
    for label, slugs in area_labels.items():
        if not isinstance(slugs, list) or not slugs:
            _fail("appendix: area_labels", str(label), "must list service areas")
        _refs(slugs, areas, "appendix: area_labels", str(label))
    defaults = _mapping(
        appendix["defaults"],
        "appendix: defaults",
        required={"languages", "medication_stance"},
    )
    ctx = _Context(
        known=known,
        area_labels=area_labels,
        defaults=defaults,
        revised=_date(source["revised"], "appendix: source", "revised"),
        last_verified_on=_date(appendix["last_verified_on"], "appendix", "last_verified_on"),
    )

    listings = _list(appendix, "listings", "appendix", required=True)
    seen: dict[tuple[str, str], str] = {}
    printed_by: dict[str, list[str]] = {}  # phone (E.164) -> listings printing it
    flag_text: dict[str, str] = {}
    for i, entry in enumerate(listings):
        listing_records, phones = _listing(entry, i, ctx)
        fields = listing_records[0]["fields"]
        for field, ident in (("slug", fields["slug"]), ("name", fields["name"].casefold())):
            if (field, ident) in seen:
                _fail(f"listing {fields['slug']!r}", field, f"repeats {seen[field, ident]!r}")
            seen[field, ident] = fields["slug"]
        for e164 in phones:
            printed_by.setdefault(e164, []).append(fields["slug"])
        flag_text[fields["slug"]] = " ".join(
            f"{r['fields']['summary']} {r['fields']['detail']}"
            for r in listing_records
            if r["model"] == "directory.reviewflag"
        )
        records.extend(listing_records)
    # One number printed for several listings is a doubt: each of them must carry a flag
    # that names it, so a site admin confirms whom the number reaches.
    for e164, slugs in printed_by.items():
        if len(slugs) > 1:
            national = Phone(e164, "").national
            for slug in slugs:
                if national not in flag_text[slug]:
                    _fail(
                        f"listing {slug!r}",
                        "flags",
                        f"{national} is also printed for {', '.join(s for s in slugs if s != slug)}"
                        f"; add a flag naming {national}",
                    )

    resource_keys = set()
    for i, entry in enumerate(_list(appendix, "referral_resources", "appendix", required=True)):
        resource_records = _resource(entry, i, ctx)
        key = resource_records[0]["fields"]["key"]
        if key in resource_keys:
            _fail(f"referral resource {key!r}", "key", "is given twice")
        resource_keys.add(key)
        records.extend(resource_records)
    return records


def render_fixture(records: list[dict]) -> str:
    """The fixture's text: stable for the same records, so the committed file can be compared."""
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise SeedError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path.name}: expected a mapping at the top")
    return data


def build_fixture_text(
    taxonomy_file: Path = TAXONOMY_FILE, appendix_file: Path = APPENDIX_FILE
) -> str:
    """Read the reviewed source and return the fixture's text (what the command writes)."""
    return render_fixture(build_records(read_yaml(taxonomy_file), read_yaml(appendix_file)))
