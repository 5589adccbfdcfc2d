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

from tests.factories.accounts import PASSWORD

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
    """Every context opens the live server's pages by path: page.goto("/").

    With reduced motion, as a person may ask of their browser: Bootstrap then drops its
    transitions, so an axe scan right after a click (an in-place save) sees each colour as it
    settles, not a button half-way through its 0.15 s change (a contrast that lasts a frame).
    """
    return {**browser_context_args, "base_url": live_server.url, "reduced_motion": "reduce"}


@pytest.fixture(scope="session")
def _close_connections_before_playwright_stops(playwright):
    """Close, at the end, the database connections opened while Playwright's loop ran.

    While the loop runs, Django keeps connections in a slot of their own (see
    ``_migrated_data``); once Playwright stops, that slot is out of reach and its connection
    stays open, so PostgreSQL would refuse to drop the test database. This is torn down just
    before Playwright is.
    """
    yield
    from django.db import connections

    connections.close_all()


@pytest.fixture(scope="package")
def _migrated_data(_close_connections_before_playwright_stops, django_db_setup, django_db_blocker):
    """Keep the data the migrations made (the roles, above all) for every test.

    The live server needs a transactional database, and each transactional test ends by
    emptying every table. Serialized rollback puts back a snapshot of the migrated database at
    the start of each browser test, but two things break it here, and this fixture mends both:

    - Playwright's sync API keeps an asyncio loop running in the main thread, and while a loop
      runs Django keeps database connections in another, context-local slot (the connection
      handler is an asgiref ``Local(thread_critical=True)``). The tests then use a new
      connection object without the snapshot Django took when it created the test database
      (``_test_serialized_contents``), and serialized rollback would silently restore nothing.
      So take the snapshot again on that connection, before any browser test has emptied the
      database: pytest-django runs the transactional tests after all the tests that use
      ``db``, which roll back, so the database is still as the migrations left it.
    - pytest-django runs tests that reach the database only through ``getfixturevalue`` after
      the transactional ones, and they expect the roles. So when the browser tests are done,
      put the snapshot back once more.
    """
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in connections:
            connection = connections[alias]
            if not hasattr(connection, "_test_serialized_contents"):
                connection._test_serialized_contents = connection.creation.serialize_db_to_string()
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connection = connections[alias]
            connection.creation.deserialize_db_from_string(connection._test_serialized_contents)


@pytest.fixture(autouse=True)
def _browser_test(chromium_path, _migrated_data, live_server, django_db_serialized_rollback):
    """Each browser test: Chromium present (else skip or fail), live server, fresh database.

    (Fast password hashing comes from tests/conftest.py, for the live server's thread too.)
    """


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
