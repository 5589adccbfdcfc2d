"""A site admin keeps the referral list current through the real pages (policy VII.D), and
axe finds nothing serious or critical on the worklist, the edit page and the history page.

axe's script is injected into the page, which the strict Content-Security-Policy forbids, so
the scans run in a browser context that bypasses the CSP (as in test_accessibility); the
editing test runs in a normal context, under the policy.
"""

import datetime as dt
import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from directory.models import Contact, Format, Group, Meeting, ReferralResource, ResourcePhone
from directory.services import listings as services
from tests.browser.conftest import path_is, sign_in_with_password
from tests.factories.directory import CategoryFactory, NeedFactory

pytestmark = pytest.mark.browser

SEVERE_IMPACTS = {"serious", "critical"}

axe = Axe()


@pytest.fixture
def listing(site_admin):
    """A seeded-looking listing: stale since 2008, with a phone, a meeting and a review flag."""
    category = CategoryFactory(slug="twelve-step-mh", name="Twelve-step groups")
    NeedFactory(slug="depression", name="Depression")
    NeedFactory(slug="anxiety", name="Anxiety")
    group = services.create_group(
        values={
            "name": "Emotions Anonymous",
            "description": "Twelve steps for emotional health.",
            "format": Format.TWELVE_STEP_MH,
            "is_twelve_step": True,
            "categories": [category],
        },
        contacts=[
            services.RowEdit(
                pk=None,
                values={
                    "kind": Contact.Kind.PHONE,
                    "phone": "+18183774341",
                    "area_label": "San Fernando Valley/Santa Clarita/West LA",
                },
            )
        ],
        meetings=[
            services.RowEdit(
                pk=None,
                values={
                    "weekday": Meeting.Weekday.TUESDAY,
                    "start_time": dt.time(19, 0),
                    "end_time": dt.time(20, 0),
                    "address": "1 Main St, Long Beach, CA",
                    "type_codes": ["O", "X"],
                },
            )
        ],
        by=site_admin,
    )
    services.verify_group(group=group, by=site_admin, on=dt.date(2008, 11, 7))
    services.raise_flag(group=group, by=site_admin, summary="The web address may have a typo")
    return group


def sign_in_as_site_admin(page: Page, settings, user) -> None:
    settings.REQUIRE_MFA = False  # the demo's mode: a password, then the role's home
    sign_in_with_password(page, user.username)
    expect(page).to_have_url(path_is("/site-admin/"))


def test_a_site_admin_edits_and_verifies_a_listing(page, settings, site_admin, listing):
    sign_in_as_site_admin(page, settings, site_admin)
    page.get_by_role("link", name="Directory worklist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory worklist")
    stale = page.get_by_role("region", name="Not verified within a year")
    stale.get_by_role("link", name="Emotions Anonymous").click()

    expect(page).to_have_url(path_is(f"/directory/{listing.slug}/edit/"))
    page.get_by_label("Description").fill("Twelve steps for emotional health. Newcomers welcome.")
    page.get_by_role("checkbox", name="Anxiety").check()
    page.get_by_label("Extension").first.fill("12")
    page.get_by_label("Meeting types").first.fill("O, X, BE")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your changes to “Emotions Anonymous” were saved.")).to_be_visible()

    # A mistake is refused beside the field, and nothing is saved.
    page.get_by_label("Contact person (first name only)").first.fill("Chris Jones")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("First name only: one word")).to_be_visible()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    page.get_by_label("Contact person (first name only)").first.fill("Chris")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("were saved")).to_be_visible()

    page.get_by_role("button", name="Mark verified today").click()
    expect(page.get_by_text("was marked verified on")).to_be_visible()

    page.get_by_role("link", name="Worklist").click()
    stale = page.get_by_role("region", name="Not verified within a year")
    expect(stale.get_by_text("Every listing was verified within the last year.")).to_be_visible()

    group = Group.objects.get(pk=listing.pk)
    assert group.description.endswith("Newcomers welcome.")
    assert {need.slug for need in group.needs.all()} == {"anxiety"}
    assert group.last_verified_by == site_admin and group.last_verified_on > dt.date(2008, 11, 7)
    contact = group.contacts.get()
    assert (contact.extension, contact.person_first_name) == ("12", "Chris")
    assert group.meetings.get().type_codes == ["O", "X", "BE"]

    page.get_by_role("link", name="Emotions Anonymous").first.click()
    page.get_by_role("link", name="History").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("History: Emotions Anonymous")
    expect(page.get_by_text("Newcomers welcome.").first).to_be_visible()


# --- Accessibility --------------------------------------------------------------------------------


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


def assert_no_serious_violations(page: Page) -> None:
    page.wait_for_load_state("load")
    violations = axe.run(page).response["violations"]
    severe = [v for v in violations if v.get("impact") in SEVERE_IMPACTS]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} "
        + json.dumps([node.get("target") for node in v.get("nodes", [])[:3]])
        for v in severe
    ]
    assert not severe, f"axe on {page.url}:\n" + "\n".join(report)


@pytest.mark.parametrize("path", ["/directory/manage/", "edit", "history", "conflict"])
def test_pages_have_no_serious_accessibility_violations(
    scan_page, settings, site_admin, listing, path
):
    services.update_group(
        group=listing,
        version=Group.objects.get(pk=listing.pk).version,
        values={"fees_note": "None."},
        by=site_admin,
    )
    sign_in_as_site_admin(scan_page, settings, site_admin)
    if path == "conflict":
        # The 409 page: the edit page saved from a version someone else has moved on.
        scan_page.goto(f"/directory/{listing.slug}/edit/")
        group = Group.objects.get(pk=listing.pk)
        services.update_group(
            group=group, version=group.version, values={"name": "EA"}, by=site_admin
        )
        scan_page.get_by_label("Description").fill("Changed meanwhile.")
        scan_page.get_by_role("button", name="Save changes").click()
        expect(scan_page.get_by_text("Someone else saved this listing")).to_be_visible()
    elif path in ("edit", "history"):
        scan_page.goto(f"/directory/{listing.slug}/{path}/")
    else:
        scan_page.goto(path)
    assert_no_serious_violations(scan_page)


@pytest.mark.parametrize(
    "path",
    [
        "/directory/new/",
        "criteria",
        "flags/new",
        "flag-resolve",
        "/directory/resources/",
        "resource-edit",
    ],
)
def test_the_other_site_admin_pages_have_no_serious_accessibility_violations(
    scan_page, settings, site_admin, listing, path
):
    resource = ReferralResource.objects.create(key="share", name="SHARE!")
    ResourcePhone.objects.create(
        resource=resource, phone="+18777427349", as_printed="1-877-SHARE-49"
    )
    sign_in_as_site_admin(scan_page, settings, site_admin)
    if path == "flag-resolve":
        scan_page.goto(f"/directory/flags/{listing.review_flags.get().pk}/resolve/")
    elif path == "resource-edit":
        scan_page.goto(f"/directory/resources/{resource.key}/edit/")
    elif path.startswith("/"):
        scan_page.goto(path)
    else:
        scan_page.goto(f"/directory/{listing.slug}/{path}/")
    expect(scan_page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_violations(scan_page)
