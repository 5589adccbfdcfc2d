"""The Open Referral HSDS 3.0 mapping, without a database (design notes, section 4).

``HSDS_3_0`` transcribes the parts of the HSDS 3.0 schema files (schema/organization.json,
service.json, phone.json, schedule.json, language.json, service_area.json, contact.json of
openreferral/specification) that the export uses: each object's required fields, and the
types, formats and enumerations of the fields we write. ``assert_valid_hsds`` checks a
document against it; the integration tests run it on the real export. Nothing is downloaded.
"""

import re
import uuid
from datetime import date, time

import pytest

from directory.rules import hsds
from directory.rules.records import Area, Listing, Phone, WeeklyMeeting

STRING = {"type": "string"}
UUID = {"type": "string", "format": "uuid"}
DATE = {"type": "string", "format": "date"}
HHMM = {"type": "string", "format": "time"}
URI = {"type": "string", "format": "uri"}
EMAIL = {"type": "string", "format": "email"}
NUMBER = {"type": "number"}

PHONE = {
    "required": ["id", "number"],
    "properties": {
        "id": UUID,
        "service_id": UUID,
        "number": STRING,
        "extension": NUMBER,
        "type": STRING,
        "description": STRING,
    },
}
SCHEDULE = {
    "required": ["id"],
    "properties": {
        "id": UUID,
        "service_id": UUID,
        "freq": {"type": "string", "enum": ["WEEKLY", "MONTHLY"]},
        "interval": NUMBER,
        "byday": {
            "type": "string",
            "pattern": r"^(MO|TU|WE|TH|FR|SA|SU)(,(MO|TU|WE|TH|FR|SA|SU))*$",
        },
        "opens_at": HHMM,
        "closes_at": HHMM,
        "description": STRING,
        "attending_type": STRING,
        "notes": STRING,
    },
}
LANGUAGE = {
    "required": ["id"],
    "properties": {"id": UUID, "service_id": UUID, "name": STRING, "code": STRING},
}
SERVICE_AREA = {
    "required": ["id"],
    "properties": {"id": UUID, "service_id": UUID, "name": STRING, "description": STRING},
}
CONTACT = {
    "required": ["id"],
    "properties": {"id": UUID, "service_id": UUID, "email": EMAIL},
}
SERVICE = {
    "required": ["id", "name", "status"],
    "properties": {
        "id": UUID,
        "organization_id": UUID,
        "name": STRING,
        "alternate_name": STRING,
        "description": STRING,
        "url": URI,
        "email": EMAIL,
        "status": {
            "type": "string",
            "enum": ["active", "inactive", "defunct", "temporarily closed"],
        },
        "fees_description": STRING,
        "assured_date": DATE,
        "phones": {"type": "array", "items": PHONE},
        "schedules": {"type": "array", "items": SCHEDULE},
        "languages": {"type": "array", "items": LANGUAGE},
        "service_areas": {"type": "array", "items": SERVICE_AREA},
        "contacts": {"type": "array", "items": CONTACT},
    },
}
ORGANIZATION = {
    "required": ["id", "name", "description"],
    "properties": {
        "id": UUID,
        "name": STRING,
        "alternate_name": STRING,
        "description": STRING,
        "email": EMAIL,
        "website": URI,
        "services": {"type": "array", "items": SERVICE},
    },
}
# The HSDS API's paged list ("Page" in the 3.0 OpenAPI file), holding organizations.
HSDS_3_0 = {
    "required": ["total_items", "total_pages", "page_number", "size", "contents"],
    "properties": {
        "total_items": NUMBER,
        "total_pages": NUMBER,
        "page_number": NUMBER,
        "size": NUMBER,
        "first_page": {"type": "boolean"},
        "last_page": {"type": "boolean"},
        "empty": {"type": "boolean"},
        "contents": {"type": "array", "items": ORGANIZATION},
    },
}

