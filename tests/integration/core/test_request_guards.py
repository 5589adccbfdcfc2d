"""The guards in front of every request: the Cookie header (431), the body's size (413), and the
deploy check that refuses an interpreter with a request-parsing CVE."""

import sys
import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core.checks import interpreter_parses_requests_safely
from core.middleware import MAX_COOKIE_HEADER_BYTES
from directory.models import Group


class TestCookieHeader:
    def test_ordinary_cookies_pass(self, client, db):
        client.cookies["other"] = "value"
        assert client.get("/healthz").status_code == 200

    @pytest.mark.parametrize(
        "header",
        [
            "a=" + "x" * (MAX_COOKIE_HEADER_BYTES + 1),  # oversized
            "; ".join(f"c{i}=1" for i in range(60)),  # too many
            'a="' + "\\" * 2000 + '"',  # the CVE-2024-7592 shape
        ],
        ids=["oversized", "many", "backslashes"],
    )
    def test_pathological_cookie_header_is_431_before_any_session_lookup(
        self, client, db, header, django_assert_num_queries
    ):
        with django_assert_num_queries(0):
            response = client.get("/healthz", HTTP_COOKIE=header)
        assert response.status_code == 431
        assert b"Cookie header" in response.content
        assert "Set-Cookie" not in response.headers

    def test_the_answer_takes_the_same_time_whatever_the_size(self, client, db):
        # The attack: 8 Cookie headers of 8 kB (joined: 64 kB), and 60 kB of backslashes.
        # The guard looks at the length first, so a megabyte costs what a few kB cost; the
        # bound here is loose (a shared machine), the quadratic parse took seconds.
        started = time.perf_counter()
        for _ in range(20):
            response = client.get("/healthz", HTTP_COOKIE='a="' + "\\" * 1_000_000 + '"')
            assert response.status_code == 431
        assert (time.perf_counter() - started) / 20 < 0.25


class TestBodyLimit:
    def test_anonymous_upload_over_the_limit_is_413_and_never_parsed(self, client, db, monkeypatch):
        from django.http import multipartparser

        def parser_must_not_run(*args, **kwargs):
            raise AssertionError("the body was parsed")

        monkeypatch.setattr(multipartparser.MultiPartParser, "parse", parser_must_not_run)
        response = client.generic(
            "POST",
            "/account/sign-in/",
            b"x" * 100,
            content_type="multipart/form-data; boundary=zzz",
            CONTENT_LENGTH=str(100 * 1024 * 1024),  # declared 100 MB
        )
        assert response.status_code == 413
        assert b"not read" in response.content

    def test_anonymous_small_form_passes(self, client, db):
        response = client.post("/account/sign-in/", {"username": "x", "password": "y"})
        assert response.status_code == 200

    def test_signed_in_staff_may_send_an_import_file(self, sign_in, site_admin, settings):
        client = sign_in(site_admin)
        body = b"x" * (settings.ANONYMOUS_BODY_LIMIT + 10)
        response = client.generic("POST", "/", body, content_type="application/octet-stream")
        assert response.status_code != 413
        response = client.generic(
            "POST",
            "/",
            b"x",
            content_type="application/octet-stream",
            CONTENT_LENGTH=str(settings.REQUEST_BODY_LIMIT + 1),
        )
        assert response.status_code == 413
        assert Group.objects.count() == 0


class TestInterpreterCheck:
    def test_vulnerable_interpreter_is_an_error(self):
        errors = interpreter_parses_requests_safely(version=(3, 12, 1))
        assert [error.id for error in errors] == ["core.E001"]
        assert "CVE-2024-7592" in errors[0].msg

    def test_this_interpreter_passes(self):
        assert sys.version_info[:3] >= (3, 12, 6)
        assert interpreter_parses_requests_safely() == []

    def test_check_deploy_fails_on_a_vulnerable_interpreter(self, monkeypatch):
        monkeypatch.setattr("core.checks.sys.version_info", (3, 12, 1, "final", 0))
        with pytest.raises(SystemCheckError, match="CVE-2024-7592"):
            call_command("check", "--deploy", "--tag", "security", "--fail-level", "ERROR")
