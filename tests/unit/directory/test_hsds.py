"""The Open Referral HSDS 3.0 mapping, without a database (design notes, section 4).

``assert_valid_hsds`` validates a document against the published HSDS 3.0 schema files in
``../shared/specs/hsds-3.0/schema/`` (openreferral/specification, branch 3.0; ``SPECS_DIR``
names another folder), with jsonschema: the page against ``Page`` of ``openapi.json``, each
organization against ``organization.json`` and each of its services against ``service.json``
(the API's organization list nests them), following every ``$ref``. It is stricter than the
files in three ways: a field the schema does not define is an error (a misspelt HSDS name would
pass the schema), the ``datapackage_type`` date and time fields must parse, and the formats
the files name (uuid, uri, email, date-time) are checked.

It also counts **warnings**: what the schema files' descriptions ask for without the schema
enforcing it (``hsds_warnings``). The export has none; the integration tests run the same
checks on the real export. Nothing is downloaded.
"""

import json
import os
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from directory.rules import hsds
from directory.rules.records import Area, Listing, Phone, WeeklyMeeting

ROOT = Path(__file__).resolve().parents[3]
SPECS = Path(os.environ.get("SPECS_DIR") or ROOT.parent / "shared" / "specs")
SCHEMA_DIR = SPECS / "hsds-3.0" / "schema"
BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
TODAY = date(2026, 12, 7)

FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _uri(value) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+", value))


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value


def _spec():
    if not SCHEMA_DIR.is_dir():
        pytest.fail(
            f"The HSDS 3.0 schema files are not at {SCHEMA_DIR}: they come with shared/specs "
            "beside the project (or set SPECS_DIR to the specs folder)."
        )
    files = {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*.json")}
    registry = Registry().with_resources(
        (BASE + name, Resource.from_contents(contents, default_specification=DRAFT202012))
        for name, contents in files.items()
        if name != "openapi.json"
    )
    return files, registry


FILES, REGISTRY = _spec()
PAGE = FILES["openapi.json"]["components"]["schemas"]["Page"]


def _validator(schema) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=FORMATS)


SCHEMA_ERRORS = {
    "page": _validator(PAGE),
    "organization": _validator({"$ref": BASE + "organization.json"}),
    "service": _validator({"$ref": BASE + "service.json"}),
}
DATE_RE = r"\d{4}-\d{2}-\d{2}"
TIME_RE = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?(Z|[+-]\d{2}:\d{2})?"


def _strict(value, schema_name: str, where: str) -> list[str]:
    """Fields the schema file does not define, and date and time fields that do not parse."""
    schema = FILES[schema_name]
    errors = []
    for name, item in value.items():
        if schema_name == "organization.json" and name == "services":
            continue  # the API's organization list nests the services: checked on their own
        field = schema["properties"].get(name)
        if field is None:
            errors.append(f"{where}: {name!r} is not an HSDS 3.0 field of {schema_name}")
            continue
        kind = field.get("datapackage_type")
        if kind == "date" and not re.fullmatch(DATE_RE, str(item)):
            errors.append(f"{where}.{name}: {item!r} is not a date")
        if kind == "time" and not re.fullmatch(TIME_RE, str(item)):
            errors.append(f"{where}.{name}: {item!r} is not a time")
        ref = field.get("$ref") or field.get("items", {}).get("$ref")
        if ref:
            items = item if isinstance(item, list) else [item]
            for index, nested in enumerate(items):
                if isinstance(nested, dict):
                    errors += _strict(nested, ref, f"{where}.{name}[{index}]")
    return errors


def hsds_errors(document) -> list[str]:
    """Everything in the document the HSDS 3.0 schema files refuse (see the module's doc)."""
    header = {key: value for key, value in document.items() if key != "contents"}
    errors = [f"page: {e.message}" for e in SCHEMA_ERRORS["page"].iter_errors(header)]
    for name in header:
        if name not in PAGE["properties"]:
            errors.append(f"page: {name!r} is not a field of the HSDS API's Page")
    if not isinstance(document.get("contents"), list):
        return [*errors, "page: no contents"]
    for number, organization in enumerate(document["contents"]):
        where = f"contents[{number}]"
        errors += [
            f"{where}{'.' + '.'.join(map(str, e.absolute_path)) if e.absolute_path else ''}: "
            f"{e.message}"
            for e in SCHEMA_ERRORS["organization"].iter_errors(organization)
        ]
        errors += _strict(organization, "organization.json", where)
        for index, service in enumerate(organization.get("services", [])):
            place = f"{where}.services[{index}]"
            errors += [
                f"{place}.{'.'.join(map(str, e.absolute_path))}: {e.message}"
                for e in SCHEMA_ERRORS["service"].iter_errors(service)
            ]
            errors += _strict(service, "service.json", place)
    return errors