FORMATS = {
    "uuid": lambda v: str(uuid.UUID(v)) == v,
    "date": lambda v: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)) and bool(date.fromisoformat(v)),
    "time": lambda v: bool(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v)),
    "uri": lambda v: bool(re.match(r"^https?://\S+$", v)),
    "email": lambda v: bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v)),
}


def schema_errors(value, schema, where="$") -> list[str]:
    """The minimal JSON-schema check the transcription needs: required, type, format, enum,
    pattern, array items, object properties (unknown properties are reported too, so that a
    misspelt HSDS field name fails)."""
    errors = []
    kind = schema.get("type", "object")
    python = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "number": (int, float),
    }[kind]
    if not isinstance(value, python) or (kind == "number" and isinstance(value, bool)):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if kind == "object":
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing required {name!r}")
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name not in properties:
                errors.append(f"{where}: {name!r} is not an HSDS 3.0 field here")
            else:
                errors += schema_errors(item, properties[name], f"{where}.{name}")
    elif kind == "array":
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{index}]")
    elif kind == "string":
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if "format" in schema and not FORMATS[schema["format"]](value):
            errors.append(f"{where}: {value!r} is not a {schema['format']}")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    return errors


def assert_valid_hsds(document) -> None:
    errors = schema_errors(document, HSDS_3_0)
    assert not errors, "\n".join(errors)
    ids = [
        record["id"]
        for organization in document["contents"]
        for record in [organization, *_records(organization)]
    ]
    assert len(ids) == len(set(ids)), "HSDS ids must be unique"


def _records(organization):
    for service in organization["services"]:
        yield service
        for key in ("phones", "schedules", "languages", "service_areas", "contacts"):
            yield from service[key]


DRA = Listing(
    slug="dual-recovery-anonymous",
    name="Dual Recovery Anonymous",
    description="A twelve-step fellowship for people with a dual diagnosis.",
    format="III.A",
    categories=("Twelve-Step Groups for Mental Health Consumers",),
    needs=("Co-occurring substance use",),
    languages=(("en", "English"),),
    service_areas=(Area("spa-8-south-bay", "South Bay", "Service Planning Area"),),
    last_verified_on=date(2008, 11, 7),
    phones=(
        Phone("+13103058878", "", "Los Angeles"),
        Phone("+13237770130", "223", "Los Angeles"),
        Phone("+15624368585", "291", "Long Beach"),
    ),
    emails=("info@draonline.org", "second@draonline.org"),
    urls=("http://www.draonline.org",),
    meetings=(
        WeeklyMeeting(weekday=1, start=time(19), end=time(20, 30), address="1 Main St"),
        WeeklyMeeting(weekday=6, start=time(10), online_url="https://zoom.example/j/1"),
    ),
)


def test_the_document_is_valid_hsds_3_0():
    document = hsds.document([DRA, Listing(slug="bare", name="Bare")])
    assert_valid_hsds(document)
    assert document["total_items"] == 2 and document["size"] == 2
    assert document["first_page"] and document["last_page"] and not document["empty"]


def test_an_empty_directory_is_an_empty_page():
    document = hsds.document([])
    assert_valid_hsds(document)
    assert document["empty"] and document["contents"] == []


def test_the_validator_catches_what_it_should():
    organization = hsds.organization(DRA)
    del organization["description"]
    organization["services"][0]["status"] = "temporarily-closed"
    organization["services"][0]["phones"][0]["extension"] = "291"
    organization["services"][0]["assured"] = "2008-11-07"
    errors = schema_errors(
        {
            "total_items": 1,
            "total_pages": 1,
            "page_number": 1,
            "size": 1,
            "contents": [organization],
        },
        HSDS_3_0,
    )
    assert any("missing required 'description'" in e for e in errors)
    assert any("'temporarily-closed' is not one of" in e for e in errors)
    assert any("extension: expected number" in e for e in errors)
    assert any("'assured' is not an HSDS 3.0 field" in e for e in errors)


