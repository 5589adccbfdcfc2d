"""Scale-out: two application servers on one PostgreSQL database behave as one.

All state, sessions included, lives in the database, so a load balancer may send any request to
any server. Two real gunicorn servers on the test database are driven over HTTP, alternately:
the password on A and the second factor on B; a client created on A is read and edited on B; a
form loaded on A before that edit is refused on A with 409; signing out on B ends it on A.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> make test \
        PYTEST_ARGS="tests/security/test_scale_out.py"
"""

import html
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from http.cookies import SimpleCookie

import pytest
from django.conf import global_settings
from django.db import connection
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, Role
from clients.models import Client
from tests.factories.accounts import PASSWORD, ClinicFactory, UserFactory
from tests.integration.core.test_views import ROOT, free_port

SESSION_COOKIE = "selfhelp_session"
SECRET_KEY = "scale-out-test-key-shared-by-both-servers-" + "k" * 20  # noqa: S105


@pytest.fixture(scope="module", autouse=True)
def restore_migrated_data(django_db_setup, django_db_blocker):
    """Put the migrations' rows (the roles) back after the transactional test emptied them."""
    yield
    from django.contrib.auth.models import Group as AuthGroup

    with django_db_blocker.unblock():
        snapshot = getattr(connection, "_test_serialized_contents", None)
        if snapshot and not AuthGroup.objects.exists():
            connection.creation.deserialize_db_from_string(snapshot)


def database_url() -> str:
    """The test database (pytest-django's test_<name>), as DATABASE_URL for the servers."""
    settings = connection.settings_dict
    user = urllib.parse.quote(settings.get("USER") or "", safe="")
    password = settings.get("PASSWORD")
    secret = f":{urllib.parse.quote(password, safe='')}" if password else ""
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    name = urllib.parse.quote(settings["NAME"], safe="")
    return f"postgres://{user}{secret}@{settings.get('HOST') or ''}{port}/{name}"


def start_server(stack: ExitStack, log_path) -> str:
    """A gunicorn server as production runs it (DEBUG off, two-factor on); its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",  # no connection outlives the test, so the test database can go
        "DEBUG": "0",
        "REQUIRE_MFA": "1",
        "SECRET_KEY": SECRET_KEY,  # the same on every server, as a deployment must have it
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS_ONLY": "0",  # plain HTTP on the loopback; cookies work the same way otherwise
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }
    log = stack.enter_context(open(log_path, "wb"))  # noqa: SIM115 (closed by the stack)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop():
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    return f"http://127.0.0.1:{port}"


def wait_until_healthy(base: str, log_path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    pytest.fail(f"{base} did not answer /healthz: {log_path.read_text(errors='replace')[-2000:]}")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx comes back as it is, so the test sees where it points


class Browser:
    """One browser: one cookie store, whichever server answers (a load balancer's view)."""

    def __init__(self):
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(NoRedirects)

    def request(self, base: str, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        request = urllib.request.Request(base + path, data=body, headers=headers)  # noqa: S310
        try:
            response = self.opener.open(request, timeout=20)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or not morsel.value or morsel.value == '""':
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, response.headers.get("Location", ""), response.read().decode()

    def get(self, base, path):
        return self.request(base, path)

    def post_form(self, base, path, data):
        """Load the form page, then post it with its CSRF token, as a person would."""
        status, _, page = self.get(base, path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return self.request(base, path, {"csrfmiddlewaretoken": token, **data})


def totp_code(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows now, as the sign-in tests compute it."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def page_text(page: str) -> str:
    return html.unescape(page)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two servers share PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the servers see commits
def test_two_servers_share_sign_in_sessions_and_data(settings, tmp_path):
    # The servers hash passwords as production does (the suite's fast MD5 is not among them).
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    clinic = ClinicFactory(name="Scale-out Clinic")
    user = UserFactory(username="scale-clinician", clinic=clinic, roles=[Role.CLINICIAN])
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)

    with ExitStack() as stack:
        logs = [tmp_path / "server-a.log", tmp_path / "server-b.log"]
        a, b = (start_server(stack, log) for log in logs)
        for base, log in zip((a, b), logs, strict=True):
            wait_until_healthy(base, log)
        browser = Browser()

        # Password on A: the session (second factor pending) is written to the database.
        status, location, _ = browser.post_form(
            a, "/account/sign-in/", {"username": user.username, "password": PASSWORD}
        )
        assert (status, location) == (302, "/")
        # B knows that session: it asks for the second factor, not for a password.
        status, location, _ = browser.get(b, "/")
        assert (status, location) == (302, "/account/two-factor/")

        # The second factor on B, with the same cookie: B finds that session.
        status, location, _ = browser.post_form(
            b, "/account/two-factor/", {"token": totp_code(device)}
        )
        assert (status, location) == (302, "/"), logs[1].read_text(errors="replace")
        # Fully signed in, on A too: the same session, verified on B, read from the database.
        assert SESSION_COOKIE in browser.cookies
        status, _, page = browser.get(a, "/clinician/")
        assert status == 200
        assert user.username in page or user.first_name in page_text(page)

        # A write on A is seen on B.
        status, location, _ = browser.post_form(
            a,
            "/clients/new/",
            {
                "record_number": "2468013",
                "first_name": "Inés",
                "last_name": "Scaleout",
                "preferred_language": "es",
                "primary_clinician": str(user.pk),
            },
        )
        assert status == 302, "create on A"
        created = Client.objects.get(clinic=clinic, record_number="2468013")
        assert location == f"/clients/{created.pk}/"
        status, _, page = browser.get(b, location)
        assert status == 200
        assert "Inés" in page_text(page) and "Scaleout" in page_text(page)

        # A form loaded on A, then an edit saved on B, read on A.
        stale_status, _, stale_form = browser.get(a, f"/clients/{created.pk}/edit/")
        assert stale_status == 200
        stale_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', stale_form)[1]
        edit = {
            "record_number": "2468013",
            "first_name": "Inés",
            "last_name": "Scaleout-Edited",
            "preferred_language": "es",
            "primary_clinician": str(user.pk),
            "version": "1",
        }
        status, _, _ = browser.post_form(b, f"/clients/{created.pk}/edit/", edit)
        assert status == 302, "edit on B"
        status, _, page = browser.get(a, f"/clients/{created.pk}/")
        assert status == 200 and "Scaleout-Edited" in page_text(page)

        # The form A served before that edit is refused on A: the lock lives in the database.
        status, _, page = browser.request(
            a,
            f"/clients/{created.pk}/edit/",
            {**edit, "last_name": "Stale", "csrfmiddlewaretoken": stale_token},
        )
        assert status == 409
        created.refresh_from_db()
        assert (created.last_name, created.version) == ("Scaleout-Edited", 2)

        # Signing out on B ends the session on A as well.
        status, _, _ = browser.post_form(b, "/account/sign-out/", {})
        assert status == 302
        status, location, _ = browser.get(a, "/clinician/")
        assert status == 302 and location.startswith("/account/sign-in/")

    # Both servers wrote to the one access log.
    actions = list(
        AccessEvent.objects.filter(user=user).order_by("id").values_list("action", flat=True)
    )
    assert actions[:2] == ["sign-in", "sign-in"]  # password (on A), second factor (on B)
    assert "create" in actions and actions[-1] == "sign-out"
