"""The import pages in a real browser: upload, preview, confirm; an axe scan of each page.

As in test_accessibility, axe's script is injected into the page, which the strict
Content-Security-Policy forbids, so these tests run in a context that bypasses the CSP.
Nothing is excluded from a scan; serious and critical violations fail.
"""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from directory.models import Group, Meeting
from tests.browser.conftest import path_is, sign_in_with_password
from tests.factories.directory import CategoryFactory, ContactFactory, GroupFactory

pytestmark = pytest.mark.browser

SEVERE_IMPACTS = {"serious", "critical"}
HEADER = (
    "Slug,Name,Headings,Needs,Phones,Emails,Web addresses,Status,Last verified,Format,Types,"
    "Languages,Service areas,Medication stance\n"
)

axe = Axe()


@pytest.fixture
def page(new_context) -> Page:
    return new_context(bypass_csp=True).new_page()


@pytest.fixture
def signed_in_admin(page, settings, site_admin):
    settings.REQUIRE_MFA = False  # the demo banner shows; it is scanned too
    CategoryFactory(slug="twelve-step-mh", name="Twelve-step")
    dra = GroupFactory(slug="dual-recovery-anonymous", name="Dual Recovery Anonymous")
    ContactFactory(group=dra, phone="+15624368585", extension="291", area_label="Long Beach")
    sign_in_with_password(page, site_admin.username)
    return page


def assert_no_serious_violations(page: Page) -> None:
    page.wait_for_load_state("load")
    violations = axe.run(page).response["violations"]
    severe = [v for v in violations if v.get("impact") in SEVERE_IMPACTS]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} "
        + "; ".join(str(node.get("target")) for node in v.get("nodes", [])[:3])
        for v in severe
    )
    assert not severe, f"serious or critical axe violations on {page.url}:\n{report}"


def choose_file(page: Page, label: str, name: str, content: str, mime: str) -> None:
    page.get_by_label(label).set_input_files(
        {"name": name, "mimeType": mime, "buffer": content.encode("utf-8")}
    )
    page.get_by_role("button", name="Preview the import").click()


def test_csv_import_upload_preview_and_confirm(signed_in_admin):
    page = signed_in_admin
    page.goto("/directory/import/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import listings from CSV")
    assert_no_serious_violations(page)

    row = (
        "dual-recovery-anonymous,Dual Recovery Anonymous,Twelve-step,,"
        '"+15624368585 ext. 291 (Long Beach); +13103058878 (Los Angeles)",,,'
        "Active,2008-11-07,III.A,,,,Not known\n"
        ",Emotions Anonymous,Twelve-step,,+18183774341,,,Active,,III.A,,,,\n"
    )
    choose_file(page, "CSV file", "listings.csv", HEADER + row, "text/csv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview of the CSV import")
    expect(page.get_by_role("table", name="What each row of the file would do")).to_be_visible()
    assert Group.objects.count() == 1  # nothing written yet
    assert_no_serious_violations(page)

    page.get_by_role("button", name="Write these changes").click()
    expect(page).to_have_url(path_is("/directory/import/"))
    expect(page.get_by_role("status")).to_contain_text("Imported: 1 new listing, 1 updated")
    assert Group.objects.filter(slug="emotions-anonymous").exists()


def test_a_long_csv_import_shows_its_progress_until_the_worker_writes_it(signed_in_admin, settings):
    """Queued in the database; the page polls (htmx) until the worker has written it."""
    from django.core.management import call_command

    settings.CSV_IMPORT_INLINE_ROWS = 1
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    page = signed_in_admin
    page.goto("/directory/import/")
    row = (
        "dual-recovery-anonymous,Dual Recovery Anonymous,Twelve-step,,+15624368585 ext. 291,,,"
        "Defunct,,III.A,,,,\n,Emotions Anonymous,Twelve-step,,+18183774341,,,Active,,III.A,,,,\n"
    )
    choose_file(page, "CSV file", "listings.csv", HEADER + row, "text/csv")
    page.get_by_role("button", name="Write these changes").click()
    expect(page).to_have_url(path_is("/directory/import/progress/"))
    expect(page.get_by_text("Step 1 of 3")).to_be_visible()
    assert_no_serious_violations(page)
    assert not Group.objects.filter(slug="emotions-anonymous").exists()

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    # No reload: htmx fetches the progress box again every two seconds.
    expect(page.get_by_role("status")).to_contain_text(
        "Imported: 1 new listing, 1 updated", timeout=15_000
    )
    expect(page.get_by_text("Step 3 of 3")).to_be_visible()
    assert_no_serious_violations(page)
    assert Group.objects.filter(slug="emotions-anonymous").exists()


def test_csv_import_preview_with_problems(signed_in_admin):
    page = signed_in_admin
    page.goto("/directory/import/")
    bad = ",,Nowhere,,555-12,,,Open,,IV.Z,,,,\n"
    choose_file(page, "CSV file", "listings.csv", HEADER + bad, "text/csv")
    expect(page.get_by_role("heading", name="Problems")).to_be_visible()
    expect(page.get_by_role("table", name="problems in the file")).to_contain_text(
        "“555-12” is not a valid phone number."
    )
    expect(page.get_by_role("button", name="Write these changes")).to_have_count(0)
    assert_no_serious_violations(page)


def test_csv_import_refuses_a_wrong_file_on_the_upload_page(signed_in_admin):
    page = signed_in_admin
    page.goto("/directory/import/")
    choose_file(page, "CSV file", "listings.csv", "Name,Telephone\nx,y\n", "text/csv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import listings from CSV")
    expect(page.get_by_text("Not expected: Telephone.")).to_be_visible()
    assert_no_serious_violations(page)


def test_meeting_import_upload_and_preview(signed_in_admin):
    page = signed_in_admin
    page.goto("/directory/meetings/import/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Import meetings from a Meeting Guide file"
    )
    assert_no_serious_violations(page)

    feed = [
        {
            "name": "Monday night",
            "slug": "monday",
            "day": 1,
            "time": "19:00",
            "end_time": "20:30",
            "formatted_address": "1 Main St, Long Beach, CA 90802",
            "region": "Downtown",
            "group": "Dual Recovery Anonymous",
        }
    ]
    choose_file(
        page, "Meeting Guide JSON file", "meetings.json", json.dumps(feed), "application/json"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview of the meeting import")
    expect(page.get_by_role("heading", name="Notes")).to_be_visible()  # the unknown region
    assert_no_serious_violations(page)
    page.get_by_role("button", name="Write these meetings").click()
    expect(page.get_by_role("status")).to_contain_text("Imported: 1 new meeting")
    assert Meeting.objects.get().name == "Monday night"
