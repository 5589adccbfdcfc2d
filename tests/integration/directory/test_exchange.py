"""Exchange: the exports carry every listing and every phone; the imports
preview without writing, report problems by row or item, and write all or nothing.

Policy VII.D: "a current annotated referral list that is readily available at the clinical
site or via a website": the list leaves and comes back in open formats (CSV, XLSX, Open
Referral HSDS 3.0, the Meeting Guide feed).
"""

import csv
import io
import json
from datetime import date, datetime, time

import openpyxl
import pytest
import tablib
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import FileResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessEvent
from core.csv import unescape_formula
from directory.models import Contact, CriterionConfirmation, Group, Meeting
from directory.rules import hsds, meeting_guide, records, spreadsheet
from directory.selectors import snapshot
from directory.services import csv_import
from tests.factories.directory import (
    CategoryFactory,
    ContactFactory,
    CriterionConfirmationFactory,
    GroupFactory,
    GroupTypeFactory,
    LanguageFactory,
    MeetingFactory,
    NeedFactory,
    ServiceAreaFactory,
)
from tests.unit.directory.test_hsds import assert_valid_hsds

EXPORTS = {
    "/directory/export.csv": "text/csv",
    "/directory/export.xlsx": "application/vnd.openxmlformats",
    "/directory/export/hsds.json": "application/json",
    "/directory/meetings.json": "application/json",
}
IMPORTS = ["/directory/import/", "/directory/meetings/import/"]
PEOPLE = ["clinician", "supervisor", "site_admin", "outsider", "no_role_user"]
READERS = {"clinician", "supervisor", "site_admin", "outsider"}  # the list is county-wide
IMPORTERS = {"site_admin"}


# --- Data -----------------------------------------------------------------------------------


@pytest.fixture
def taxonomy(db):
    return {
        "twelve": CategoryFactory(
            slug="twelve-step-mh", name="Twelve-Step Groups for Mental Health Consumers"
        ),
        "other": CategoryFactory(
            slug="non-twelve-step-mh", name="Non-Twelve Step Groups for Mental Health Consumers"
        ),
        "depression": NeedFactory(slug="depression", name="Depression"),
        "co-occurring": NeedFactory(slug="co-occurring", name="Co-occurring substance use"),
        "A": GroupTypeFactory(code="A", name="Support"),
        "B": GroupTypeFactory(code="B", name="Growth"),
        "en": LanguageFactory(code="en", name="English"),
        "es": LanguageFactory(code="es", name="Spanish"),
        "metro": ServiceAreaFactory(slug="spa-4-metro", name="Metro", spa_number=4),
        "south-bay": ServiceAreaFactory(slug="spa-8-south-bay", name="South Bay", spa_number=8),
    }


@pytest.fixture
def listings(taxonomy):
    """Dual Recovery Anonymous as the appendix prints it, and two more."""
    dra = GroupFactory(
        slug="dual-recovery-anonymous",
        name="Dual Recovery Anonymous",
        categories=[taxonomy["twelve"]],
        needs=[taxonomy["co-occurring"], taxonomy["depression"]],
        last_verified_on=date(2008, 11, 7),
    )
    dra.types.add(taxonomy["A"])
    dra.languages.add(taxonomy["en"])
    dra.service_areas.add(taxonomy["metro"], taxonomy["south-bay"])
    for order, (phone, extension, area) in enumerate(
        [
            ("+13103058878", "", "Los Angeles"),
            ("+18007922345", "", "Los Angeles"),
            ("+13237770130", "223", "Los Angeles"),
            ("+15624368585", "291", "Long Beach"),
            ("+15624376717", "277", "Long Beach"),
        ]
    ):
        ContactFactory(group=dra, phone=phone, extension=extension, area_label=area, order=order)
    ContactFactory(group=dra, kind=Contact.Kind.WEB, phone="", url="http://www.draonline.org")
    MeetingFactory(
        group=dra,
        weekday=Meeting.Weekday.MONDAY,
        start_time=time(19),
        end_time=time(20, 30),
        address="1 Main St, Long Beach, CA 90802",
        service_area=taxonomy["south-bay"],
        type_codes=["O", "DD"],
    )
    MeetingFactory(
        group=dra,
        weekday=Meeting.Weekday.SATURDAY,
        start_time=time(10),
        end_time=None,
        address="",
        online_url="https://zoom.us/j/1",
        dial_in="+16699006833,,123#",
        type_codes=["C"],
        language=taxonomy["es"],
    )
    neuroticos = GroupFactory(
        slug="neuroticos-anonimos",
        name="Neuroticos Anonimos",
        categories=[taxonomy["twelve"]],
        last_verified_on=date(2008, 11, 7),
    )
    neuroticos.languages.add(taxonomy["es"])
    ContactFactory(group=neuroticos, phone="+12133855990")
    procovery = GroupFactory(
        slug="procovery-circles",
        name="Procovery Circles",
        categories=[taxonomy["other"], taxonomy["twelve"]],
        format="III.D",
        is_twelve_step=False,
    )
    ContactFactory(group=procovery, phone="+13106685288")
    ContactFactory(
        group=procovery, kind=Contact.Kind.EMAIL, phone="", email="kcrowley@procovery.com"
    )
    archived = GroupFactory(slug="archived-group", name="Archived Group")
    archived.archived_at = timezone.now()
    archived.save()
    ContactFactory(group=archived, phone="+13105551234")
    return {"dra": dra, "neuroticos": neuroticos, "procovery": procovery, "archived": archived}


def many_listings(taxonomy, numbers):
    """Listings, each with two phones, an email, a web address, a meeting and one of each
    heading, need, type, language and service area (bulk-created: no history needed here)."""
    groups = Group.objects.bulk_create(
        [Group(slug=f"group-{n:04d}", name=f"Group {n:04d}", format="III.A") for n in numbers]
    )
    for relation, value in (
        ("categories", taxonomy["twelve"]),
        ("needs", taxonomy["depression"]),
        ("types", taxonomy["A"]),
        ("languages", taxonomy["en"]),
        ("service_areas", taxonomy["metro"]),
    ):
        through = getattr(Group, relation).through
        column = f"{value._meta.model_name}_id"
        through.objects.bulk_create(
            [through(group_id=group.pk, **{column: value.pk}) for group in groups]
        )
    contacts, meetings = [], []
    for n, group in zip(numbers, groups, strict=True):
        contacts += [
            Contact(group=group, kind="phone", phone="+13103058878", extension=str(n)),
            Contact(group=group, kind="phone", phone="+15624368585", area_label="Long Beach"),
            Contact(group=group, kind="email", email=f"g{n}@example.org"),
            Contact(group=group, kind="web", url=f"https://example.org/{n}"),
        ]
        meetings.append(Meeting(group=group, weekday=n % 7, start_time=time(18, 30)))
    Contact.objects.bulk_create(contacts)
    Meeting.objects.bulk_create(meetings)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[dict]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")  # a byte-order mark, so that Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def database_state():
    """Everything an import could touch, history included."""
    return (
        Group.objects.count(),
        Contact.objects.count(),
        Meeting.objects.count(),
        Group.history.count(),
        Contact.history.count(),
        Meeting.history.count(),
        list(Group.objects.order_by("pk").values_list("pk", "name", "version", "status")),
    )


# --- Who may use which page -----------------------------------------------------------------


@pytest.mark.parametrize("path", EXPORTS)
@pytest.mark.parametrize("person", PEOPLE)
def test_exports_are_for_everyone_who_reads_the_list(request, sign_in, taxonomy, path, person):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(path)
    if person in READERS:
        assert response.status_code == 200
        assert response["Content-Type"].startswith(EXPORTS[path])
        today = timezone.localdate().isoformat()
        assert response["Content-Disposition"].startswith("attachment; filename=")
        assert today in response["Content-Disposition"]
        assert "no-store" in response["Cache-Control"]
        assert response["ETag"]  # for clients that revalidate (core.http_cache)
        # The streamed CSV gets the same security headers as every page.
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
    else:
        assert response.status_code == 403
        assert AccessEvent.objects.filter(action="denied", user=user).exists()


@pytest.mark.parametrize("path", IMPORTS)
@pytest.mark.parametrize("person", PEOPLE)
def test_imports_are_for_site_admins_only(request, sign_in, taxonomy, path, person):
    user = request.getfixturevalue(person)
    client = sign_in(user)
    response = client.get(path)
    if person in IMPORTERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        before = database_state()
        upload = io.BytesIO(b"[]")
        upload.name = "x.json"
        assert client.post(path, {"file": upload}).status_code == 403
        assert database_state() == before


@pytest.mark.parametrize("path", [*EXPORTS, *IMPORTS])
def test_anonymous_is_sent_to_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


