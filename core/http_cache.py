"""Shared reads served from a cache keyed on a data version, with ETag, Last-Modified and 304.

A shared read (an export, a feed, the printable list) costs the same whoever asks, and twenty
people asking at once must not cost twenty builds: that would hold every worker for seconds.
:func:`shared_read` wraps such a view:

* the **version** callable (one indexed row read) names the data's state; the response is
  built once per version and variant and kept in the ``shared-reads`` cache (a directory on
  disk, shared by the server's workers), so a write makes every older entry unreachable;
* concurrent misses wait on a **lock** per entry (one build, the others read its result), so a
  burst of identical requests costs one build, not one per worker;
* every answer carries an ``ETag`` and ``Last-Modified``; a matching ``If-None-Match`` or
  ``If-Modified-Since`` gets a 304 before the view or the cache is touched;
* the variant is the path, the query string, the language and the day (exports put the date
  in their file name), plus the session when ``personal=True``: a page drawn in the site's
  layout carries the user's name and CSRF token, so it is only ever shared with its session.

Responses other than 200 are never cached, nor are cookies. The responses stay ``private``
(signed-in data) but may be kept and revalidated by the browser (``no-cache``):
``NoStoreMiddleware`` leaves their Cache-Control alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

CACHE_ALIAS = "shared-reads"
TIMEOUT = 24 * 3600  # a version lives until the next write; a day bounds forgotten entries
LOCK_WAIT = 60.0  # seconds a request waits for another's build before building itself
_HOP_BY_HOP = {"set-cookie", "content-length", "transfer-encoding", "connection"}

logger = logging.getLogger(__name__)


def _lock_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), "selfhelp-shared-read-locks")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


@contextlib.contextmanager
def _build_lock(digest: str):
    """An exclusive lock per entry, across the server's worker processes and threads."""
    path = os.path.join(_lock_dir(), digest + ".lock")
    with open(path, "a") as handle:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break  # build without the lock rather than wait for ever
                time.sleep(0.02)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)


def _variant(request, personal: bool) -> str:
    parts = [
        connection.settings_dict.get("NAME") or "",
        request.path,
        "&".join(sorted(request.GET.urlencode().split("&"))),
        translation.get_language() or "",
        timezone.localdate().isoformat(),
        request.headers.get("HX-Request", ""),
    ]
    if personal:
        parts.append(getattr(request, "session", None) and request.session.session_key or "-")
    return "|".join(parts)


def _freeze(response) -> dict:
    if response.streaming:
        try:
            body = b"".join(response.streaming_content)
        finally:
            # Release the response's files (an XLSX export's temporary file), but not through
            # response.close(): that also sends request_finished, which would close the
            # database connection in the middle of this request.
            for closer in response._resource_closers:
                with contextlib.suppress(Exception):
                    closer()
            response._resource_closers.clear()
    else:
        body = response.content
    headers = [(k, v) for k, v in response.items() if k.lower() not in _HOP_BY_HOP]
    return {"status": response.status_code, "headers": headers, "body": body}


def _thaw(entry: dict) -> HttpResponse:
    response = HttpResponse(entry["body"], status=entry["status"])
    for key, value in entry["headers"]:
        response[key] = value
    return response


def _mark(response, etag: str, changed_at: datetime | None):
    response["ETag"] = etag
    if changed_at is not None:
        response["Last-Modified"] = http_date(changed_at.timestamp())
    response["Cache-Control"] = "private, no-cache"
    response.revalidate_only = True  # NoStoreMiddleware keeps this Cache-Control
    return response


def shared_read(
    version: Callable[[], tuple[object, datetime | None]],
    *,
    namespace: str,
    personal: bool = False,
):
    """Decorate a GET view whose response depends only on the data ``version()`` names.

    ``version`` returns ``(stamp, changed_at)``: any value that changes on every write, and
    when (or None). Put it under the permission decorators, so that only a permitted request
    reaches the cache.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            stamp, changed_at = version()
            changed = "" if changed_at is None else changed_at.isoformat()
            variant = _variant(request, personal)
            digest = hashlib.sha256(
                f"{namespace}|{stamp}|{changed}|{variant}".encode()
            ).hexdigest()[:40]
            etag = f'"{digest}"'
            not_modified = get_conditional_response(
                request,
                etag=etag,
                last_modified=int(changed_at.timestamp()) if changed_at else None,
            )
            if not_modified is not None:
                return _mark(not_modified, etag, changed_at)

            cache = caches[CACHE_ALIAS]
            key = f"shared-read:{digest}"
            entry = cache.get(key)
            if entry is None:
                with _build_lock(digest):
                    entry = cache.get(key)  # built by whoever held the lock before us
                    if entry is None:
                        response = view(request, *args, **kwargs)
                        if response.status_code != 200:
                            return response
                        if not personal and request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
                            # The page carries this visitor's CSRF token: not shareable.
                            logger.warning("%s used a CSRF token: not cached", request.path)
                            return response
                        entry = _freeze(response)
                        cache.set(key, entry, TIMEOUT)
            return _mark(_thaw(entry), etag, changed_at)

        return wrapped

    return decorator
