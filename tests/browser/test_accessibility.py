"""Accessibility: axe-core finds nothing serious or critical on the sign-in pages and homes.

axe's script is injected into the page, which the strict Content-Security-Policy forbids, so
the scans (and only they) run in a browser context that bypasses the CSP; test_sign_in checks
the policy itself in a normal context. Nothing is excluded from a scan.
"""

import json
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accounts.models import SignInLock
from accounts.services.two_factor import issue_enrolment_code
from tests.browser.conftest import (
    ROLES,
    SIGN_IN_PATH,
    key_from_secret,
    path_is,
    sign_in_response,
    sign_in_with_password,
    totp_code,
)

pytestmark = pytest.mark.browser

SEVERE_IMPACTS = {"serious", "critical"}
NODES_SHOWN = 3

axe = Axe()


@pytest.fixture
def page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


def describe(violations: list[dict], url: str) -> str:
    lines = [f"{len(violations)} serious or critical axe violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation.get('helpUrl', '')}>"
        )
        for node in violation.get("nodes", [])[:NODES_SHOWN]:
            lines.append(f"    target {json.dumps(node.get('target'))}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"      {summary}")
            lines.append(f"      {node.get('html', '')[:200]}")
        hidden = len(violation.get("nodes", [])) - NODES_SHOWN
        if hidden > 0:
            lines.append(f"    ... and {hidden} more element(s)")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page) -> None:
    page.wait_for_load_state("load")  # stylesheets applied: colour contrast depends on them
    violations = axe.run(page).response["violations"]
    severe = [v for v in violations if v.get("impact") in SEVERE_IMPACTS]
    if severe:
        report = describe(severe, page.url)
        print(report)
        pytest.fail(report, pytrace=False)


def sign_in_with_app(page: Page, user) -> None:
    """Both factors, as an enrolled person signs in with two-factor on."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    sign_in_with_password(page, user.username)
    expect(page).to_have_url(path_is("/account/two-factor/"))
    page.get_by_label("Code").fill(totp_code(device.bin_key))
    page.get_by_role("button", name="Continue", exact=True).click()


@pytest.mark.parametrize("require_mfa", [True, False], ids=["mfa-on", "mfa-off-with-banner"])
def test_sign_in_page(page, settings, require_mfa):
    settings.REQUIRE_MFA = require_mfa
    page.goto(SIGN_IN_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_no_serious_violations(page)


def test_sign_in_page_with_an_error(page, settings, clinician):
    settings.REQUIRE_MFA = True
    page.goto(SIGN_IN_PATH)
    sign_in_response(page, clinician.username, "not the password")
    expect(page.get_by_text("do not match an active account")).to_be_visible()
    assert_no_serious_violations(page)


def test_two_factor_setup_and_backup_codes_pages(page, settings, clinician):
    settings.REQUIRE_MFA = True
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/account/two-factor/setup/"))
    assert_no_serious_violations(page)

    secret = page.locator(".secret-key").inner_text()
    page.get_by_label("Enrolment code").fill(issue_enrolment_code(user=clinician, by=None))
    page.get_by_label("Code from your authenticator app").fill(totp_code(key_from_secret(secret)))
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
    assert_no_serious_violations(page)


def test_supervisor_home_with_a_locked_account_and_an_enrolment_code(
    page, settings, supervisor, clinician
):
    settings.REQUIRE_MFA = True
    SignInLock.objects.create(
        username=clinician.username,
        failures=0,
        lockouts=1,
        last_failure_at=timezone.now(),
        locked_until=timezone.now() + timedelta(minutes=5),
    )
    sign_in_with_app(page, supervisor)
    expect(page.get_by_text("Locked until")).to_be_visible()
    assert_no_serious_violations(page)
    page.get_by_role("button", name=f"Issue enrolment code for {clinician.username}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrolment code")
    assert_no_serious_violations(page)


def test_locked_out_page(page, settings, clinician):
    settings.REQUIRE_MFA = False
    page.goto(SIGN_IN_PATH)
    for _ in range(5):
        sign_in_response(page, clinician.username, "not the password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Account locked")
    assert_no_serious_violations(page)


def test_two_factor_page(page, settings, clinician):
    settings.REQUIRE_MFA = True
    TOTPDevice.objects.create(user=clinician, name="Authenticator app", confirmed=True)
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/account/two-factor/"))
    assert_no_serious_violations(page)


@pytest.mark.parametrize("role", ROLES)
def test_role_home(page, request, settings, role):
    settings.REQUIRE_MFA = True
    fixture, home_path, heading = ROLES[role]
    user = request.getfixturevalue(fixture)

    sign_in_with_app(page, user)

    expect(page).to_have_url(path_is(home_path))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_no_serious_violations(page)


def test_about_page(page, settings, clinician):
    settings.REQUIRE_MFA = True
    sign_in_with_app(page, clinician)
    page.goto("/about/")
    expect(page.get_by_role("heading", level=1)).to_have_text("About this service")
    assert_no_serious_violations(page)
