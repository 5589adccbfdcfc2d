"""42 CFR Part 2 consents in Chromium: from the client's page, a refused form, a consent
recorded, its revocation; axe finds nothing serious or critical in any of those states."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clients.models import SubstanceUseConsent
from tests.browser.conftest import path_is, sign_in_with_password
from tests.browser.test_referrals_browser import Scans
from tests.factories.clients import ClientFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


def test_recording_and_revoking_a_consent(scan_page, settings, clinician):
    client = ClientFactory(
        clinic=clinician.clinic, created_by=clinician, first_name="Rosa", last_name="Alvarez"
    )
    page = scan_page
    scans = Scans(page)
    settings.REQUIRE_MFA = False
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/clinician/"))

    page.goto(f"/clients/{client.pk}/")
    page.get_by_role("link", name="42 CFR Part 2 consents").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("42 CFR Part 2 consents")
    expect(page.get_by_text("No consent is on file")).to_be_visible()
    scans.scan("no consent")

    page.get_by_role("button", name="Record the consent").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    scans.scan("refused (400)")

    page.get_by_label("Who may receive the information").fill("The clinic's health record")
    page.get_by_label("Purpose").fill("Treatment")
    page.get_by_label("Or ends with this event").fill("End of treatment")
    page.get_by_role("button", name="Record the consent").click()
    expect(page.get_by_role("table")).to_contain_text("In force")
    scans.scan("a consent in force")

    page.get_by_role("button", name="Record revocation").click()
    expect(page.get_by_role("table")).to_contain_text("Revoked")
    assert SubstanceUseConsent.objects.get(client=client).revoked_on is not None
    scans.scan("revoked")

    scans.check()
    assert len(scans.scanned) == 4
