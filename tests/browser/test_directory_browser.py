"""A clinician reads the annotated referral list in a real browser (policy VII.C–D): searches
(live with htmx, and without JavaScript), opens a listing, prints the list; axe finds nothing
serious or critical on those pages.

axe's script is injected into the page, which the strict Content-Security-Policy forbids, so
the scans (and only they) run in a context that bypasses the CSP; the other tests run under the
policy and fail on any refusal.
"""

import json
import re
from datetime import date, time

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from directory.models import (
    Category,
    Contact,
    Format,
    Group,
    Language,
    Meeting,
    Need,
    ReferralResource,
    ResourcePhone,
    ServiceArea,
)
from tests.browser.conftest import path_is, sign_in_with_password

pytestmark = pytest.mark.browser

SEVERE_IMPACTS = {"serious", "critical"}
CSP_MARKERS = ("Content Security Policy", "Refused to")

axe = Axe()


@pytest.fixture
def listings(db):
    """A few listings of the appendix's kind, with contacts, a meeting and the resources."""
    twelve = Category.objects.create(
        slug="twelve-step-mh", name="Twelve-Step Groups for Mental Health Consumers", order=1
    )
    family = Category.objects.create(
        slug="family", name="Self-help groups for family members", order=5
    )
    co_occurring = Need.objects.create(slug="co-occurring", name="Co-occurring substance use")
    depression = Need.objects.create(slug="depression", name="Depression")
    families = Need.objects.create(slug="family", name="Families of people with mental illness")
    metro = ServiceArea.objects.create(slug="spa-4", name="SPA 4 Metro", kind="spa", spa_number=4)
    harbor = ServiceArea.objects.create(
        slug="spa-8", name="SPA 8 South Bay/Harbor", kind="spa", spa_number=8
    )
    english = Language.objects.create(code="en", name="English")

    dra = Group.objects.create(
        slug="dual-recovery-anonymous",
        name="Dual Recovery Anonymous",
        format=Format.TWELVE_STEP_MH,
        is_twelve_step=True,
        description="For people who live with a mental illness and an addiction.",
        etiquette_note="Share about yourself only; use first names.",
        last_verified_on=date(2008, 11, 7),
    )
    dra.categories.add(twelve)
    dra.needs.add(co_occurring)
    for order, (number, ext, label, area) in enumerate(
        [
            ("+13103058878", "", "Los Angeles", metro),
            ("+13237770130", "223", "Los Angeles", metro),
            ("+15624368585", "291", "Long Beach", harbor),
        ]
    ):
        contact = Contact.objects.create(
            group=dra, kind="phone", phone=number, extension=ext, area_label=label, order=order
        )
        contact.service_areas.add(area)
    Contact.objects.create(group=dra, kind="web", url="http://www.draonline.org", order=9)
    Meeting.objects.create(
        group=dra,
        weekday=Meeting.Weekday.THURSDAY,
        start_time=time(19, 0),
        end_time=time(20, 30),
        location_name="Friendship Hall",
        address="123 Main St, Los Angeles, CA 90012",
        service_area=metro,
        language=english,
        type_codes=["O", "BE"],
    )

    depression_anonymous = Group.objects.create(
        slug="depression-anonymous",
        name="Depression Anonymous",
        format=Format.TWELVE_STEP_MH,
        is_twelve_step=True,
        last_verified_on=date(2008, 11, 7),
    )
    depression_anonymous.categories.add(twelve)
    depression_anonymous.needs.add(depression)
    Contact.objects.create(group=depression_anonymous, kind="phone", phone="+13103058878")

    nami = Group.objects.create(
        slug="nami",
        name="National Alliance for the Mentally Ill (NAMI)",
        format=Format.FAMILY,
        medication_stance=Group.MedicationStance.AFFIRMING,
    )
    nami.categories.add(family)
    nami.needs.add(families)
    Contact.objects.create(group=nami, kind="phone", phone="+12136320782")

    share = ReferralResource.objects.create(
        key="share", name="SHARE! the Self-Help And Recovery Exchange"
    )
    ResourcePhone.objects.create(resource=share, phone="+18777427349", as_printed="1-877-SHARE-49")
    friendship = ReferralResource.objects.create(
        key="friendship-line", name="Friendship Line", hours="6:00 p.m.–10:00 p.m."
    )
    ResourcePhone.objects.create(resource=friendship, phone="+18884489777")
    return dra


@pytest.fixture
def clinician_page(page, settings, clinician, listings) -> Page:
    """A clinician signed in (two-factor off, as in the demo), watching for CSP refusals."""
    settings.REQUIRE_MFA = False
    page.console_lines = []
    page.on("console", lambda message: page.console_lines.append(message.text))
    page.on("pageerror", lambda error: page.console_lines.append(f"pageerror: {error}"))
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/clinician/"))
    return page


def assert_no_csp_refusals(page: Page) -> None:
    refused = [line for line in page.console_lines if any(m in line for m in CSP_MARKERS)]
    errors = [line for line in page.console_lines if line.startswith("pageerror:")]
    assert not refused and not errors, "\n".join(refused + errors)


def results(page: Page):
    return page.locator("#results article h3")


