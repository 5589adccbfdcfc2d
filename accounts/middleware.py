"""The account middlewares: session limits (idle and absolute) and the two-factor gate.

They need the signed-in user and its session, so they live with the accounts; the
middlewares every response needs (no caching, refusing NULs) are in ``core.middleware``.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts import permission_cache
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


class PermissionCacheMiddleware:
    """The signed-in person's permission set from their session while it is current, and kept
    there when a request had to read it (accounts/permission_cache.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            permission_cache.restore(request.session, user)
        response = self.get_response(request)
        # Signing in or out during the request changes the user and the session: whatever was
        # read belongs to neither.
        if user.is_authenticated and request.user.is_authenticated and request.user.pk == user.pk:
            permission_cache.keep(request.session, user)
        return response
