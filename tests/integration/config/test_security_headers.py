"""Security headers and CSP on every URL, no caching of rendered pages, CSRF enforced."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories.accounts import PASSWORD


def concrete_paths(patterns=None, prefix=""):
    """Every URL of the project that takes no argument, found from the URL configuration."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    paths = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if "<" in route or route.startswith("^") and re.search(r"[(\\\[]", route):
            continue
        route = route.lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            paths += concrete_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            paths.append("/" + prefix + route)
    return sorted(set(paths))


def test_the_walk_finds_the_pages():
    paths = concrete_paths()
    for expected in ["/", "/account/sign-in/", "/access-log/", "/healthz", "/admin/"]:
        assert expected in paths


def assert_secure_headers(response, path):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, path
    assert "frame-ancestors 'none'" in csp, path
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
    # The nonce is added only when the page used it (a redirect has no script tags).
    assert re.search(r"script-src 'self'( 'nonce-[A-Za-z0-9_\-+/=]+')?;", csp), path
    body = b"" if response.streaming else response.content  # CSV exports stream
    if response.status_code == 200 and b"<script" in body:
        assert "'nonce-" in csp, path
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert response.headers.get("Referrer-Policy") == "same-origin", path
    assert response.headers.get("X-Frame-Options") == "DENY", path
    assert "no-store" in response.headers.get("Cache-Control", ""), path


@pytest.mark.django_db
def test_every_url_anonymous():
    client = Client()
    for path in concrete_paths():
        assert_secure_headers(client.get(path), path)


def test_every_url_signed_in(sign_in, superuser, clinic):
    superuser.clinic = clinic
    superuser.save()
    client = sign_in(superuser)
    for path in concrete_paths():
        if path == "/account/sign-out/":
            continue
        response = client.get(path)
        assert response.status_code < 500, path
        assert_secure_headers(response, path)


def test_pages_carry_the_nonce_on_every_script_and_no_inline_code(sign_in, clinician):
    client = sign_in(clinician)
    response = client.get("/clinician/")
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the layout loads Bootstrap and htmx"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
        assert "src=" in tag, f"inline script: {tag}"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_nonce_changes_per_response(client, db):
    first = client.get("/account/sign-in/")["Content-Security-Policy"]
    second = client.get("/account/sign-in/")["Content-Security-Policy"]
    assert first != second


def test_csrf_refused_without_a_token(db, clinician):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/account/sign-in/", {"username": clinician.username, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_csrf_accepted_with_the_token(db, settings, clinician):
    settings.REQUIRE_MFA = False
    client = Client(enforce_csrf_checks=True)
    page = client.get("/account/sign-in/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    response = client.post(
        "/account/sign-in/",
        {
            "username": clinician.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    assert response.status_code == 302


def test_https_only_settings_mark_cookies_secure_and_redirect(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/account/sign-in/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    health = client.get("/healthz")  # load balancers probe over plain HTTP
    assert health.status_code == 200


def test_no_template_syntax_leaks_into_a_page(sign_in, superuser, clinician):
    """A ``{# #}`` comment spanning lines is not a comment in Django: it would print as text."""
    for user in (superuser, clinician):
        client = sign_in(user)
        for path in [*concrete_paths(), "/clinician/"]:
            if path == "/account/sign-out/":
                continue
            response = client.get(path)
            if response.streaming or "text/html" not in response.get("Content-Type", ""):
                continue
            html = response.content.decode()
            assert "{#" not in html and "{%" not in html, path