def test_ids_are_stable_uuids_derived_from_the_slug():
    first, second = hsds.organization(DRA), hsds.organization(DRA)
    assert first == second
    assert first["id"] == hsds.stable_id("organization", "dual-recovery-anonymous")
    other = hsds.organization(Listing(slug="emotions-anonymous", name="Dual Recovery Anonymous"))
    assert other["id"] != first["id"]
    uuid.UUID(first["id"])


def test_assured_date_is_the_last_verification():
    service = hsds.organization(DRA)["services"][0]
    assert service["assured_date"] == "2008-11-07"
    never = hsds.organization(Listing(slug="x", name="X"))["services"][0]
    assert "assured_date" not in never


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", "active"),
        ("temporarily-closed", "temporarily closed"),
        ("inactive", "inactive"),
        ("defunct", "defunct"),
    ],
)
def test_status_maps_to_hsds(status, expected):
    service = hsds.organization(Listing(slug="x", name="X", status=status))["services"][0]
    assert service["status"] == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        (Phone("+13103058878"), {"number": "+13103058878"}),
        (
            Phone("+15624368585", "291", "Long Beach"),
            {"number": "+15624368585", "extension": 291, "description": "Long Beach"},
        ),
        (
            Phone("+18005551212", "12A", "", hours="6–10 p.m.", note="Ask for Pat"),
            {"number": "+18005551212", "description": "ext. 12A; 6–10 p.m.; Ask for Pat"},
        ),
    ],
)
def test_phones_keep_number_extension_and_area(phone, expected):
    listing = Listing(slug="x", name="X", phones=(phone,))
    (record,) = hsds.organization(listing)["services"][0]["phones"]
    assert {key: record[key] for key in record if key not in ("id", "service_id", "type")} == (
        expected
    )
    assert record["type"] == "voice"


def test_the_same_phone_twice_gets_two_ids():
    listing = Listing(slug="x", name="X", phones=(Phone("+13103058878"), Phone("+13103058878")))
    phones = hsds.organization(listing)["services"][0]["phones"]
    assert len({phone["id"] for phone in phones}) == 2


@pytest.mark.parametrize(
    ("weekday", "byday"),
    [(0, "SU"), (1, "MO"), (2, "TU"), (3, "WE"), (4, "TH"), (5, "FR"), (6, "SA")],
)
def test_meetings_become_weekly_schedules(weekday, byday):
    meeting = WeeklyMeeting(weekday=weekday, start=time(18, 30), end=time(20))
    listing = Listing(slug="x", name="X", meetings=(meeting,))
    (record,) = hsds.organization(listing)["services"][0]["schedules"]
    assert (record["freq"], record["interval"], record["byday"]) == ("WEEKLY", 1, byday)
    assert (record["opens_at"], record["closes_at"]) == ("18:30", "20:00")
    assert "6:30 p.m.–8:00 p.m. (Pacific time)" in record["description"]


def test_a_schedule_says_how_to_attend():
    schedules = hsds.organization(DRA)["services"][0]["schedules"]
    assert [s.get("attending_type") for s in schedules] == ["in person", "online"]
    assert "closes_at" not in schedules[1]
    assert schedules[0]["description"] == "Mondays 7:00 p.m.–8:30 p.m. (Pacific time), 1 Main St"


def test_languages_areas_urls_and_emails():
    organization = hsds.organization(DRA)
    service = organization["services"][0]
    assert organization["website"] == service["url"] == "http://www.draonline.org"
    assert organization["email"] == service["email"] == "info@draonline.org"
    assert [c["email"] for c in service["contacts"]] == ["second@draonline.org"]
    assert [(lang["code"], lang["name"]) for lang in service["languages"]] == [("en", "English")]
    assert [(a["name"], a["description"]) for a in service["service_areas"]] == [
        ("South Bay", "Service Planning Area")
    ]


def test_an_organization_always_has_a_description():
    organization = hsds.organization(Listing(slug="x", name="Friendship Circle"))
    assert organization["description"].startswith("Friendship Circle: a self-help group")