@pytest.mark.parametrize("path", EXPORTS)
def test_exports_refuse_other_methods(sign_in, site_admin, path):
    assert sign_in(site_admin).post(path).status_code == 405


# --- Exports carry the data -----------------------------------------------------------------


def test_csv_export_carries_every_current_listing_and_every_phone(sign_in, clinician, listings):
    response = sign_in(clinician).get("/directory/export.csv")
    assert response.streaming  # rows leave as they are read
    rows = csv_rows(response)
    assert list(rows[0]) == list(spreadsheet.COLUMNS)
    by_slug = {row["Slug"]: row for row in rows}
    assert set(by_slug) == {"dual-recovery-anonymous", "neuroticos-anonimos", "procovery-circles"}

    dra = by_slug["dual-recovery-anonymous"]
    # The cell starts with "+", so it carries the formula guard's apostrophe.
    assert dra["Phones"] == (
        "'+13103058878 (Los Angeles); +18007922345 (Los Angeles); "
        "+13237770130 ext. 223 (Los Angeles); +15624368585 ext. 291 (Long Beach); "
        "+15624376717 ext. 277 (Long Beach)"
    )
    assert dra["Name"] == "Dual Recovery Anonymous"
    assert dra["Headings"] == "Twelve-Step Groups for Mental Health Consumers"
    assert dra["Needs"] == "Co-occurring substance use; Depression"
    assert dra["Web addresses"] == "http://www.draonline.org"
    assert dra["Status"] == "Active"
    assert dra["Last verified"] == "2008-11-07"
    assert dra["Format"].startswith("III.A ")
    assert dra["Types"] == "A. Support"
    assert dra["Languages"] == "English"
    assert dra["Service areas"] == "Metro; South Bay"
    assert dra["Medication stance"] == "Not known"

    procovery = by_slug["procovery-circles"]
    # One organisation under both its headings, in one row.
    assert procovery["Headings"] == (
        "Non-Twelve Step Groups for Mental Health Consumers; "
        "Twelve-Step Groups for Mental Health Consumers"
    )
    assert procovery["Emails"] == "kcrowley@procovery.com"
    assert by_slug["neuroticos-anonimos"]["Languages"] == "Spanish"
    assert by_slug["neuroticos-anonimos"]["Last verified"] == "2008-11-07"


def test_exports_guard_against_formula_injection(sign_in, clinician, taxonomy):
    GroupFactory(slug="evil", name='=HYPERLINK("http://evil.example","Call")')
    GroupFactory(slug="at", name="@SUM(1+1)")
    client = sign_in(clinician)
    names = {row["Slug"]: row["Name"] for row in csv_rows(client.get("/directory/export.csv"))}
    assert names["evil"] == '\'=HYPERLINK("http://evil.example","Call")'
    assert names["at"] == "'@SUM(1+1)"

    sheet = openpyxl.load_workbook(io.BytesIO(body(client.get("/directory/export.xlsx")))).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not [cell for cell in cells if cell.data_type == "f"]  # no formula anywhere
    # The workbook's guard is the cell's "quote prefix" style, not an apostrophe in the text:
    # Excel shows the name as typed and still treats it as text.
    guarded = {cell.value: cell for cell in cells if cell.quotePrefix}
    assert {'=HYPERLINK("http://evil.example","Call")', "@SUM(1+1)"} <= set(guarded)
    assert all(cell.data_type == "s" for cell in guarded.values())
    assert not [cell for cell in cells if str(cell.value or "").startswith("'")]


def test_xlsx_phones_show_as_typed_and_dates_are_dates(sign_in, clinician, listings):
    sheet = openpyxl.load_workbook(
        io.BytesIO(body(sign_in(clinician).get("/directory/export.xlsx")))
    ).active
    header = [cell.value for cell in sheet[1]]
    rows = {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}
    phones = rows["dual-recovery-anonymous"]["Phones"]
    assert phones.value.startswith("+1") and phones.quotePrefix and phones.data_type == "s"
    verified = rows["neuroticos-anonimos"]["Last verified"]
    assert verified.is_date and verified.value.date() == date(2008, 11, 7)
    assert verified.number_format == spreadsheet.DATE_FORMAT


def test_xlsx_export_carries_the_same_rows(sign_in, clinician, listings):
    client = sign_in(clinician)
    from_csv = csv_rows(client.get("/directory/export.csv"))
    workbook = openpyxl.load_workbook(io.BytesIO(body(client.get("/directory/export.xlsx"))))
    values = [[cell or "" for cell in row] for row in workbook.active.iter_rows(values_only=True)]
    assert tuple(values[0]) == spreadsheet.COLUMNS
    # The same text as the CSV file without the CSV's apostrophe guard, and the dates as dates.
    expected = [
        {
            column: (
                datetime.fromisoformat(cell)
                if column == "Last verified" and cell
                else unescape_formula(cell)
            )
            for column, cell in row.items()
        }
        for row in from_csv
    ]
    assert [dict(zip(values[0], row, strict=True)) for row in values[1:]] == expected


# The one warning the HSDS export of the ``listings`` fixture has, and why: its Monday meeting
# predates the structured address (the whole address is in the street line, no city, state or
# postal code), so its location has a name but no postal address. A meeting entered with its
# parts has one (``test_hsds_meetings_with_addresses_are_locations``).
LISTINGS_HSDS_WARNINGS = (
    "Dual Recovery Anonymous: physical location '1 Main St, Long Beach, CA 90802' has no address",
)


def test_hsds_export_is_valid_and_carries_every_listing_and_phone(sign_in, clinician, listings):
    CriterionConfirmationFactory(
        group=listings["dra"], criterion="II.B", status=CriterionConfirmation.Status.MEETS
    )
    CriterionConfirmationFactory(group=listings["dra"], criterion="II.G")
    response = sign_in(clinician).get("/directory/export/hsds.json")
    document = json.loads(body(response))
    assert_valid_hsds(document, explained=LISTINGS_HSDS_WARNINGS)
    organizations = {org["name"]: org for org in document["contents"]}
    assert set(organizations) == {
        "Dual Recovery Anonymous",
        "Neuroticos Anonimos",
        "Procovery Circles",
    }
    assert document["total_items"] == 3
    service = organizations["Dual Recovery Anonymous"]["services"][0]
    assert service["assured_date"] == "2008-11-07"
    assert service["status"] == "active"
    assert service["url"] == "http://www.draonline.org"
    assert [(p["number"], p.get("extension"), p.get("description")) for p in service["phones"]] == [
        ("+13103058878", None, "Los Angeles"),
        ("+18007922345", None, "Los Angeles"),
        ("+13237770130", 223, "Los Angeles"),
        ("+15624368585", 291, "Long Beach"),
        ("+15624376717", 277, "Long Beach"),
    ]
    # Each meeting for the period of the current UTC offset and the next (Pacific time).
    first, second = hsds.periods(timezone.localdate())
    assert [
        (s["byday"], s["opens_at"], s.get("closes_at"), s["valid_from"])
        for s in service["schedules"]
    ] == [
        ("MO", "19:00" + first.suffix, "20:30" + first.suffix, first.valid_from.isoformat()),
        ("MO", "19:00" + second.suffix, "20:30" + second.suffix, second.valid_from.isoformat()),
        ("SA", "10:00" + first.suffix, None, first.valid_from.isoformat()),
        ("SA", "10:00" + second.suffix, None, second.valid_from.isoformat()),
    ]
    assert {s["freq"] for s in service["schedules"]} == {"WEEKLY"}
    assert service["last_modified"].endswith("Z")
    criteria = [
        (a["taxonomy_term"]["code"], a["value"]) for a in service["attributes"] if "value" in a
    ]
    assert criteria == [("II.B", "meets"), ("II.G", "not_confirmed")]
    assert [area["name"] for area in service["service_areas"]] == ["Metro", "South Bay"]
    assert [(lang["code"], lang["name"]) for lang in service["languages"]] == [("en", "English")]
    procovery = organizations["Procovery Circles"]
    assert procovery["email"] == "kcrowley@procovery.com"
    assert "assured_date" not in procovery["services"][0]  # never verified

    # Stable ids: a second export names every record the same.
    again = json.loads(body(sign_in(clinician).get("/directory/export/hsds.json")))
    assert again == document


def test_hsds_meetings_with_addresses_are_locations(sign_in, clinician, listings):
    MeetingFactory(
        group=listings["procovery"],
        weekday=Meeting.Weekday.TUESDAY,
        start_time=time(18),
        address="1855 Industrial St",
        city="Los Angeles",
        state="CA",
        postal_code="90021",
        latitude="34.032150",
        longitude="-118.236500",
        location_notes="Ring the bell",
    )
    document = json.loads(body(sign_in(clinician).get("/directory/export/hsds.json")))
    assert_valid_hsds(document, explained=LISTINGS_HSDS_WARNINGS)
    (procovery,) = [o for o in document["contents"] if o["name"] == "Procovery Circles"]
    (place,) = procovery["services"][0]["service_at_locations"]
    location = place["location"]
    assert (location["latitude"], location["longitude"]) == (34.03215, -118.2365)
    assert location["description"] == "Ring the bell"
    assert location["addresses"][0]["postal_code"] == "90021"


