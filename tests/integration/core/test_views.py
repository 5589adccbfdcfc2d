"""/healthz both ways, the 503 page when the database is down, the friendly error pages."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

ROOT = Path(__file__).resolve().parents[3]


def database_down():
    return mock.patch.object(
        BaseDatabaseWrapper, "ensure_connection", side_effect=OperationalError("refused")
    )


def test_healthz_answers_ok_without_sign_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_does_not(client, db):
    with database_down():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert response["Retry-After"] == "30"


def test_pages_answer_503_with_retry_after_when_the_database_is_down(sign_in, clinician):
    client = sign_in(clinician)
    client.raise_request_exception = False
    with database_down():
        response = client.get("/clinician/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Temporarily unavailable" in response.content
    assert b"Traceback" not in response.content


def test_other_errors_get_the_friendly_500(sign_in, clinician, monkeypatch):
    client = sign_in(clinician)
    client.raise_request_exception = False
    monkeypatch.setattr(
        "accounts.selectors.access_log.recent_account_activity",
        mock.Mock(side_effect=RuntimeError("bug")),
    )
    response = client.get("/clinician/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"RuntimeError" not in response.content


def test_unknown_page_is_a_friendly_404(sign_in, clinician):
    response = sign_in(clinician).get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server_without_database():
    """gunicorn serving the app with a DATABASE_URL nothing answers at."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",  # port 9: nothing listens
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS_ONLY": "0",
        "STATIC_MANIFEST": "0",
    }
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
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


def fetch(url, cookie=""):
    # Loopback http only: the URL is built by the fixture above.
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_real_server_with_no_database_answers_503_not_a_stack_trace(server_without_database):
    # A signed-in browser: its session is looked up in the database.
    status, headers, body = fetch(
        server_without_database + "/clinician/", cookie="selfhelp_session=" + "a" * 32
    )
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert b"Temporarily unavailable" in body and b"Traceback" not in body
    status, headers, body = fetch(server_without_database + "/healthz")
    assert status == 503
    assert b'"database": "unavailable"' in body


def test_every_page_names_its_icon(client, db):
    """Without one the browser asks for /favicon.ico, a 404 and a console error on every page."""
    html = client.get("/account/sign-in/").content.decode()
    assert 'rel="icon"' in html and "favicon.svg" in html
    assert (settings.BASE_DIR / "static" / "favicon.svg").exists()
