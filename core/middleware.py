"""Middlewares every response goes through, whoever is signed in.

``CookieHeaderGuardMiddleware`` answers 431 to a Cookie header too big or too odd to parse
cheaply, before anything parses it; ``RequestBodyLimitMiddleware`` answers 413 to a body larger
than any form or upload needs, before anything reads it; ``NoStoreMiddleware`` keeps every
rendered page out of browser and proxy caches (pages can carry client data);
``RejectNulCharactersMiddleware`` answers 400 to a NUL character before a view can pass it to
PostgreSQL. They know nothing of accounts, so they sit in ``core``.
"""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

# The product sets two cookies (the session's and CSRF's, under 120 bytes together); a browser
# may carry a few more for the host. Past these, a header is an attack or a broken client.
MAX_COOKIE_HEADER_BYTES = 8192
MAX_COOKIES = 50
# Backslashes are what made Python's cookie unquoting quadratic (CVE-2024-7592); no cookie of
# ours has one.
MAX_COOKIE_BACKSLASHES = 32

COOKIE_REFUSED = (
    "The Cookie header of this request is too large or malformed (431). Clear this site's "
    "cookies in the browser and sign in again."
)


def cookie_header_refusal(header: str) -> str | None:
    """Why ``header`` is refused, or None. Constant time: the length is checked first, so the
    counts below never run over more than MAX_COOKIE_HEADER_BYTES characters."""
    if len(header) > MAX_COOKIE_HEADER_BYTES:
        return "too large"
    if header.count(";") >= MAX_COOKIES:
        return "too many cookies"
    if header.count("\\") > MAX_COOKIE_BACKSLASHES:
        return "backslashes"
    return None


class CookieHeaderGuardMiddleware:
    """431 to an oversized or pathological Cookie header, before any middleware parses it.

    First in MIDDLEWARE: the session, CSRF and everything after read ``request.COOKIES``,
    which unquotes each value with Python's parser. On an interpreter with CVE-2024-7592 that
    took 6.5-7.7 s for one 60 kB header; whatever the interpreter, this answers in time bounded
    by the limits above (``core.checks`` also refuses such an interpreter at deploy). The
    answer is plain text: a template could read the cookies (the CSRF context processor).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if cookie_header_refusal(request.META.get("HTTP_COOKIE", "")) is not None:
            response = HttpResponse(COOKIE_REFUSED, status=431, content_type="text/plain")
            response["Connection"] = "close"
            return response
        return self.get_response(request)


BODY_REFUSED = (
    "What was sent is larger than this service accepts ({limit} kB{who}), so it was not read "
    "and nothing was saved (413). Files for import are at most 2 MB."
)


class RequestBodyLimitMiddleware:
    """413 to a body over the limit, before the CSRF check or a view parses it.

    Django writes a multipart upload to a temporary file while parsing it, and the CSRF check
    parses the form: an anonymous 100 MB upload was written to disk before being refused. The
    declared length is judged here, before any read: signed-in staff may send
    ``REQUEST_BODY_LIMIT`` (an import file and its form), anyone else
    ``ANONYMOUS_BODY_LIMIT`` (the sign-in and public forms are a few kB). A body with no
    declared length (chunked) is the proxy's to bound (``client_max_body_size``, deploy/).
    Placed after the authentication middleware, which only reads the session cookie.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.ANONYMOUS_BODY_LIMIT:
            signed_in = request.user.is_authenticated
            limit = settings.REQUEST_BODY_LIMIT if signed_in else settings.ANONYMOUS_BODY_LIMIT
            if length > limit:
                message = BODY_REFUSED.format(
                    limit=limit // 1024, who="" if signed_in else " without signing in"
                )
                response = HttpResponse(message, status=413, content_type="text/plain")
                response["Connection"] = "close"
                return response
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
    importers' to refuse (``directory.views.uploads``).

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
