"""Session limits, the two-factor gate, no caching of signed-in pages, and refusing NULs."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.signals import LAST_ACTIVITY, SIGNED_IN_AT

# Writing the last-activity time on every request would write the session row on every
# request; a minute's resolution is plenty for a fifteen-minute idle limit.
ACTIVITY_RESOLUTION_SECONDS = 60


def _redirect(request, url):
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class SessionLimitsMiddleware:
    """Sign out after 15 minutes idle or 12 hours in all, ending the session on the server."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            signed_in_at = session.get(SIGNED_IN_AT, now)
            last_activity = session.get(LAST_ACTIVITY, now)
            idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
            limit = settings.SESSION_ABSOLUTE_LIMIT.total_seconds()
            if now - signed_in_at >= limit:
                return self._end(
                    request,
                    "session limit",
                    "You were signed out: a session lasts at most 12 hours. Please sign in again.",
                )
            if now - last_activity >= idle:
                return self._end(
                    request,
                    "idle timeout",
                    "You were signed out after 15 minutes without activity. Please sign in again.",
                )
            if now - last_activity >= ACTIVITY_RESOLUTION_SECONDS or LAST_ACTIVITY not in session:
                session[LAST_ACTIVITY] = now
            session.setdefault(SIGNED_IN_AT, now)
        return self.get_response(request)

    def _end(self, request, reason, message):
        request.sign_out_reason = reason
        logout(request)  # flushes the session row: the old cookie is worthless from here on
        messages.info(request, message)
        return _redirect(request, reverse(settings.LOGIN_URL))


# Paths an unverified (password-only) session may reach when two-factor is required.
# Exact paths, not prefixes: the backup-codes page, under the same folder, needs both factors.
TWO_FACTOR_OPEN_PATHS = frozenset(
    {"/account/two-factor/", "/account/two-factor/setup/", "/account/sign-out/", "/healthz"}
)


class RequireTwoFactorMiddleware:
    """With REQUIRE_MFA on, a password alone reaches nothing but the second-factor pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.REQUIRE_MFA
            and request.user.is_authenticated
            and not request.user.is_verified()
            and request.path not in TWO_FACTOR_OPEN_PATHS
        ):
            url = reverse("accounts:two-factor")
            if request.method == "GET" and request.path != "/":
                url += "?" + urlencode({"next": request.get_full_path()})
            return _redirect(request, url)
        return self.get_response(request)


class NoStoreMiddleware:
    """No page the application renders may be kept by a browser or proxy cache.

    Static files never reach here (whitenoise answers them first), so this covers exactly the
    pages that can carry client data, the sign-in page included.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        response.headers["Cache-Control"] = (
            "no-store, no-cache, must-revalidate, private, max-age=0"
        )
        return response


# The message of the 400 page for a request carrying a NUL character (see below).
# The first sentence is Django's own form-field message for the same fault.
NUL_MESSAGE = (
    "Null characters are not allowed. Nothing was saved: what was sent contains one (U+0000), "
    "which no field of this application accepts. Go back, retype the text (null characters "
    "often come from pasting out of another program) and send it again."
)


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values)


class RejectNulCharactersMiddleware:
    """Answer 400, before any view runs, to a request whose address, query or form has a NUL.

    Design notes, section 5: bad input of any kind gets a clear message and a 4xx, never a 500.
    PostgreSQL cannot store or even compare text containing U+0000 (psycopg refuses it, and the
    refusal surfaces as a 500 wherever a value reaches a query: the sign-in's lockout check, a
    slug lookup, a search). Django's form fields refuse NULs, but not every value goes through
    a form field first, so this is the one central place that refuses them (tests/security/
    test_fuzz_forms.py). Uploaded files are not inspected here: their contents are the
    importers' to refuse (``directory.exchange.uploads``).

    It sits after the session, authentication and header middleware (so the 400 page carries
    the same security headers as every page) and before the views.
    The session cookie, read before this runs, is checked by ``accounts.sessions``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            return render(request, "400.html", {"message": NUL_MESSAGE}, status=400)
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request) -> bool:
        if "\x00" in request.path:
            return True
        for data in (request.GET, request.POST):
            if _has_nul(data.keys()) or any(_has_nul(data.getlist(key)) for key in data):
                return True
        # Upload file names need no check: Django drops non-printable characters from them.
        return _has_nul(request.FILES.keys())