def _has_offset(value: str) -> bool:
    return bool(re.search(r"(Z|[+-]\d{2}:\d{2})$", value))


def hsds_warnings(document) -> list[str]:
    """What the schema files' descriptions ask for that the schema does not enforce:

    - schedule ``opens_at``/``closes_at`` "should include timezone information" (a time without
      one is read as UTC), and agree with ``timezone`` where it is given;
    - ``dtstart`` is "necessary when using the interval feature", falls on ``byday`` and lies
      within ``valid_from``–``valid_to``, which are in order;
    - ``service.last_modified``, "with millisecond accuracy";
    - a schedule's ``service_at_location_id`` names one of its service's service_at_locations,
      whose ``location_id`` is its location's; a physical location has its address;
    - an attribute's ``taxonomy_term_id`` is its term's id, and one id is one term throughout.
    """
    warnings = []
    terms: dict[str, dict] = {}
    for organization in document.get("contents", []):
        for service in organization.get("services", []):
            name = service.get("name")
            if "last_modified" not in service:
                warnings.append(f"{name}: service has no last_modified")
            elif not re.search(r"\.\d{3}(Z|[+-]\d{2}:\d{2})$", service["last_modified"]):
                warnings.append(f"{name}: last_modified is not to the millisecond")
            places = {sal["id"]: sal for sal in service.get("service_at_locations", [])}
            for sal in places.values():
                location = sal.get("location", {})
                if sal.get("location_id") != location.get("id"):
                    warnings.append(f"{name}: service_at_location names another location")
                if location.get("location_type") == "physical" and not location.get("addresses"):
                    warnings.append(
                        f"{name}: physical location {location.get('name')!r} has no address"
                    )
            for schedule in service.get("schedules", []):
                label = f"{name}: schedule {schedule.get('byday')} {schedule.get('opens_at')}"
                for key in ("opens_at", "closes_at"):
                    if key in schedule and not _has_offset(schedule[key]):
                        warnings.append(f"{label}: {key} has no time zone (read as UTC)")
                if "timezone" in schedule and _has_offset(schedule.get("opens_at", "")):
                    offset = schedule["opens_at"][-6:]
                    hours = (
                        0
                        if schedule["opens_at"].endswith("Z")
                        else int(offset[:3]) + int(offset[0] + offset[4:]) / 60
                    )
                    if hours != schedule["timezone"]:
                        warnings.append(f"{label}: timezone disagrees with opens_at")
                if "interval" in schedule and "dtstart" not in schedule:
                    warnings.append(f"{label}: interval without dtstart")
                if "dtstart" in schedule:
                    start = date.fromisoformat(schedule["dtstart"])
                    byday = schedule.get("byday", "")
                    if byday and hsds.BYDAY[start.isoweekday() % 7] not in byday.split(","):
                        warnings.append(f"{label}: dtstart is not on byday")
                    low = schedule.get("valid_from", schedule["dtstart"])
                    high = schedule.get("valid_to", schedule["dtstart"])
                    if not low <= schedule["dtstart"] <= high:
                        warnings.append(f"{label}: dtstart is outside valid_from–valid_to")
                sal_id = schedule.get("service_at_location_id")
                if sal_id and sal_id not in places:
                    warnings.append(f"{label}: names a service_at_location the service lacks")
            for attribute in service.get("attributes", []):
                term = attribute.get("taxonomy_term", {})
                if attribute.get("taxonomy_term_id") != term.get("id"):
                    warnings.append(f"{name}: attribute names another term")
                if terms.setdefault(term.get("id"), term) != term:
                    warnings.append(f"{name}: term {term.get('id')} differs from its other uses")
    return warnings


