"""Every page a clinician, a supervisor or a site admin opens fits a 390-pixel phone: no
sideways scrolling. The pages are the URL matrix's own (tests/security/url_matrix.py), each
opened by every one of the three roles it lets in, with the records of the matrix's world."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error, Page

from tests.browser.conftest import sign_in_with_password
from tests.security import url_matrix as m
from tests.security.world import build_world

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ROLES = ("clinician", "supervisor", "site_admin")
# What a browser does not lay out as a page: downloads and feeds.
NOT_PAGES = ("text/csv", "text/plain", "application/json", "application/vnd", "image/")


def overflow(page: Page) -> int:
    """How far the page reaches past the viewport's right edge, in CSS pixels."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def widest(page: Page) -> str:
    """The element that reaches furthest right, to say what to fix."""
    return page.evaluate(
        """() => { let worst = null, right = 0;
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect().right;
          if (r > right + 0.5) { right = r; worst = el; } }
        return worst ? worst.outerHTML.slice(0, 160) + ' (' + Math.round(right) + ' px)' : ''; }"""
    )


def test_no_page_scrolls_sideways_on_a_phone(
    new_context, settings, clinic, clinician, supervisor, site_admin
):
    settings.REQUIRE_MFA = False
    world = build_world(clinic=clinic, clinician=clinician)
    people = {"clinician": clinician, "supervisor": supervisor, "site_admin": site_admin}
    problems, walked = [], 0
    for role in ROLES:
        page = new_context(viewport=PHONE).new_page()
        sign_in_with_password(page, people[role].username)
        for name, route in sorted(m.MATRIX.items()):
            if route.expected("GET")[role] != m.ALLOWED:
                continue
            url = world.url(name, route)
            query = world.query(route)
            if query:
                url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
            try:
                response = page.goto(url)
            except Error as error:
                if "Download is starting" in str(error):
                    continue  # a file to save (a CSV, the note as text), not a page
                raise
            kind = (response.headers.get("content-type", "") if response else "") or ""
            if any(kind.startswith(t) for t in NOT_PAGES) or "html" not in kind:
                continue
            walked += 1
            past = overflow(page)
            if past > 0:
                problems.append(f"{role} {name} {url}: {past} px too wide; {widest(page)}")
        page.context.close()
    print(f"phone width: {walked} pages at 390 px, {len(problems)} too wide")
    assert walked > 30
    assert not problems, "\n".join(problems)
