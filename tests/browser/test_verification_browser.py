"""One verification call end to end in Chromium (VII.D, VI.C, II.A–H): the site admin opens
the queue, picks the listing, calls (the tel: link), records the group's answers and a
meeting on the one screen at phone width, and the listing is current. axe finds nothing
serious or critical on the queue, the call screen, the progress page, the change-request
review, and the public suggest-a-change form.
"""

import datetime as dt
import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from directory.models import ChangeRequest, Contact, CriterionConfirmation, Format, Group
from directory.services import listings as services
from tests.browser.conftest import path_is, sign_in_with_password
from tests.factories.directory import CategoryFactory, LanguageFactory

pytestmark = pytest.mark.browser

SEVERE_IMPACTS = {"serious", "critical"}
PHONE = {"width": 390, "height": 844}

axe = Axe()


@pytest.fixture
def listing(site_admin):
    """As seeded: unverified since 2008, stance not known, no criterion confirmed, no meeting."""
    category = CategoryFactory(slug="twelve-step-mh", name="Twelve-step groups")
    LanguageFactory(code="en", name="English")
    group = services.create_group(
        values={
            "name": "Emotions Anonymous",
            "format": Format.TWELVE_STEP_MH,
            "is_twelve_step": True,
            "categories": [category],
        },
        contacts=[
            services.RowEdit(pk=None, values={"kind": Contact.Kind.PHONE, "phone": "+18183774341"})
        ],
        by=site_admin,
    )
    services.verify_group(group=group, by=site_admin, on=dt.date(2008, 11, 7))
    return group


def sign_in_as_site_admin(page: Page, settings, user) -> None:
    settings.REQUIRE_MFA = False
    sign_in_with_password(page, user.username)
    expect(page).to_have_url(path_is("/site-admin/"))


def test_one_verification_call_end_to_end_at_phone_width(page, settings, site_admin, listing):
    page.set_viewport_size(PHONE)
    sign_in_as_site_admin(page, settings, site_admin)
    page.get_by_role("link", name="Verification calls").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verification calls")
    expect(
        page.get_by_text("Never verified").or_(page.get_by_text("Last verified"))
    ).to_be_visible()
    page.get_by_role("link", name="Emotions Anonymous", exact=True).click()

    expect(page).to_have_url(path_is(f"/directory/{listing.slug}/call/"))
    call = page.get_by_role("link", name="Call (818) 377-4341")
    expect(call).to_have_attribute("href", "tel:+18183774341")
    expect(
        page.get_by_text("Do members ever encourage others to stop psychiatric medication?").first
    ).to_be_visible()

    page.get_by_label("Reached the group").check()
    page.get_by_label("Who answered").fill("the secretary")
    encourage = page.get_by_role(
        "group", name="Do members ever encourage others to stop psychiatric medication?"
    )
    encourage.get_by_label("No", exact=True).check()
    members = page.get_by_role(
        "group", name="Are people who take prescribed psychiatric medication full members?"
    )
    members.get_by_label("Yes", exact=True).check()
    for letter in "ABCDEFGH":
        criterion = page.get_by_role("group", name=re.compile(rf"^II\.{letter} "))
        criterion.get_by_label("Meets", exact=True).check()
    page.get_by_label("Dues and fees").fill("No dues.")
    page.get_by_role("checkbox", name="English").check()
    page.get_by_label("Weekday").first.select_option("Tuesday")
    page.get_by_label("Starts at").first.fill("19:00")
    page.get_by_label("Address").first.fill("1020 N Brand Blvd, Glendale, CA 91202")
    page.get_by_role("button", name="Save the call").click()

    expect(page.get_by_text("“Emotions Anonymous” is verified and current")).to_be_visible()
    expect(page.get_by_text("Current until")).to_be_visible()
    group = Group.objects.get(pk=listing.pk)
    assert group.last_verified_by == site_admin and group.last_verified_on > dt.date(2026, 1, 1)
    assert group.medication_stance == Group.MedicationStance.AFFIRMING
    assert set(group.criteria.values_list("status", flat=True)) == {
        CriterionConfirmation.Status.MEETS
    }
    assert group.meetings.get().address == "1020 N Brand Blvd, Glendale, CA 91202"
    assert group.verification_calls.get().spoke_with == "the secretary"


# --- Accessibility -----------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "path", ["/referrals/verification-queue/", "call", "/directory/progress/", "review"]
)
def test_the_site_admin_pages_have_no_serious_accessibility_violations(
    scan_page, settings, site_admin, listing, path
):
    change = ChangeRequest.objects.create(
        group=listing, source="public-form", proposed={"phone": "(213) 555-0134"}
    )
    sign_in_as_site_admin(scan_page, settings, site_admin)
    if path == "call":
        scan_page.goto(f"/directory/{listing.slug}/call/")
    elif path == "review":
        scan_page.goto(f"/directory/changes/{change.pk}/")
    else:
        scan_page.goto(path)
    expect(scan_page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_violations(scan_page)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_public_form_has_no_serious_accessibility_violations(scan_page, listing, lang):
    scan_page.goto(f"/groups/{listing.slug}/suggest/?lang={lang}")
    expect(scan_page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_violations(scan_page)