def assert_valid_hsds(document, *, explained: tuple[str, ...] = ()) -> None:
    """No error, and no warning but those ``explained`` (each with its reason at the call)."""
    errors = hsds_errors(document)
    assert not errors, "\n".join(errors[:50])
    warnings = hsds_warnings(document)
    assert sorted(warnings) == sorted(explained), f"{len(warnings)} warnings:\n" + "\n".join(
        warnings[:50]
    )
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
        for sal in service["service_at_locations"]:
            yield sal
            yield sal["location"]
            yield from sal["location"].get("addresses", [])
        # Attributes are per service; the terms they carry are shared by design.
        yield from service["attributes"]


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
    types=(("A", "Twelve-step"),),
    medication_stance="affirming",
    medication_label="Affirms members on prescribed medication",
    format_label="Twelve-step group for individuals with mental illnesses",
    criteria=(
        ("II.A", "Purpose is personal and/or social growth and change", "meets"),
        ("II.G", "Dues and fees, if any, are nominal", "not_confirmed"),
    ),
    updated=datetime(2026, 11, 30, 18, 5, 1, 250000, tzinfo=UTC),
    phones=(
        Phone("+13103058878", "", "Los Angeles"),
        Phone("+13237770130", "223", "Los Angeles"),
        Phone("+15624368585", "291", "Long Beach"),
    ),
    emails=("info@draonline.org", "second@draonline.org"),
    urls=("http://www.draonline.org",),
    meetings=(
        WeeklyMeeting(
            weekday=1,
            start=time(19),
            end=time(20, 30),
            address="1 Main St",
            city="Long Beach",
            state="CA",
            postal_code="90802",
            latitude=33.7701,
            longitude=-118.1937,
            location_notes="Side door, room 4",
            updated=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        ),
        WeeklyMeeting(weekday=6, start=time(10), online_url="https://zoom.example/j/1"),
    ),
)


def org(listing, today=TODAY):
    return hsds.organization(listing, today=today)


def test_the_document_is_valid_hsds_3_0():
    document = hsds.document(
        [DRA, Listing(slug="bare", name="Bare", updated=DRA.updated)], today=TODAY
    )
    assert_valid_hsds(document)
    assert document["total_items"] == 2 and document["size"] == 2
    assert document["first_page"] and document["last_page"] and not document["empty"]


def test_an_empty_directory_is_an_empty_page():
    document = hsds.document([], today=TODAY)
    assert_valid_hsds(document)
    assert document["empty"] and document["contents"] == []


def test_the_validator_catches_what_it_should():
    organization = org(DRA)
    del organization["description"]
    service = organization["services"][0]
    service["status"] = "temporarily-closed"
    service["phones"][0]["extension"] = "291"
    service["assured"] = "2008-11-07"
    service["schedules"][0]["valid_from"] = "12/07/2026"
    service["schedules"][0]["id"] = "not-a-uuid"
    document = {"total_items": "1", "total_pages": 1, "page_number": 1, "size": 1}
    errors = hsds_errors({**document, "contents": [organization]})
    assert any("'description' is a required property" in e for e in errors)
    assert any("'temporarily-closed' is not one of" in e for e in errors)
    assert any("'291' is not of type 'number'" in e for e in errors)
    assert any("'assured' is not an HSDS 3.0 field" in e for e in errors)
    assert any("valid_from: '12/07/2026' is not a date" in e for e in errors)
    assert any("'not-a-uuid' is not a 'uuid'" in e for e in errors)
    assert any("page: '1' is not of type 'integer'" in e for e in errors)


def test_the_warnings_catch_what_the_descriptions_ask_for():
    """What the issue counted against the old export: times read as UTC, interval without
    dtstart, no last_modified, addresses as free text."""
    service = org(DRA)["services"][0]
    del service["last_modified"]
    schedule = service["schedules"][0]
    schedule["opens_at"] = "19:00"
    del schedule["dtstart"]
    service["service_at_locations"][0]["location"].pop("addresses")
    warnings = hsds_warnings({"contents": [{"services": [service]}]})
    assert any("has no last_modified" in w for w in warnings)
    assert any("opens_at has no time zone" in w for w in warnings)
    assert any("interval without dtstart" in w for w in warnings)
    assert any("has no address" in w for w in warnings)
    assert len(warnings) == 4


def test_ids_are_stable_uuids_derived_from_the_slug():
    first, second = org(DRA), org(DRA)
    assert first == second
    assert first["id"] == hsds.stable_id("organization", "dual-recovery-anonymous")
    other = org(Listing(slug="emotions-anonymous", name="Dual Recovery Anonymous"))
    assert other["id"] != first["id"]
    uuid.UUID(first["id"])