def test_meeting_guide_feed_carries_every_meeting(sign_in, clinician, listings):
    response = sign_in(clinician).get("/directory/meetings.json")
    items = json.loads(body(response))
    assert items == [
        {
            "name": "Dual Recovery Anonymous",
            "slug": "dual-recovery-anonymous-mon-1900",
            "day": 1,
            "time": "19:00",
            "end_time": "20:30",
            "timezone": "America/Los_Angeles",
            "types": ["O", "DD"],
            # In person: exact, four comma parts (the street line holds the whole address).
            "formatted_address": "1 Main St, Long Beach, CA 90802, USA",
            "approximate": "no",
            "address": "1 Main St, Long Beach, CA 90802",
            "state": "CA",
            "country": "US",
            "region": "South Bay",
            "group": "Dual Recovery Anonymous",
            "updated": items[0]["updated"],
        },
        {
            "name": "Dual Recovery Anonymous",
            "slug": "dual-recovery-anonymous-sat-1000",
            "day": 6,
            "time": "10:00",
            "timezone": "America/Los_Angeles",
            "types": ["C", "S"],
            # Online only: placed approximately, and said so.
            "formatted_address": "Los Angeles, CA, USA",
            "approximate": "yes",
            "state": "CA",
            "conference_url": "https://zoom.us/j/1",
            "conference_phone": "+16699006833,,123#",
            "group": "Dual Recovery Anonymous",
            "updated": items[1]["updated"],
        },
    ]
    # "updated" is UTC, YYYY-MM-DD HH:MM:SS, from the meeting's history.
    assert len(items[0]["updated"]) == 19 and items[0]["updated"][10] == " "


# --- Query counts: a fixed number whatever the size of the list ------------------------------


def count_export_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        content = body(response)
    assert response.status_code == 200 and content
    return len(queries)


# session, user, OTP device (permissions: the session's); the catalogue's version (each export
# is built once per version: core.http_cache); then, for each chunk of up to
# snapshot.CHUNK_SIZE listings (the county's whole directory is one): the listings, their
# headings, needs, types, languages, service areas and contacts; the HSDS and Meeting Guide
# exports add the chunk's meetings (with their service area, language and the time of their
# newest history row, in the same query).
EXPORT_QUERIES = {
    "/directory/export.csv": 3 + 1 + 7,
    "/directory/export.xlsx": 3 + 1 + 7,
    "/directory/export/hsds.json": 3 + 1 + 9,  # and II.A–H
    "/directory/meetings.json": 3 + 1 + 8,
}


def test_exports_run_a_fixed_number_of_queries(sign_in, clinician, taxonomy):
    client = sign_in(clinician)
    many_listings(taxonomy, range(5))
    client.get("/about/")  # a session's first request (not an export: it would be kept)
    few = {path: count_export_queries(client, path) for path in EXPORT_QUERIES}
    many_listings(taxonomy, range(5, 500))
    assert Group.objects.current().count() == 500
    client.get("/about/")  # activity is written once a minute
    many = {path: count_export_queries(client, path) for path in EXPORT_QUERIES}
    assert few == many == EXPORT_QUERIES

    # And every one of the 500 listings, with both its phones, is in each export.
    rows = csv_rows(client.get("/directory/export.csv"))
    assert len(rows) == 500
    assert all(row["Phones"].count("+1") == 2 for row in rows)
    sheet = openpyxl.load_workbook(io.BytesIO(body(client.get("/directory/export.xlsx"))))
    assert sheet.active.max_row == 501
    document = json.loads(body(client.get("/directory/export/hsds.json")))
    assert_valid_hsds(document)
    assert document["total_items"] == 500
    assert {len(org["services"][0]["phones"]) for org in document["contents"]} == {2}
    assert len(json.loads(body(client.get("/directory/meetings.json")))) == 500


# --- Streaming: no export is ever whole in memory ---------------------------------------------


def tablib_xlsx(listings) -> bytes:
    """The workbook as the export built it, whole in memory, before it streamed (tablib), with
    the cells as typed (the streamed workbook guards formulas by a cell style, checked apart)
    and the dates as dates."""
    resource = spreadsheet._WorkbookResource()
    headers = resource.get_export_headers()
    verified = headers.index("Last verified")
    dataset = tablib.Dataset(headers=headers, title="Self-help groups")
    for listing in listings:
        row = resource.export_resource(listing)
        row[verified] = date.fromisoformat(row[verified]) if row[verified] else None
        dataset.append(row)
    return dataset.export("xlsx")


def sheet_facts(content: bytes) -> dict:
    """What a reader of the workbook sees: the sheet, its cells and how they look."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return {
        "title": sheet.title,
        "frozen": sheet.freeze_panes,
        "widths": sorted(
            (dimension.min, dimension.max, dimension.width)
            for dimension in sheet.column_dimensions.values()
        ),
        # The type is left out: tablib would write a cell that starts with "=" as a formula.
        "cells": [
            [(cell.value, cell.font.b, cell.alignment.wrap_text) for cell in row]
            for row in sheet.iter_rows()
        ],
    }


def old_json(data) -> bytes:
    """What ``JsonResponse`` sent for these exports before they streamed."""
    return json.dumps(data, cls=DjangoJSONEncoder, indent=1, ensure_ascii=False).encode()


def orm_listing(group, *, with_meetings: bool) -> records.Listing:
    """A listing's snapshot read through the ORM, relation by relation: slow (queries for
    each listing) and plainly right, which is what the exports' rows are checked against."""
    contacts = list(group.contacts.order_by("order", "id"))
    meetings = snapshot.meetings_queryset().filter(group=group).order_by("weekday", "start_time")
    return records.Listing(
        slug=group.slug,
        name=group.name,
        status=group.status,
        format=group.format,
        description=group.description,
        aliases=tuple(group.aliases or ()),
        categories=tuple(c.name for c in group.categories.all()),
        needs=tuple(n.name for n in group.needs.all()),
        types=tuple((t.code, t.name) for t in group.types.all()),
        languages=tuple((lang.code, lang.name) for lang in group.languages.all()),
        service_areas=tuple(
            records.Area(slug=a.slug, name=a.name, kind=a.get_kind_display())
            for a in group.service_areas.all()
        ),
        medication_stance=group.medication_stance,
        fees_note=group.fees_note,
        last_verified_on=group.last_verified_on,
        phones=tuple(
            records.Phone(
                number=c.phone.as_e164,
                extension=c.extension,
                area=c.area_label,
                hours=c.hours,
                note=c.note,
            )
            for c in contacts
            if c.kind == Contact.Kind.PHONE and c.phone
        ),
        emails=tuple(c.email for c in contacts if c.kind == Contact.Kind.EMAIL and c.email),
        urls=tuple(c.url for c in contacts if c.kind == Contact.Kind.WEB and c.url),
        meetings=tuple(
            records.WeeklyMeeting(
                weekday=m.weekday,
                start=m.start_time,
                end=m.end_time,
                name=m.name,
                location_name=m.location_name,
                address=m.address,
                online_url=m.online_url,
                dial_in=m.dial_in,
                region=m.service_area.name if m.service_area else "",
                language_code=m.language.code if m.language else "",
                type_codes=tuple(str(code) for code in (m.type_codes or [])),
                notes=m.notes,
                updated=m.updated,
                slug=m.slug,
                city=m.city,
                state=m.state,
                postal_code=m.postal_code,
                latitude=m.latitude,
                longitude=m.longitude,
                location_notes=m.location_notes,
                conference_notes=m.conference_notes,
            )
            for m in meetings
        )
        if with_meetings
        else (),
    )


@pytest.mark.parametrize("chunk_size", [None, 100, 504])
@pytest.mark.parametrize("with_meetings", [False, True])
def test_the_snapshot_is_what_the_orm_says(big_directory, monkeypatch, with_meetings, chunk_size):
    """The exports' rows, read a chunk at a time as plain rows, are each listing as the ORM
    gives it: every relation, in its model's order. In one chunk (the related tables read for
    the current listings), in several, and in one full chunk (read for a list of ids)."""
    if chunk_size:
        monkeypatch.setattr(snapshot, "CHUNK_SIZE", chunk_size)
    expected = [
        orm_listing(group, with_meetings=with_meetings)
        for group in Group.objects.current().order_by("name", "pk")
    ]
    assert len(expected) == 504
    assert list(snapshot.listings(with_meetings=with_meetings)) == expected
    total, counted = snapshot.counted_listings(with_meetings=with_meetings)
    assert total == 504 and list(counted) == expected


