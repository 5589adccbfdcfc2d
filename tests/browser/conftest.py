"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Playwright never downloads a browser here. The Chromium used is, in order: the CHROMIUM_PATH
environment variable, /usr/bin/chromium, or ``chromium`` on PATH. Without one every browser
test is skipped with the reason, or fails when REQUIRE_BROWSER=1 (CI, where a silent skip
would hide that nothing ran).

Every test runs on a transactional database (the live server answers from another thread)
with serialized rollback, so that the roles created by the migrations are back for each test
and for any test that runs after these.
"""

import os
import re
import shutil
from base64 import b32decode
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, Response, expect

from tests.factories import PASSWORD

DEBIAN_CHROMIUM = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SIGN_IN_PATH = "/account/sign-in/"

# Each role: the fixture that makes such a user, the path of the role's home, its h1.
ROLES = {
    "clinician": ("clinician", "/clinician/", "Clinician"),
    "supervisor": ("supervisor", "/supervisor/", "Supervisor"),
    "site-admin": ("site_admin", "/site-admin/", "Site admin"),
}


def _executable(path: str | None) -> str | None:
    if path and Path(path).is_file() and os.access(path, os.X_OK):
        return path
    return None


def find_chromium() -> tuple[str | None, str]:
    """The Chromium to launch, and where it was looked for (for the skip or failure message)."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        return _executable(configured), f"CHROMIUM_PATH={configured}"
    found = _executable(DEBIAN_CHROMIUM) or _executable(shutil.which("chromium"))
    return found, f"{DEBIAN_CHROMIUM} and `chromium` on PATH"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path, searched = find_chromium()
    if path is None:
        message = (
            "Chromium not found: install Debian's chromium package (apt-get install chromium) "
            f"or set CHROMIUM_PATH to a Chromium executable (looked at {searched}). "
            "Playwright never downloads a browser for these tests."
        )
        if os.environ.get("REQUIRE_BROWSER", "").strip() == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_path):
    """pytest-playwright's launch options, pointed at the system's Chromium."""
    return {
        "headless": True,  # --headed (pytest-playwright's option) still wins, for debugging
        **browser_type_launch_args,
        "executable_path": chromium_path,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    """Every context opens the live server's pages by path: page.goto("/")."""
    return {**browser_context_args, "base_url": live_server.url}


@pytest.fixture(autouse=True)
def _browser_test(chromium_path, live_server, django_db_serialized_rollback):
    """Each browser test: Chromium present (else skip or fail), live server, fresh database."""


def sign_in_response(page: Page, username: str, password: str = PASSWORD) -> Response:
    """Fill and send the sign-in form on the current page; the response to the POST."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.split("?")[0].endswith(SIGN_IN_PATH)
    ) as response:
        page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    return response.value


def sign_in_with_password(page: Page, username: str, password: str = PASSWORD) -> None:
    """Open the site's front door and sign in with a password, as a person would."""
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(SIGN_IN_PATH)))
    sign_in_response(page, username, password)


def totp_code(key: bytes) -> str:
    """The code an authenticator app shows now for this key."""
    return f"{TOTP(key).token():06d}"


def key_from_secret(secret_text: str) -> bytes:
    """The key from the setup page's grouped base32 text ("ABCD EFGH ...")."""
    return b32decode("".join(secret_text.split()))


def path_is(path: str) -> re.Pattern:
    """A URL pattern matching exactly this path, with any query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")