def test_assured_date_is_the_last_verification():
    service = org(DRA)["services"][0]
    assert service["assured_date"] == "2008-11-07"
    never = org(Listing(slug="x", name="X"))["services"][0]
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
    service = org(Listing(slug="x", name="X", status=status))["services"][0]
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
    (record,) = org(listing)["services"][0]["phones"]
    assert {key: record[key] for key in record if key not in ("id", "service_id", "type")} == (
        expected
    )
    assert record["type"] == "voice"


def test_the_same_phone_twice_gets_two_ids():
    listing = Listing(slug="x", name="X", phones=(Phone("+13103058878"), Phone("+13103058878")))
    phones = org(listing)["services"][0]["phones"]
    assert len({phone["id"] for phone in phones}) == 2


@pytest.mark.parametrize(
    ("weekday", "byday", "first_winter", "first_summer"),
    [
        (0, "SU", "2026-11-01", "2027-03-14"),
        (1, "MO", "2026-11-02", "2027-03-15"),
        (2, "TU", "2026-11-03", "2027-03-16"),
        (3, "WE", "2026-11-04", "2027-03-17"),
        (4, "TH", "2026-11-05", "2027-03-18"),
        (5, "FR", "2026-11-06", "2027-03-19"),
        (6, "SA", "2026-11-07", "2027-03-20"),
    ],
)
def test_meetings_become_weekly_schedules_for_two_offset_periods(
    weekday, byday, first_winter, first_summer
):
    """Pacific time: standard time until March 13, 2027, then daylight time until November 6."""
    meeting = WeeklyMeeting(weekday=weekday, start=time(18, 30), end=time(20))
    listing = Listing(slug="x", name="X", meetings=(meeting,))
    winter, summer = org(listing)["services"][0]["schedules"]
    for record in (winter, summer):
        assert (record["freq"], record["interval"], record["byday"]) == ("WEEKLY", 1, byday)
        assert "6:30 p.m.–8:00 p.m. (Pacific time)" in record["description"]
    assert (winter["valid_from"], winter["valid_to"]) == ("2026-11-01", "2027-03-13")
    assert (winter["opens_at"], winter["closes_at"], winter["timezone"]) == (
        "18:30-08:00",
        "20:00-08:00",
        -8,
    )
    assert winter["dtstart"] == first_winter
    assert (summer["valid_from"], summer["valid_to"]) == ("2027-03-14", "2027-11-06")
    assert (summer["opens_at"], summer["timezone"], summer["dtstart"]) == (
        "18:30-07:00",
        -7,
        first_summer,
    )
    assert winter["id"] != summer["id"]


@pytest.mark.parametrize(
    ("today", "first_period"),
    [
        (date(2026, 3, 7), ("2025-11-02", "2026-03-07")),  # the last day of standard time
        (date(2026, 3, 8), ("2026-03-08", "2026-10-31")),  # the change to daylight time
        (date(2026, 7, 1), ("2026-03-08", "2026-10-31")),
        (date(2026, 11, 1), ("2026-11-01", "2027-03-13")),  # back to standard time
    ],
)
def test_the_periods_follow_daylight_saving(today, first_period):
    first, second = hsds.periods(today)
    assert (first.valid_from.isoformat(), first.valid_to.isoformat()) == first_period
    assert second.valid_from == first.valid_to + timedelta(days=1)
    assert first.offset != second.offset


def test_a_schedule_says_how_to_attend():
    schedules = org(DRA)["services"][0]["schedules"]
    assert [s.get("attending_type") for s in schedules] == [
        "in person",
        "in person",
        "online",
        "online",
    ]
    assert "closes_at" not in schedules[2]
    assert schedules[0]["description"] == "Mondays 7:00 p.m.–8:30 p.m. (Pacific time), 1 Main St"


def test_an_in_person_meeting_has_a_location_with_its_address():
    service = org(DRA)["services"][0]
    (place,) = service["service_at_locations"]
    location = place["location"]
    assert place["location_id"] == location["id"] and place["service_id"] == service["id"]
    assert (location["location_type"], location["name"]) == ("physical", "1 Main St")
    assert (location["latitude"], location["longitude"]) == (33.7701, -118.1937)
    assert location["description"] == "Side door, room 4"
    (address,) = location["addresses"]
    assert {k: address[k] for k in ("address_1", "city", "state_province", "postal_code")} == {
        "address_1": "1 Main St",
        "city": "Long Beach",
        "state_province": "CA",
        "postal_code": "90802",
    }
    assert address["country"] == "US" and address["address_type"] == "physical"
    in_person = [s for s in service["schedules"] if s.get("service_at_location_id")]
    assert len(in_person) == 2 and {s["service_at_location_id"] for s in in_person} == {place["id"]}