@pytest.fixture
def chunked_reads(monkeypatch):
    """Every cursor opened for ``QuerySet.iterator()`` (a server-side cursor on PostgreSQL)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    opened = []
    original = wrapper.chunked_cursor

    def chunked_cursor():
        cursor = original()
        opened.append(cursor)
        return cursor

    monkeypatch.setattr(wrapper, "chunked_cursor", chunked_cursor)
    return opened


@pytest.fixture
def big_directory(taxonomy, listings):
    """The three appendix listings, a listing whose name and meeting carry what the writers
    must get exactly right (a line break, quotes, non-ASCII text), and 500 more."""
    odd = GroupFactory(
        slug="odd-one",
        name='Grupo "Ánimo"\nsegunda línea',
        description="Línea uno\nLínea dos, con «comillas» y 😀.",
    )
    MeetingFactory(
        group=odd, weekday=3, start_time=time(18), notes='Say "hi"\nat the door', name="Ñ"
    )
    many_listings(taxonomy, range(500))


def streamed_chunks(response) -> list[bytes]:
    assert response.status_code == 200
    assert response.streaming
    return list(response.streaming_content)


@pytest.mark.parametrize(
    ("path", "old_body"),
    [
        ("/directory/export.csv", lambda: "".join(spreadsheet.csv_lines(snapshot.listings()))),
        (
            "/directory/export/hsds.json",
            lambda: old_json(
                hsds.document(
                    snapshot.listings(with_meetings=True, with_criteria=True),
                    today=timezone.localdate(),
                )
            ),
        ),
        (
            "/directory/meetings.json",
            lambda: old_json(
                meeting_guide.feed(
                    snapshot.listings(with_meetings=True), timezone=settings.TIME_ZONE
                )
            ),
        ),
    ],
)
def test_text_exports_stream_in_chunks_and_say_what_they_said_before(
    sign_in, clinician, big_directory, chunked_reads, path, old_body
):
    chunks = streamed_chunks(sign_in(clinician).get(path))
    # Built once per catalogue version into a file, a chunk at a time, then sent from that
    # file a block at a time (core.http_cache): never whole in memory.
    assert len(chunks) >= 3
    # The listings were read through QuerySet.iterator(): one chunked (on PostgreSQL,
    # server-side) cursor, a chunk of rows at a time.
    assert len(chunked_reads) == 1
    if connection.vendor == "postgresql":
        assert chunked_reads[0].cursor.name  # a named cursor is a server-side one
    # Byte for byte what the export sent when it was built whole in memory.
    expected = old_body()
    assert b"".join(chunks) == (expected if isinstance(expected, bytes) else expected.encode())


def test_hsds_count_comes_with_the_rows(sign_in, clinician, big_directory):
    document = json.loads(body(sign_in(clinician).get("/directory/export/hsds.json")))
    assert document["total_items"] == document["size"] == len(document["contents"]) == 504
    assert document["empty"] is False


@pytest.mark.parametrize("path", ["/directory/export/hsds.json", "/directory/meetings.json"])
def test_json_exports_of_an_empty_directory(sign_in, clinician, db, path):
    response = sign_in(clinician).get(path)
    assert response.streaming
    expected = hsds.document([], today=timezone.localdate()) if path.endswith("hsds.json") else []
    assert body(response) == old_json(expected)


def test_xlsx_export_is_served_from_a_file_and_shows_what_tablib_made(
    sign_in, clinician, big_directory, chunked_reads
):
    response = sign_in(clinician).get("/directory/export.xlsx")
    assert response.status_code == 200
    assert response.streaming  # FileResponse: sent from the temporary file in blocks
    assert int(response["Content-Length"]) > FileResponse.block_size
    chunks = streamed_chunks(response)
    assert len(chunks) > 1
    assert len(chunked_reads) == 1
    content = b"".join(chunks)
    assert sheet_facts(content) == sheet_facts(tablib_xlsx(snapshot.listings()))
    facts = sheet_facts(content)
    assert len(facts["cells"]) == 505  # the header and 504 listings
    assert facts["frozen"] == "A2"
    odd = next(row for row in facts["cells"] if row[0][0] == "odd-one")
    assert odd[1] == ('Grupo "Ánimo"\nsegunda línea', False, True)  # wrapped


def test_exports_read_listings_a_chunk_at_a_time(sign_in, clinician, taxonomy, monkeypatch):
    """With chunks of 100, 500 listings take five rounds of queries: the rows come from the
    database a chunk at a time, each chunk's related rows fetched for that chunk only."""
    monkeypatch.setattr(snapshot, "CHUNK_SIZE", 100)
    client = sign_in(clinician)
    many_listings(taxonomy, range(500))
    client.get("/about/")  # a session's first request (not an export: it would be kept)
    rounds = 500 // 100
    for path, per_round in (
        ("/directory/export.csv", 6),
        ("/directory/export.xlsx", 6),
        ("/directory/export/hsds.json", 8),
        ("/directory/meetings.json", 7),
    ):
        # The session's three (the permission set is the session's), the catalogue's version,
        # the listings' one query, then the related tables per chunk.
        assert count_export_queries(client, path) == 3 + 1 + 1 + per_round * rounds, path


# --- CSV import -----------------------------------------------------------------------------

IMPORT = "/directory/import/"


def csv_file(rows, *, header=spreadsheet.COLUMNS, bom=True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [row.get(column, "") for column in header] if isinstance(row, dict) else row
        )
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def upload(client, path, content: bytes, name="listings.csv", **data):
    file = io.BytesIO(content)
    file.name = name
    return client.post(path, {"file": file, **data})


def confirm(client, path, preview):
    form = preview.context["confirm"]
    return client.post(path, {"token": form.initial["token"], "sha256": form.initial["sha256"]})


def problems_of(response) -> list[tuple]:
    return [(p.row, p.column, p.message) for p in response.context["plan"].problems]


def exported_csv(client) -> bytes:
    return body(client.get("/directory/export.csv"))


def dra_row(**changes) -> dict:
    row = {
        "Slug": "dual-recovery-anonymous",
        "Name": "Dual Recovery Anonymous",
        "Headings": "Twelve-Step Groups for Mental Health Consumers",
        "Needs": "Co-occurring substance use; Depression",
        "Phones": (
            "+13103058878 (Los Angeles); +18007922345 (Los Angeles); "
            "+13237770130 ext. 223 (Los Angeles); +15624368585 ext. 291 (Long Beach); "
            "+15624376717 ext. 277 (Long Beach)"
        ),
        "Web addresses": "http://www.draonline.org",
        "Status": "Active",
        "Format": "III.A",
        "Types": "A",
        "Languages": "English",
        "Service areas": "Metro; South Bay",
        "Medication stance": "Not known",
    }
    return row | changes


@pytest.mark.parametrize("path", IMPORTS)
def test_upload_pages_change_nothing(sign_in, site_admin, listings, path):
    before = database_state()
    response = sign_in(site_admin).get(path)
    assert response.status_code == 200
    assert b"Preview the import" in response.content
    assert database_state() == before


