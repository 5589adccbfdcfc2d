"""Signing in, two-factor enrolment and backup codes, lockout and sign-out, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

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

BASE32_GROUPS = re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{4})*$")
CSP_MARKERS = ("Content Security Policy", "Refused to")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_to_its_home(page, request, settings, role):
    settings.REQUIRE_MFA = False
    fixture, home_path, heading = ROLES[role]
    user = request.getfixturevalue(fixture)

    page.goto("/")
    expect(page).to_have_url(path_is(SIGN_IN_PATH))
    expect(page.locator(".demo-banner")).to_contain_text("two-factor sign-in is turned off")

    sign_in_response(page, user.username)

    expect(page).to_have_url(path_is(home_path))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator(".demo-banner")).to_contain_text("two-factor sign-in is turned off")


def test_two_factor_enrolment_then_a_backup_code(page, settings, clinician):
    settings.REQUIRE_MFA = True

    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/account/two-factor/setup/"))
    expect(page.locator(".demo-banner")).to_have_count(0)

    qr_code = page.locator("img.qr-code")
    expect(qr_code).to_be_visible()
    expect(qr_code).to_have_attribute("alt", re.compile("QR code"))
    expect(qr_code).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    secret = page.locator(".secret-key").inner_text().strip()
    assert BASE32_GROUPS.match(secret), f"secret key not in groups of 4 base32 chars: {secret!r}"

    page.get_by_label("Enrolment code").fill(issue_enrolment_code(user=clinician, by=None))
    page.get_by_label("Code from your authenticator app").fill(totp_code(key_from_secret(secret)))
    page.get_by_role("button", name="Confirm", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
    codes = page.locator(".backup-codes li")
    expect(codes).to_have_count(10)
    backup_codes = [code.strip() for code in codes.all_inner_texts()]
    assert len(set(backup_codes)) == 10 and all(backup_codes)

    page.get_by_role("link", name=re.compile("continue")).click()
    expect(page).to_have_url(path_is("/clinician/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician")

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is(SIGN_IN_PATH))

    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/account/two-factor/"))
    page.get_by_label("Code").fill(backup_codes[0])
    page.get_by_role("button", name="Continue", exact=True).click()

    expect(page).to_have_url(path_is("/clinician/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician")


def test_five_wrong_passwords_lock_the_account(page, settings, clinician):
    settings.REQUIRE_MFA = False
    page.goto(SIGN_IN_PATH)

    for attempt in range(1, 5):
        response = sign_in_response(page, clinician.username, "not the password")
        assert response.status == 200, f"attempt {attempt}"
        expect(page.get_by_text("do not match an active account")).to_be_visible()

    response = sign_in_response(page, clinician.username, "not the password")
    assert response.status == 429
    expect(page.get_by_role("heading", level=1)).to_have_text("Account locked")

    # The right password no longer opens a locked account.
    page.goto(SIGN_IN_PATH)
    response = sign_in_response(page, clinician.username)
    assert response.status == 429
    expect(page.get_by_role("heading", level=1)).to_have_text("Account locked")
    page.goto("/clinician/")
    expect(page).to_have_url(path_is(SIGN_IN_PATH))


def test_sign_out_from_the_header(page, settings, clinician):
    settings.REQUIRE_MFA = False
    sign_in_with_password(page, clinician.username)
    expect(page).to_have_url(path_is("/clinician/"))

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(path_is(SIGN_IN_PATH))
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_have_count(0)

    page.goto("/clinician/")
    expect(page).to_have_url(re.compile(re.escape(SIGN_IN_PATH) + r"\?next=/clinician/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_no_content_security_policy_violations(page, settings, supervisor):
    """The strict CSP holds: nothing on these pages is refused (no bypass_csp here)."""
    settings.REQUIRE_MFA = False
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

    page.goto(SIGN_IN_PATH)
    page.wait_for_load_state("networkidle")
    sign_in_response(page, supervisor.username)
    expect(page).to_have_url(path_is("/supervisor/"))
    page.wait_for_load_state("networkidle")
    # The menu button runs Bootstrap's script, which must work under the policy.
    page.set_viewport_size({"width": 500, "height": 800})
    page.get_by_role("button", name="Show or hide the menu").click()
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_be_visible()

    violations = [line for line in console if any(marker in line for marker in CSP_MARKERS)]
    assert not violations, "\n".join(violations)
    errors = [line for line in console if line.startswith(("error:", "pageerror:"))]
    assert not errors, "\n".join(errors)

    # Control: the same listener does see a violation, so the assertions above mean something.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.inlineRan = true'; document.body.append(s); }"
        )
    assert page.evaluate("() => window.inlineRan") is None