def test_a_street_line_alone_is_a_location_without_a_postal_address():
    listing = Listing(
        slug="x", name="X", meetings=(WeeklyMeeting(weekday=1, start=time(9), address="1 Main St"),)
    )
    (place,) = org(listing)["services"][0]["service_at_locations"]
    assert "addresses" not in place["location"]
    assert hsds_errors(hsds.document([listing], today=TODAY)) == []


def test_two_meetings_at_one_address_share_one_location():
    here = {"address": "5 Elm St", "city": "Pasadena", "state": "CA", "postal_code": "91101"}
    listing = Listing(
        slug="x",
        name="X",
        meetings=(
            WeeklyMeeting(weekday=1, start=time(9), **here),
            WeeklyMeeting(weekday=3, start=time(9), **here),
            WeeklyMeeting(weekday=5, start=time(9), online_url="https://zoom.example/j/2"),
        ),
    )
    service = org(listing)["services"][0]
    assert len(service["service_at_locations"]) == 1


def test_last_modified_is_the_latest_change_to_the_millisecond():
    service = org(DRA)["services"][0]
    assert service["last_modified"] == "2026-12-02T09:00:00.000Z"  # the meeting, after the row
    alone = org(Listing(slug="x", name="X", updated=DRA.updated))["services"][0]
    assert alone["last_modified"] == "2026-11-30T18:05:01.250Z"


def test_attributes_carry_the_directorys_taxonomy():
    attributes = org(DRA)["services"][0]["attributes"]
    by_taxonomy = {}
    for attribute in attributes:
        term = attribute["taxonomy_term"]
        by_taxonomy.setdefault(term["taxonomy_detail"]["name"], []).append(
            (term.get("code"), term["name"], attribute.get("value"))
        )
        assert attribute["link_entity"] == "service"
        assert attribute["taxonomy_term_id"] == term["id"]
    names = hsds.TAXONOMIES
    assert by_taxonomy[names["needs"][0]] == [(None, "Co-occurring substance use", None)]
    assert by_taxonomy[names["group-types"][0]] == [("A", "Twelve-step", None)]
    assert by_taxonomy[names["formats"][0]] == [
        ("III.A", "Twelve-step group for individuals with mental illnesses", None)
    ]
    assert by_taxonomy[names["medication-stance"][0]] == [
        ("affirming", "Affirms members on prescribed medication", None)
    ]
    # II.A–H: "not confirmed" stays distinct from either answer.
    assert by_taxonomy[names["criteria"][0]] == [
        ("II.A", "Purpose is personal and/or social growth and change", "meets"),
        ("II.G", "Dues and fees, if any, are nominal", "not_confirmed"),
    ]


def test_one_term_has_one_id_across_listings():
    other = Listing(
        slug="other",
        name="Other",
        needs=DRA.needs,
        format="III.A",
        format_label=DRA.format_label,
        updated=DRA.updated,
    )
    document = hsds.document([DRA, other], today=TODAY)
    assert_valid_hsds(document)
    ids = [
        {a["taxonomy_term"]["name"]: a["taxonomy_term_id"] for a in o["services"][0]["attributes"]}
        for o in document["contents"]
    ]
    assert ids[0]["Co-occurring substance use"] == ids[1]["Co-occurring substance use"]


def test_languages_areas_urls_and_emails():
    organization = org(DRA)
    service = organization["services"][0]
    assert organization["website"] == service["url"] == "http://www.draonline.org"
    assert organization["email"] == service["email"] == "info@draonline.org"
    assert [c["email"] for c in service["contacts"]] == ["second@draonline.org"]
    assert [(lang["code"], lang["name"]) for lang in service["languages"]] == [("en", "English")]
    assert [(a["name"], a["description"]) for a in service["service_areas"]] == [
        ("South Bay", "Service Planning Area")
    ]


def test_an_organization_always_has_a_description():
    organization = org(Listing(slug="x", name="Friendship Circle"))
    assert organization["description"].startswith("Friendship Circle: a self-help group")