def test_import_pages_run_a_fixed_number_of_queries(sign_in, site_admin, taxonomy):
    client = sign_in(site_admin)
    many_listings(taxonomy, range(5))

    def counts():
        client.get(IMPORT)  # a session's first request, or a minute later, records activity
        # Files that change every listing, so that each preview is kept for its confirmation.
        exported_csv_file = exported_csv(client).replace(b",Active,", b",Defunct,")
        items = json.loads(body(client.get("/directory/meetings.json")))
        feed = json.dumps([item | {"notes": "Bring a friend."} for item in items]).encode()
        result = {}
        for name, send in (
            ("csv page", lambda: client.get(IMPORT)),
            ("meetings page", lambda: client.get(MEETINGS)),
            ("csv preview", lambda: upload(client, IMPORT, exported_csv_file)),
            ("meetings preview", lambda: upload(client, MEETINGS, feed, name="m.json")),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = send()
            assert response.status_code == 200, name
            result[name] = len(queries)
        return result

    few = counts()
    many_listings(taxonomy, range(5, 500))
    many = counts()
    assert (
        few
        == many
        == {
            # session, user, OTP device (the permission set is the session's)
            "csv page": 3,
            # ... plus the current listings for the listing menu
            "meetings page": 4,
            # ... plus headings, needs, types, languages, service areas; every listing with
            # its headings, needs, types, languages, service areas and contacts; the upload
            # kept in the session (savepoint, update, release)
            "csv preview": 3 + 5 + 7 + 3,
            # ... plus current listings, service areas, languages, their meetings; the session
            "meetings preview": 3 + 4 + 3,
        }
    )


def test_the_export_imported_again_changes_nothing(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    before = database_state()
    preview = upload(client, IMPORT, exported_csv(client))
    assert preview.status_code == 200, problems_of(preview)
    assert preview.context["plan"].counts == {"create": 0, "update": 0, "unchanged": 3, "error": 0}
    assert preview.context["confirm"] is None
    assert "there is nothing to import" in preview.content.decode()
    assert database_state() == before


def test_preview_writes_nothing_and_confirm_writes_everything(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    dra = listings["dra"]
    kept = Contact.objects.get(group=dra, phone="+15624368585")
    content = csv_file(
        [
            dra_row(
                Needs="Co-occurring substance use",
                # One number dropped, one added, one relabelled; the rest kept as they were.
                Phones=(
                    "+13103058878 (Los Angeles); +13237770130 ext. 223 (Los Angeles); "
                    "+15624368585 ext. 291 (Long Beach/South Bay); (562) 437-6717 x277 "
                    "(Long Beach); +18885551212"
                ),
                Emails="info@draonline.org",
                Status="Temporarily closed",
            ),
            {
                "Name": "Emotions Anonymous",
                "Headings": "twelve-step-mh",
                "Needs": "Depression",
                "Phones": "(818) 377-4341 (San Fernando Valley/Santa Clarita/West LA)",
                "Web addresses": "http://www.emotionsanonymous.org/",
                "Status": "active",
                "Format": "Twelve-step group for individuals with mental illnesses",
                "Types": "A. Support; B",
                "Languages": "en",
                "Service areas": "Metro",
            },
            {  # Found by its name; nothing in it differs from the listing.
                "Name": "Neuroticos Anonimos",
                "Headings": "Twelve-Step Groups for Mental Health Consumers",
                "Phones": "+12133855990",
                "Status": "Active",
                "Format": "III.A",
                "Languages": "Spanish",
                "Medication stance": "",
            },
        ]
    )
    before = database_state()
    preview = upload(client, IMPORT, content)
    assert preview.status_code == 200, problems_of(preview)
    assert database_state() == before  # the preview only reads
    plan = preview.context["plan"]
    assert [(row.row, row.action, row.slug) for row in plan.rows] == [
        (2, "update", "dual-recovery-anonymous"),
        (3, "create", "emotions-anonymous"),
        (4, "unchanged", "neuroticos-anonimos"),
    ]
    changes = {change.column: change for change in plan.rows[0].changes}
    assert set(changes) == {"Status", "Needs", "Phones", "Emails"}
    assert changes["Phones"].before.startswith("+18007922345 (Los Angeles)")
    assert "+18885551212" in changes["Phones"].after
    html = preview.content.decode()
    assert "Write these changes" in html and "Removes: +18007922345 (Los Angeles)" in html

    response = confirm(client, IMPORT, preview)
    assert response.status_code == 302 and response["Location"] == IMPORT
    follow = client.get(IMPORT)
    assert "Imported: 1 new listing, 1 updated, 1 unchanged." in follow.content.decode()

    dra.refresh_from_db()
    assert dra.status == Group.Status.TEMPORARILY_CLOSED
    assert dra.version == 2  # an edit form opened before the import is now refused
    assert [n.slug for n in dra.needs.all()] == ["co-occurring"]
    phones = [
        (c.phone.as_e164, c.extension, c.area_label)
        for c in dra.contacts.filter(kind="phone").order_by("order", "id")
    ]
    assert phones == [
        ("+13103058878", "", "Los Angeles"),
        ("+13237770130", "223", "Los Angeles"),
        ("+15624368585", "291", "Long Beach/South Bay"),
        ("+15624376717", "277", "Long Beach"),
        ("+18885551212", "", ""),
    ]
    assert Contact.objects.filter(pk=kept.pk).exists()  # kept, not replaced
    assert list(dra.contacts.filter(kind="email").values_list("email", flat=True)) == [
        "info@draonline.org"
    ]
    assert dra.history.latest().history_user == site_admin

    emotions = Group.objects.get(slug="emotions-anonymous")
    assert emotions.format == "III.A"
    assert emotions.is_twelve_step  # III.A is a twelve-step format
    assert emotions.medication_stance == Group.MedicationStance.NOT_KNOWN  # VI.C default
    assert [c.slug for c in emotions.categories.all()] == ["twelve-step-mh"]
    assert sorted(t.code for t in emotions.types.all()) == ["A", "B"]
    assert [str(c) for c in emotions.contacts.all()] == [
        "(818) 377-4341",
        "http://www.emotionsanonymous.org/",
    ]
    assert emotions.contacts.get(kind="phone").area_label == (
        "San Fernando Valley/Santa Clarita/West LA"
    )
    created = emotions.history.get()  # one record, with its lists, by the importing admin
    assert (created.history_type, created.history_user) == ("+", site_admin)
    assert Group.objects.get(slug="neuroticos-anonimos").version == 1  # unchanged: not written


def test_problems_are_reported_by_row_and_column(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    content = csv_file(
        [
            dra_row(),  # row 2: sound
            dra_row(
                Slug="neuroticos-anonimos",
                Needs="Sadness",
                Phones="555-12; +1 310 305 8878",
                Emails="not-an-email",
            ),  # row 3
            dra_row(Slug="", Name=""),  # row 4
            dra_row(Slug="procovery-circles", Status="Open", Format="IV.Z"),  # row 5
            dra_row(),  # row 6: the same listing as row 2
            dra_row(Slug="archived-group"),  # row 7
            dra_row(Slug="new-one", Name="New One", **{"Web addresses": "www.example.org"}),
            dra_row(Slug="Not A Slug!", Headings="", **{"Medication stance": "Maybe"}),
            dra_row(Slug="import", Name="Import"),  # row 10
            dra_row(Slug="procovery", Name="PROCOVERY CIRCLES"),  # row 11
        ]
    )
    before = database_state()
    response = upload(client, IMPORT, content)
    assert response.status_code == 400
    assert response.context["confirm"] is None
    found = problems_of(response)
    expected = [
        (3, "Needs", "“Sadness” is not a need of the directory"),
        (3, "Phones", "“555-12” is not a valid phone number."),
        (3, "Emails", "“not-an-email” is not an email address."),
        (4, "Name", "A listing needs a name."),
        (5, "Status", "“Open” is not a status (Active, Temporarily closed, Inactive, Defunct)."),
        (5, "Format", "“IV.Z” is not one of the formats III.A–III.I."),
        (6, "Slug", "Row 2 is about the same listing."),
        (7, "Slug", "“Archived Group” is archived; an import does not change archived listings."),
        (8, "Web addresses", "“www.example.org” is not a web address"),
        (9, "Slug", "“Not A Slug!” is not a slug"),
        (9, "Headings", "A listing needs at least one heading of the list."),
        (9, "Medication stance", "“Maybe” is not one of: Treats members on prescribed"),
        (10, "Slug", "“import” is the address of a directory page; give the listing another"),
        (
            11,
            "Name",
            "A listing called “Procovery Circles” exists already (slug “procovery-circles”); "
            "give that slug to update it.",
        ),
    ]
    for row, column, message in expected:
        assert any((r, c) == (row, column) and m.startswith(message) for r, c, m in found), (
            row,
            column,
            message,
            found,
        )
    assert len(found) == len(expected)
    assert [row.action for row in response.context["plan"].rows] == ["unchanged", *["error"] * 9]
    html = response.content.decode()
    assert "Nothing can be imported from this file yet" in html
    assert "Write these changes" not in html
    assert database_state() == before


BAD_FILES = {
    "windows-1252": (
        csv_file([dra_row(Name="Neuróticos Anónimos")], bom=False).decode().encode("cp1252"),
        "The file is not UTF-8 text: byte 0xF3 on line 2",
    ),
    "utf-16": (
        "Slug,Name\n".encode("utf-16"),
        "The file is UTF-16 text.",
    ),
    "an Excel workbook": (b"PK\x03\x04" + b"\x00" * 40, "most likely an Excel workbook"),
    "wrong columns": (
        csv_file([], header=["Slug", "Name", "Telephone", "Headings", "Headings"]),
        "Missing: Needs, Phones, Emails, Web addresses, Status, Format, Types, Languages, "
        "Service areas, Medication stance. Not expected: Telephone. Repeated: Headings.",
    ),
    "no rows": (csv_file([]), "The file has a header row but no listings under it."),
    "blank lines only": (b"\n\n\n", "The file is empty"),
    "broken quoting": (
        csv_file([]) + b'dra,"Dual Recovery Anonymous\n',
        "The file cannot be read as CSV at line 2: unexpected end of data.",
    ),
    "NUL bytes": (csv_file([dra_row()]) + b"\x00", "The file holds NUL bytes"),
    "a cell too many": (
        csv_file([[dra_row().get(column, "") for column in spreadsheet.COLUMNS] + ["extra"]]),
        "The row has 15 cells; the header has 14.",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_gets_a_clear_message_and_nothing_is_written(
    sign_in, site_admin, listings, case
):
    content, message = BAD_FILES[case]
    client = sign_in(site_admin)
    before = database_state()
    response = upload(client, IMPORT, content)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert database_state() == before


def test_a_file_over_the_limit_is_refused(sign_in, site_admin, listings):
    # Over the import's own limit (2 MB) but under the request body limit (3 MB), so the view
    # answers with its message; a larger body gets the 413 of the request guard.
    row = dra_row(Name="x" * 100)
    per_row = len(csv_file([row] * 2)) - len(csv_file([row]))
    content = csv_file([row] * int(2.5 * 1024 * 1024 / per_row))
    assert 2 * 1024 * 1024 < len(content) < settings.REQUEST_BODY_LIMIT - 64 * 1024
    response = upload(sign_in(site_admin), IMPORT, content)
    assert response.status_code == 400
    assert "the limit is 2.0 MB" in response.content.decode()


def test_a_file_with_or_without_byte_order_mark_is_read(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    for bom in (True, False):
        response = upload(client, IMPORT, csv_file([dra_row()], bom=bom))
        assert response.status_code == 200
        assert response.context["plan"].rows[0].action == "unchanged"


def test_a_name_shared_by_two_listings_needs_the_slug(sign_in, site_admin, listings, taxonomy):
    GroupFactory(slug="neuroticos-anonimos-2", name="Neuroticos Anonimos")
    response = upload(
        sign_in(site_admin), IMPORT, csv_file([dra_row(Slug="", Name="Neuroticos Anonimos")])
    )
    assert response.status_code == 400
    assert problems_of(response) == [
        (
            2,
            "Name",
            "2 listings are called “Neuroticos Anonimos”; give the slug of the one this row "
            "is about.",
        )
    ]


@pytest.mark.parametrize(
    "post",
    [
        {"token": "made-up", "sha256": "0" * 64},
        {"token": "", "sha256": ""},
        {"token": "x" * 500, "sha256": "not hex"},
    ],
)
def test_a_confirmation_without_a_kept_preview_writes_nothing(sign_in, site_admin, listings, post):
    client = sign_in(site_admin)
    upload(client, IMPORT, csv_file([dra_row(Status="Defunct")]))
    before = database_state()
    response = client.post(IMPORT, post)
    assert response.status_code == 400
    assert "This preview has expired or was already imported" in response.content.decode()
    assert database_state() == before


def test_the_hash_must_match_and_a_preview_is_confirmed_once(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    preview = upload(client, IMPORT, csv_file([dra_row(Status="Defunct")]))
    token = preview.context["confirm"].initial["token"]
    before = database_state()
    # A tampered hash: refused, and the preview is spent.
    assert client.post(IMPORT, {"token": token, "sha256": "f" * 64}).status_code == 400
    assert database_state() == before

    preview = upload(client, IMPORT, csv_file([dra_row(Status="Defunct")]))
    assert confirm(client, IMPORT, preview).status_code == 302
    after = database_state()
    assert after != before
    assert confirm(client, IMPORT, preview).status_code == 400  # a double click: once only
    assert database_state() == after


def test_an_edit_after_the_preview_stops_the_import(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    preview = upload(client, IMPORT, csv_file([dra_row(Status="Defunct")]))
    dra = listings["dra"]
    dra.name = "Dual Recovery Anonymous (DRA)"
    dra.version += 1
    dra.save()  # another admin saves the listing meanwhile
    before = database_state()
    response = confirm(client, IMPORT, preview)
    assert response.status_code == 409
    assert "The directory changed after the preview was made" in response.content.decode()
    assert database_state() == before
    # The new preview shows the other admin's name going back: the admin decides again.
    changes = {c.column: c for c in response.context["plan"].rows[0].changes}
    assert changes["Name"].before == "Dual Recovery Anonymous (DRA)"
    assert response.context["confirm"] is not None


def test_a_failure_while_writing_leaves_nothing_half_written(
    sign_in, site_admin, listings, monkeypatch
):
    from django.db import IntegrityError

    client = sign_in(site_admin)
    preview = upload(
        client,
        IMPORT,
        csv_file([dra_row(Status="Defunct"), dra_row(Slug="procovery-circles", Name="P")]),
    )
    calls = []

    def fail_after_the_listings(rows, *, by, now):
        # The listings and their lists are written by now; the contacts fail.
        calls.append([row.row for row in rows])
        raise IntegrityError("simulated")

    monkeypatch.setattr(csv_import, "_write_contacts", fail_after_the_listings)
    before = database_state()
    response = confirm(client, IMPORT, preview)
    assert calls == [[2, 3]]
    assert response.status_code == 409
    assert "nothing of it was saved" in response.content.decode()
    assert database_state() == before


# --- Meeting Guide import -------------------------------------------------------------------

MEETINGS = "/directory/meetings/import/"


def feed_of(client) -> list[dict]:
    return json.loads(body(client.get("/directory/meetings.json")))


def without_updated(items):
    return [{k: v for k, v in item.items() if k != "updated"} for item in items]


def upload_feed(client, items, **data):
    content = items if isinstance(items, bytes) else json.dumps(items).encode()
    return upload(client, MEETINGS, content, name="meetings.json", **data)


def meeting_problems(response) -> list[tuple]:
    return [(p.item, p.field, p.message) for p in response.context["plan"].problems]


def test_meeting_guide_round_trip(sign_in, site_admin, listings):
    """Export, import into a directory with the same listings and no meetings, export: the
    same meetings."""
    client = sign_in(site_admin)
    exported = feed_of(client)
    assert len(exported) == 2
    Meeting.objects.all().delete()  # the same listings, no meetings

    before = database_state()
    preview = upload_feed(client, exported)
    assert preview.status_code == 200, meeting_problems(preview)
    assert database_state() == before  # the preview only reads
    assert preview.context["plan"].counts == {"create": 2, "update": 0, "unchanged": 0, "error": 0}
    html = preview.content.decode()
    assert "Write these meetings" in html and "Monday 19:00–20:30" in html

    response = confirm(client, MEETINGS, preview)
    assert response.status_code == 302 and response["Location"] == MEETINGS
    assert (
        "Imported: 2 new meetings, 0 updated, 0 unchanged." in client.get(MEETINGS).content.decode()
    )
    assert without_updated(feed_of(client)) == without_updated(exported)

    # The listing's version moved on (an edit form opened before the import is refused), and
    # its history says who changed its meetings.
    dra = Group.objects.get(slug="dual-recovery-anonymous")
    assert dra.version == 2
    assert dra.history.latest().history_user == site_admin
    saturday = Meeting.objects.get(weekday=6)
    assert saturday.language.code == "es"  # "S" among the types is the meeting's language
    assert saturday.type_codes == ["C"]
    assert saturday.name == ""  # the group's own name is not copied onto the meeting
    assert saturday.history.get().history_user == site_admin

    # The same file again: every meeting is already there, nothing changes.
    state = database_state()
    again = upload_feed(client, exported)
    assert again.context["plan"].counts["unchanged"] == 2
    assert again.context["confirm"] is None
    assert "there is nothing to import" in again.content.decode()
    assert database_state() == state


def test_an_intergroup_schedule_updates_and_adds(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    items = [
        {  # The Monday meeting, now ending later and closed.
            "name": "Dual Recovery Anonymous",
            "slug": "dra-mon",
            "day": 1,
            "time": "19:00",
            "end_time": "21:00",
            "types": ["C"],
            "formatted_address": "1 Main St, Long Beach, CA 90802",
            "region": "spa-8-south-bay",
            "group": "dual recovery anonymous",
        },
        {  # Two new ones, Tuesday and Thursday, for a listing found by name.
            "name": "Neuroticos Anonimos",
            "slug": 77,
            "day": [2, 4],
            "time": "20:00",
            "address": "2 Pine Ave",
            "city": "Los Angeles",
            "region": "Downtown",
            "group": "Neuroticos Anonimos",
        },
    ]
    preview = upload_feed(client, items)
    assert preview.status_code == 200, meeting_problems(preview)
    plan = preview.context["plan"]
    assert [(e.meeting.item, e.meeting.weekday, e.action) for e in plan.entries] == [
        (1, 1, "update"),
        (2, 2, "create"),
        (2, 4, "create"),
    ]
    # The source's slug is kept too, so that the next import finds the meeting by it.
    assert plan.entries[0].changes == ["slug", "end", "types"]
    assert [(w.item, w.field) for w in plan.warnings] == [(2, "region")]
    assert "not one of the directory&#x27;s service areas" in preview.content.decode()

    assert confirm(client, MEETINGS, preview).status_code == 302
    monday = Meeting.objects.get(group=listings["dra"], weekday=1)
    assert (monday.end_time, monday.type_codes) == (time(21), ["C"])
    assert monday.service_area.slug == "spa-8-south-bay"
    assert Meeting.objects.filter(group=listings["dra"]).count() == 2  # the Saturday one stays
    new = Meeting.objects.filter(group=listings["neuroticos"]).order_by("weekday")
    assert [(m.weekday, m.start_time, m.address, m.city, m.service_area) for m in new] == [
        (2, time(20), "2 Pine Ave", "Los Angeles", None),
        (4, time(20), "2 Pine Ave", "Los Angeles", None),
    ]


def test_a_chosen_listing_takes_every_meeting(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    items = [{"name": "Tuesday", "slug": "t", "day": 2, "time": "18:00", "group": "Another"}]
    preview = upload_feed(client, items, listing=listings["procovery"].pk)
    assert preview.status_code == 200
    assert "for <strong>Procovery Circles</strong>" in preview.content.decode()
    assert confirm(client, MEETINGS, preview).status_code == 302
    assert Meeting.objects.get(name="Tuesday").group == listings["procovery"]


def test_an_archived_listing_cannot_be_chosen(sign_in, site_admin, listings):
    items = [{"name": "Tuesday", "slug": "t", "day": 2, "time": "18:00"}]
    response = upload_feed(sign_in(site_admin), items, listing=listings["archived"].pk)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


BAD_FEEDS = {
    "malformed JSON": (b'[{"name": "x", ]', None, "", "The file is not valid JSON"),
    "an object": (b'{"meetings": []}', None, "", "A Meeting Guide feed is a JSON array"),
    "an item that is not an object": ([["x"]], 1, "", "Each meeting must be an object"),
    "day 7": ([{"day": 7}], 1, "day", "day 7 is not a day number"),
    "25:00": ([{"time": "25:00"}], 1, "time", "time “25:00” is not a time of day"),
    "an unknown group": (
        [{"group": "Nobody Anonymous"}],
        1,
        "group",
        "“Nobody Anonymous” is not the name of a current listing",
    ),
    "no group": ([{"group": None}], 1, "group", "The meeting names no group"),
    "the same meeting twice": (
        [{}, {"slug": "other"}],
        2,
        "",
        "Item 1 is the same meeting (Monday 19:00 at the same place) of the same listing.",
    ),
    "windows-1252": (
        '[{"name": "Neuróticos"}]'.encode("cp1252"),
        None,
        "",
        "The file is not UTF-8 text",
    ),
}
SOUND = {
    "name": "Monday",
    "slug": "monday",
    "day": 1,
    "time": "19:00",
    "group": "Procovery Circles",
}


@pytest.mark.parametrize("case", BAD_FEEDS)
def test_a_bad_feed_gets_a_clear_message_and_nothing_is_written(
    sign_in, site_admin, listings, case
):
    content, item, field, message = BAD_FEEDS[case]
    if isinstance(content, list):
        # Item 1 is a sound meeting; the bad one follows it (or replaces it for a list item).
        content = [SOUND | {"slug": "sound"}] + [
            part if isinstance(part, list) else SOUND | part for part in content
        ]
        item = item + 1
    client = sign_in(site_admin)
    before = database_state()
    response = upload_feed(client, content)
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    assert message in html
    if item is not None:
        assert any(
            (i, f) == (item, field) and m.startswith(message)
            for i, f, m in meeting_problems(response)
        ), meeting_problems(response)
        assert "Write these meetings" not in html
    assert database_state() == before


def test_a_failure_while_writing_meetings_leaves_nothing_half_written(
    sign_in, site_admin, listings, monkeypatch
):
    from django.db import IntegrityError

    client = sign_in(site_admin)
    preview = upload_feed(client, [SOUND | {"day": [2, 3, 4]}])
    save = Meeting.save
    calls = []

    def save_then_fail(self, *args, **kwargs):
        calls.append(self.weekday)
        if len(calls) == 3:
            raise IntegrityError("simulated")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Meeting, "save", save_then_fail)
    before = database_state()
    response = confirm(client, MEETINGS, preview)
    assert calls == [2, 3, 4]
    assert response.status_code == 409
    assert database_state() == before


def test_a_meeting_preview_is_confirmed_once_and_only_as_previewed(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    preview = upload_feed(client, [SOUND])
    MeetingFactory(group=listings["procovery"], weekday=1, start_time=time(19), address="")
    before = database_state()
    response = confirm(client, MEETINGS, preview)  # the meeting now exists: another plan
    assert response.status_code == 409
    assert database_state() == before
    assert response.context["plan"].entries[0].action == "update"
    assert confirm(client, MEETINGS, preview).status_code == 400  # spent


def test_the_list_links_its_downloads_and_the_worklist_its_imports(sign_in, clinician, site_admin):
    html = sign_in(clinician).get("/directory/").content.decode()
    for name in ["export-csv", "export-xlsx", "export-hsds", "meeting-guide"]:
        assert f'href="{reverse(f"directory:{name}")}"' in html
    assert reverse("directory:import") not in html
    html = sign_in(site_admin).get("/directory/manage/").content.decode()
    assert f'href="{reverse("directory:import")}"' in html
    assert f'href="{reverse("directory:meeting-guide-import")}"' in html


def test_a_feed_with_one_meeting_by_appointment_or_past_midnight_is_imported(
    sign_in, site_admin, listings
):
    """Spec-valid feeds were refused whole for one such item; now each gets a warning."""
    client = sign_in(site_admin)
    items = [
        SOUND | {"slug": "late", "time": "22:00", "end_time": "01:00"},
        {"name": "By appointment", "slug": "appointment", "group": SOUND["group"]},
    ]
    preview = upload_feed(client, items)
    assert preview.status_code == 200, meeting_problems(preview)
    assert preview.context["plan"].counts["create"] == 1
    html = preview.content.decode()
    assert "past midnight" in html and "by appointment" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"name": "x", "slug": "s", "day": ' + "9" * 5000 + ', "time": "18:00"}]', "5,000"),
        ('[{"name": "x\\ud800", "slug": "s", "day": 1, "time": "18:00"}]', "not valid Unicode"),
    ],
)
def test_absurd_numbers_and_broken_unicode_get_a_message_not_a_500(
    sign_in, site_admin, listings, content, message
):
    client = sign_in(site_admin)
    before = database_state()
    response = upload_feed(client, content.encode())
    assert response.status_code == 400
    assert message in response.content.decode()
    assert database_state() == before


# --- A large import confirms in bulk --------------------------------------------------------


def _new_rows(n: int, start: int = 0) -> list[dict]:
    return [
        dra_row(
            Slug=f"bulk-listing-{i}",
            Name=f"Bulk Listing {i}",
            Phones=f"+1310555{i:04d} (Los Angeles)",
            **{"Web addresses": f"https://example.org/{i}"},
        )
        for i in range(start, start + n)
    ]


def _confirm_queries(client, rows) -> int:
    preview = upload(client, IMPORT, csv_file(rows))
    assert preview.status_code == 200 and preview.context["plan"].ok
    with CaptureQueriesContext(connection) as queries:
        response = confirm(client, IMPORT, preview)
    assert response.status_code == 302, response.content[:500]
    return len(queries)


def _edited_rows(numbers) -> list[dict]:
    """Rows for ``many_listings``' listings: the first phone relabelled, the web address
    dropped, a need added, the status changed (an update, a relabel and a removal each)."""
    return [
        {
            "Slug": f"group-{n:04d}",
            "Name": f"Group {n:04d}",
            "Headings": "Twelve-Step Groups for Mental Health Consumers",
            "Needs": "Depression; Co-occurring substance use",
            "Phones": f"+13103058878 ext. {n} (Relabelled); +15624368585 (Long Beach)",
            "Emails": f"g{n}@example.org",
            "Status": "Temporarily closed",
            "Format": "III.A",
            "Types": "A",
            "Languages": "English",
            "Service areas": "Metro",
        }
        for n in numbers
    ]


def test_a_confirmed_import_writes_in_a_fixed_number_of_queries(
    sign_in, site_admin, listings, taxonomy
):
    """5 rows or 60, created and updated, contacts relabelled and removed: the same number of
    statements (a 5,000-row file made one save per row and list before, and one deletion per
    removed contact, and ran past the worker's timeout)."""
    many_listings(taxonomy, range(40))
    client = sign_in(site_admin)
    client.get("/about/")
    few = _confirm_queries(
        client, [dra_row(Status="Defunct"), *_new_rows(4), *_edited_rows(range(3))]
    )
    many = _confirm_queries(
        client,
        [dra_row(Status="Active"), *_new_rows(59, start=100), *_edited_rows(range(3, 40))],
    )
    assert few == many
    assert Group.objects.filter(slug__startswith="bulk-listing-").count() == 63
    edited = Group.objects.get(slug="group-0039")
    assert edited.status == Group.Status.TEMPORARILY_CLOSED
    assert list(edited.contacts.values_list("kind", "area_label")) == [
        ("phone", "Relabelled"),
        ("phone", "Long Beach"),
        ("email", ""),
    ]
    web = Contact.history.filter(group_id=edited.pk, history_type="-").get()
    assert web.kind == "web" and web.history_user == site_admin
    # The search document's words follow the lists, for updated and new listings alike.
    assert "depresión" in edited.search_terms and "inglés" in edited.search_terms
    assert "depresión" in Group.objects.get(slug="bulk-listing-101").search_terms


def test_a_bulk_import_keeps_the_history_and_the_lists(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    _confirm_queries(client, [dra_row(Status="Defunct", Needs="Depression"), *_new_rows(2)])
    created = Group.objects.get(slug="bulk-listing-1")
    assert {n.name for n in created.needs.all()} == {"Co-occurring substance use", "Depression"}
    assert [c.phone for c in created.contacts.filter(kind=Contact.Kind.PHONE)] == ["+13105550001"]
    record = created.history.get()
    assert record.history_type == "+" and record.history_user == site_admin
    assert {row.need.name for row in record.needs.all()} == {
        "Co-occurring substance use",
        "Depression",
    }
    assert created.contacts.get(kind=Contact.Kind.WEB).history.get().history_type == "+"
    updated = Group.objects.get(slug="dual-recovery-anonymous")
    assert updated.status == Group.Status.DEFUNCT and updated.version == listings["dra"].version + 1
    latest = updated.history.order_by("-history_id").first()
    assert latest.history_type == "~" and latest.history_user == site_admin
    assert {row.need.name for row in latest.needs.all()} == {"Depression"}
    assert "depresión" in updated.search_terms  # the search document's words kept current


def test_a_long_preview_lists_the_first_rows_and_counts_the_rest(
    sign_in, site_admin, listings, monkeypatch
):
    from directory.views import exchange

    monkeypatch.setattr(exchange, "PREVIEW_ROWS", 3)
    client = sign_in(site_admin)
    preview = upload(client, IMPORT, csv_file([dra_row(Status="Active"), *_new_rows(5)]))
    assert preview.status_code == 200
    assert [row.row for row in preview.context["listed"]] == [3, 4, 5]  # row 2 changes nothing
    html = preview.content.decode()
    assert "3 more rows" in html and "Bulk Listing 2" in html and "Bulk Listing 3" not in html
    assert confirm(client, IMPORT, preview).status_code == 302
    assert Group.objects.filter(slug__startswith="bulk-listing-").count() == 5  # all written


# --- A long import is written by the background worker ---------------------------------------

PROGRESS = "/directory/import/progress/"


def _long_import(client, settings, rows=None):
    settings.CSV_IMPORT_INLINE_ROWS = 3
    preview = upload(client, IMPORT, csv_file(rows or [dra_row(Status="Defunct"), *_new_rows(5)]))
    assert preview.status_code == 200, problems_of(preview)
    return preview


def test_a_long_import_is_written_by_the_task_and_its_progress_shown(
    sign_in, site_admin, listings, settings
):
    client = sign_in(site_admin)
    preview = _long_import(client, settings)
    response = confirm(client, IMPORT, preview)
    assert response.status_code == 302 and response["Location"] == PROGRESS
    # The immediate backend ran the task as it was queued: the page says it is written.
    page = client.get(PROGRESS)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Step 3 of 3" in html and "Imported: 5 new listings, 1 updated, 0 unchanged." in html
    assert 'hx-trigger="every 2s"' not in html and 'http-equiv="refresh"' not in html
    assert Group.objects.filter(slug__startswith="bulk-listing-").count() == 5
    dra = Group.objects.get(slug="dual-recovery-anonymous")
    assert dra.status == Group.Status.DEFUNCT and dra.history.latest().history_user == site_admin
    # htmx asks for the progress box alone.
    box = client.get(PROGRESS, headers={"HX-Request": "true"})
    assert box.content.decode().lstrip().startswith('<div id="import-progress"')


def test_a_long_import_stopped_by_an_edit_writes_nothing_and_says_so(
    sign_in, site_admin, listings, settings
):
    client = sign_in(site_admin)
    preview = _long_import(client, settings)
    dra = listings["dra"]
    dra.name = "Dual Recovery Anonymous (DRA)"
    dra.version += 1
    dra.save()  # another admin saves the listing after the preview
    before = database_state()
    assert confirm(client, IMPORT, preview)["Location"] == PROGRESS
    html = client.get(PROGRESS).content.decode()
    assert "The directory changed after the preview was made" in html
    assert "Upload the file again" in html
    assert database_state() == before


def test_a_short_import_is_still_written_by_the_request(sign_in, site_admin, listings, settings):
    settings.CSV_IMPORT_INLINE_ROWS = 6
    client = sign_in(site_admin)
    preview = upload(client, IMPORT, csv_file([dra_row(Status="Defunct"), *_new_rows(5)]))
    response = confirm(client, IMPORT, preview)
    assert response["Location"] == IMPORT
    assert Group.objects.filter(slug__startswith="bulk-listing-").count() == 5


@pytest.mark.parametrize("person", PEOPLE)
def test_the_progress_page_is_for_site_admins_only(request, sign_in, taxonomy, person):
    response = sign_in(request.getfixturevalue(person)).get(PROGRESS)
    if person in IMPORTERS:
        assert response.status_code == 200
        assert "No long import has been confirmed in this session" in response.content.decode()
    else:
        assert response.status_code == 403


def test_the_progress_page_is_not_for_the_anonymous(client, db):
    response = client.get(PROGRESS)
    assert response.status_code == 302 and "/sign-in/" in response["Location"]


def test_another_sessions_import_is_not_shown(sign_in, site_admin, listings, settings):
    client = sign_in(site_admin)
    assert confirm(client, IMPORT, _long_import(client, settings)).status_code == 302
    client.cookies.clear()
    other = sign_in(site_admin)  # the same admin in another browser: a session of its own
    assert "No long import" in other.get(PROGRESS).content.decode()


def test_the_progress_page_runs_a_fixed_number_of_queries(sign_in, site_admin, listings, settings):
    client = sign_in(site_admin)
    confirm(client, IMPORT, _long_import(client, settings))
    client.get(PROGRESS)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PROGRESS).status_code == 200
    # session, user, OTP device (the permission set is the session's); the immediate
    # backend's result is kept in the session (the database backend's is one row more: see
    # below).
    assert len(queries) == 3


def test_the_database_queue_holds_the_import_until_the_worker_runs_it(
    sign_in, site_admin, listings, settings, monkeypatch
):
    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # The worker checks its connection between tasks, as a request does: inside the test's
    # transaction that would close it (on PostgreSQL), so the check is left out here.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = sign_in(site_admin)
    before = database_state()
    assert confirm(client, IMPORT, _long_import(client, settings))["Location"] == PROGRESS
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "directory.services.csv_import.confirm_in_background"
    assert queued.status == "READY"
    assert database_state() == before  # nothing written until the worker runs it
    page = client.get(PROGRESS)
    html = page.content.decode()
    assert "Step 1 of 3" in html and "Waiting for the background worker" in html
    # Without JavaScript the page reloads itself; with htmx the box polls.
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert 'hx-trigger="every 2s"' in html
    with CaptureQueriesContext(connection) as queries:
        client.get(PROGRESS)
    assert len(queries) == 4  # the session's three, and the task's row

    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO())
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"
    assert "Imported: 5 new listings, 1 updated" in client.get(PROGRESS).content.decode()
    assert Group.objects.filter(slug__startswith="bulk-listing-").count() == 5


def test_each_state_of_the_task_reads_plainly():
    from directory.selectors.csv_import import progress

    def state(status, value=None):
        return progress(status, value)

    assert (state("READY").step, state("READY").percent) == (1, 10)
    assert (state("RUNNING").step, state("RUNNING").finished) == (2, False)
    failed = state("FAILED")
    assert failed.finished and not failed.ok and "nothing of it was saved" in failed.message
    refused = state("SUCCESSFUL", {"result": "not-written", "message": "a conflict in the data"})
    assert "could not be written" in refused.message and not refused.ok
    done = state("SUCCESSFUL", {"result": "written", "created": 1, "updated": 2, "unchanged": 0})
    assert done.ok and done.message == "Imported: 1 new listing, 2 updated, 0 unchanged."