def test_search_live_with_htmx_then_open_a_group(clinician_page):
    page = clinician_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Self-help groups").click()
    expect(page).to_have_url(path_is("/directory/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-help groups")
    expect(results(page)).to_have_count(3)
    page.wait_for_load_state("networkidle")
    page.evaluate("() => { window.stillTheSamePage = true }")

    # Typing filters the results as the clinician types: htmx swaps the results in place.
    page.get_by_label("Search", exact=True).press_sequentially("co-occurring", delay=20)
    expect(results(page)).to_have_count(1)
    expect(results(page)).to_have_text("Dual Recovery Anonymous")
    expect(page).to_have_url(re.compile(r"/directory/\?q=co-occurring"))
    expect(page.get_by_role("status").filter(has_text="found")).to_have_text("1 listing found.")
    listing = page.locator("#results article")
    expect(listing).to_contain_text("(323) 777-0130 ext. 223")
    expect(listing).to_contain_text("(562) 436-8585 ext. 291")
    expect(listing).to_contain_text("Not verified since November 7, 2008")

    # A filter: the Long Beach number only, for SPA 8.
    page.get_by_label("Service area").select_option("spa-8")
    expect(page).to_have_url(re.compile(r"area=spa-8"))
    expect(listing).to_contain_text("Contacts for SPA 8 South Bay/Harbor")
    expect(listing).not_to_contain_text("(323) 777-0130")
    expect(listing).to_contain_text("(562) 436-8585 ext. 291")
    assert page.evaluate("() => window.stillTheSamePage") is True  # no reload: htmx did it

    page.get_by_role("link", name="Dual Recovery Anonymous").click()
    expect(page).to_have_url(path_is("/directory/dual-recovery-anonymous/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dual Recovery Anonymous")
    meetings = page.get_by_role("table", name="Weekly meetings of Dual Recovery Anonymous")
    expect(meetings).to_contain_text("Thursday")
    expect(meetings).to_contain_text("7:00 p.m.–8:30 p.m.")
    expect(meetings).to_contain_text("Open, Newcomer")
    expect(page.get_by_text("Share about yourself only; use first names.")).to_be_visible()

    # Back to the filtered results.
    page.go_back()
    expect(page).to_have_url(re.compile(r"area=spa-8"))
    expect(results(page)).to_have_text(["Dual Recovery Anonymous"])
    assert_no_csp_refusals(page)


def test_search_without_javascript(browser, live_server, settings, clinician, listings):
    settings.REQUIRE_MFA = False
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in_with_password(page, clinician.username)
        page.goto("/directory/")
        page.get_by_label("Search", exact=True).fill("depression")
        page.get_by_label(re.compile("Only groups known to affirm")).check()
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page).to_have_url(re.compile(r"q=depression"))
        expect(page.get_by_role("heading", level=2, name=re.compile("listing"))).to_have_text(
            "0 listings"
        )
        page.get_by_label(re.compile("Only groups known to affirm")).uncheck()
        page.get_by_role("button", name="Search", exact=True).click()
        expect(results(page)).to_have_text(["Depression Anonymous"])
    finally:
        context.close()


def test_a_bad_filter_says_what_is_wrong(clinician_page):
    page = clinician_page
    response = page.goto("/directory/?weekday=9")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("Please correct the filters")
    expect(page.get_by_role("alert")).to_contain_text("Meets on")


def test_print_the_list(clinician_page):
    page = clinician_page
    page.goto("/directory/")
    page.get_by_role("link", name="Printable list").click()
    expect(page).to_have_url(path_is("/directory/print/"))
    headings = page.get_by_role("heading", level=2)
    expect(headings).to_have_text(
        [
            "Twelve-Step Groups for Mental Health Consumers",
            "Self-help groups for family members",
            re.compile("Referral resources"),
        ]
    )
    expect(page.get_by_text(re.compile(r"Printed on"))).to_be_visible()
    expect(page.get_by_text("Hours: 6:00 p.m.–10:00 p.m.")).to_be_visible()

    # On paper: the menus and page links are gone, the listings and resources stay.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.get_by_role("heading", name="Dual Recovery Anonymous")).to_be_visible()
    expect(page.get_by_text("(323) 777-0130 ext. 223")).to_be_visible()
    pdf = page.pdf(format="Letter")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    assert_no_csp_refusals(page)


# --- Accessibility -------------------------------------------------------------------------------


@pytest.fixture
def scan_page(new_context, settings, clinician, listings) -> Page:
    """A signed-in clinician in a context that bypasses the CSP, so that axe's script runs."""
    settings.REQUIRE_MFA = False
    page = new_context(bypass_csp=True).new_page()
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/clinician/"))
    return page


def assert_no_serious_violations(page: Page) -> None:
    page.wait_for_load_state("load")  # stylesheets applied: colour contrast depends on them
    violations = axe.run(page).response["violations"]
    severe = [v for v in violations if v.get("impact") in SEVERE_IMPACTS]
    lines = [f"{len(severe)} serious or critical axe violation(s) on {page.url}:"]
    for violation in severe:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation.get("nodes", [])[:3]:
            lines.append(f"    {json.dumps(node.get('target'))} {node.get('html', '')[:160]}")
    assert not severe, "\n".join(lines)


@pytest.mark.parametrize(
    "path",
    [
        "/directory/",
        "/directory/?q=co-occurring&area=spa-8",
        "/directory/?weekday=9",  # the page with its error message
        "/directory/dual-recovery-anonymous/",
        "/directory/print/",
    ],
)
def test_no_serious_accessibility_violations(scan_page, path):
    scan_page.goto(path)
    expect(scan_page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_violations(scan_page)


def test_no_serious_accessibility_violations_after_a_live_update(scan_page):
    scan_page.goto("/directory/")
    scan_page.wait_for_load_state("networkidle")
    scan_page.get_by_label("Need").select_option("depression")
    expect(results(scan_page)).to_have_text(["Depression Anonymous"])
    assert_no_serious_violations(scan_page)
