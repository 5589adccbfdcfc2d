"""Anyone reads the public directory (VII.A) in a real browser, in English and in Spanish,
without signing in; staff print a clinic's waiting-room poster. axe finds nothing serious or
critical on any of these pages, and the pages run under the strict CSP without a refusal.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from directory.models import Meeting
from tests.browser.conftest import path_is, sign_in_with_password
from tests.browser.test_directory_browser import (  # noqa: F401 (a fixture)
    CSP_MARKERS,
    assert_no_serious_violations,
    listings,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def public_page(new_context, listings) -> Page:  # noqa: F811
    """An anonymous visitor under the CSP, with console errors and CSP refusals recorded."""
    page = new_context().new_page()
    page.console_lines = []
    page.on("console", lambda message: page.console_lines.append(message.text))
    page.on("pageerror", lambda error: page.console_lines.append(f"pageerror: {error}"))
    return page


def no_refusals(page: Page) -> None:
    bad = [
        line
        for line in page.console_lines
        if line.startswith("pageerror:") or any(m in line for m in CSP_MARKERS)
    ]
    assert not bad, "\n".join(bad)


def test_walk_the_public_directory_in_english_then_spanish(public_page, listings):  # noqa: F811
    page = public_page
    page.goto("/groups/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Self-help groups in Los Angeles County"
    )
    page.wait_for_load_state("networkidle")
    page.get_by_label("Help with").select_option("co-occurring")  # htmx, live
    expect(page.locator("#results article h3")).to_have_text(["Dual Recovery Anonymous"])
    expect(page).to_have_url(re.compile(r"/groups/\?.*need=co-occurring"))
    page.get_by_role("link", name="Dual Recovery Anonymous").click()
    expect(page).to_have_url(path_is("/groups/dual-recovery-anonymous/"))
    expect(page.get_by_role("heading", name="Meetings")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Thursday")).to_be_visible()
    expect(page.get_by_role("cell", name="7 p.m.–8:30 p.m.")).to_be_visible()

    page.get_by_role("link", name="Español").click()
    expect(page).to_have_url(path_is("/groups/es/dual-recovery-anonymous/"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Reuniones")).to_be_visible()
    expect(page.get_by_role("rowheader", name="jueves")).to_be_visible()
    page.get_by_role("link", name="Grupos de autoayuda").first.click()
    expect(page).to_have_url(path_is("/groups/es/"))
    page.wait_for_load_state("networkidle")
    page.get_by_label("Se reúne el").select_option(str(Meeting.Weekday.THURSDAY))
    expect(page.locator("#results article h3")).to_have_text(["Dual Recovery Anonymous"])
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    no_refusals(page)


def test_the_search_works_without_javascript(browser, live_server, listings):  # noqa: F811
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/groups/es/")
    page.get_by_label("Ayuda con").select_option("co-occurring")
    page.get_by_role("button", name="Buscar").click()
    expect(page).to_have_url(re.compile(r"/groups/es/\?.*need=co-occurring"))
    expect(page.locator("#results article h3")).to_have_text(["Dual Recovery Anonymous"])
    context.close()


@pytest.fixture
def scan(new_context, listings) -> Page:  # noqa: F811
    """An anonymous visitor in a context that bypasses the CSP, so that axe's script runs."""
    return new_context(bypass_csp=True).new_page()


@pytest.mark.parametrize(
    "path",
    [
        "/groups/",
        "/groups/?need=co-occurring&area=spa-8",
        "/groups/?weekday=9",  # the page with its error message
        "/groups/dual-recovery-anonymous/",
        "/groups/es/",
        "/groups/es/?need=depression",
        "/groups/es/?language=nonsense",
        "/groups/es/dual-recovery-anonymous/",
    ],
)
def test_no_serious_accessibility_violations(scan, path):
    scan.goto(path)
    expect(scan.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_violations(scan)


def test_the_poster_is_one_letter_page_and_accessible(new_context, settings, clinician, listings):  # noqa: F811
    settings.REQUIRE_MFA = False
    page = new_context(bypass_csp=True).new_page()
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/clinician/"))
    page.goto(f"/groups/poster/{clinician.clinic.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_count(2)
    expect(page.get_by_role("img", name=re.compile("QR"))).to_have_count(2)
    assert_no_serious_violations(page)
    pdf = page.pdf(format="Letter", prefer_css_page_size=True, print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the poster takes {pages} pages, not one"
    # Nothing cut off: as printed (7.5 x 10 in inside the margins, 96 px an inch), the last
    # line of each half lies inside its frame and the footer inside the page.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 720, "height": 960})
    for half in page.locator(".poster-half").all():
        frame = half.bounding_box()
        last = half.locator(".poster-ask").bounding_box()
        assert last["y"] + last["height"] <= frame["y"] + frame["height"]
    footer = page.locator(".poster-footer").bounding_box()
    assert footer["y"] + footer["height"] <= 960
    page.screenshot(path="/tmp/poster-print.png")
