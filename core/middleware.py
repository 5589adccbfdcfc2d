"""Middlewares every response goes through, whoever is signed in.

``NoStoreMiddleware`` keeps every rendered page out of browser and proxy caches (pages can
carry client data); ``RejectNulCharactersMiddleware`` answers 400 to a NUL character before a
view can pass it to PostgreSQL. They know nothing of accounts, so they sit in ``core``.
"""

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers


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
