"""Shared reads served from a cache keyed on a data version, with ETag, Last-Modified and 304.

A shared read (an export, a feed, the printable list) costs the same whoever asks, and twenty
people asking at once must not cost twenty builds: that would hold every worker for seconds.
:func:`shared_read` wraps such a view:

* the **version** callable (one indexed row read) names the data's state; the response is
  built once per version and variant and kept as a file in ``SHARED_READS_DIR`` (shared by
  the server's workers, written and sent a block at a time, so an export is never whole in
  memory), so a write makes every older entry unreachable (swept after a day);
* concurrent misses wait on a **lock** per entry (one build, the others read its result), so a
  burst of identical requests costs one build, not one per worker;
* every answer carries an ``ETag`` and ``Last-Modified``; a matching ``If-None-Match`` or
  ``If-Modified-Since`` gets a 304 before the view or the cache is touched;
* the variant is the path, the query string, the language and the day (exports put the date
  in their file name), plus the session when ``personal=True``: a page drawn in the site's
  layout carries the user's name and CSRF token, so it is only ever shared with its session.

Responses other than 200 are never cached, nor are cookies; every response stays ``no-store``
for browsers and proxies (``NoStoreMiddleware``), the ETag serving clients that revalidate.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import FileResponse, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

TIMEOUT = 24 * 3600  # a version lives until the next write; a day bounds forgotten entries
LOCK_WAIT = 60.0  # seconds a request waits for another's build before building itself
_HOP_BY_HOP = {"set-cookie", "content-length", "transfer-encoding", "connection"}

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _build_lock(digest: str):
    """An exclusive lock per entry, across the server's worker processes and threads."""
    path = _store_dir() / f"{digest}.lock"
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


def _store_dir() -> Path:
    path = Path(settings.SHARED_READS_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _read_entry(digest: str) -> tuple[dict, Path] | None:
    """The entry's headers and the path of its body, if it is there (and not expired)."""
    directory = _store_dir()
    meta, body = directory / f"{digest}.json", directory / f"{digest}.body"
    try:
        if time.time() - meta.stat().st_mtime > TIMEOUT:
            return None
        return json.loads(meta.read_text(encoding="utf-8")), body
    except (OSError, ValueError):
        return None


def _write_entry(digest: str, response) -> None:
    """The response's body to a file, a chunk at a time (never whole in memory), then its
    status and headers; each moved into place whole, so a reader sees all of it or nothing."""
    directory = _store_dir()
    token = f"{os.getpid()}-{threading.get_ident()}"
    body_tmp = directory / f"{digest}.body.{token}"
    try:
        with open(body_tmp, "wb") as handle:
            chunks = response.streaming_content if response.streaming else [response.content]
            for chunk in chunks:
                handle.write(chunk)
    finally:
        # Release the response's files (an XLSX export's temporary file), but not through
        # response.close(): that also sends request_finished, which would close the database
        # connection in the middle of this request.
        for closer in getattr(response, "_resource_closers", []):
            with contextlib.suppress(Exception):
                closer()
    headers = [(k, v) for k, v in response.items() if k.lower() not in _HOP_BY_HOP]
    meta_tmp = directory / f"{digest}.json.{token}"
    meta_tmp.write_text(
        json.dumps(
            {"status": response.status_code, "headers": headers, "streamed": response.streaming}
        )
    )
    os.replace(body_tmp, directory / f"{digest}.body")
    os.replace(meta_tmp, directory / f"{digest}.json")
    _sweep(directory)


def _sweep(directory: Path) -> None:
    """Remove entries older than TIMEOUT (earlier versions): a build is rare, this is cheap."""
    cutoff = time.time() - TIMEOUT
    for path in directory.iterdir():
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _serve(meta: dict, body: Path, personal: bool):
    """The stored entry, sent from its file a block at a time; a page (personal, or built
    whole rather than streamed: small, and read whole anyway) as an ordinary response."""
    if personal or not meta.get("streamed", True):
        response = HttpResponse(body.read_bytes(), status=meta["status"])
        for key, value in meta["headers"]:
            response[key] = value
        return response
    response = FileResponse(open(body, "rb"), status=meta["status"])  # noqa: SIM115 (closed by Django)
    for header in ("Content-Type", "Content-Disposition"):
        if header in response:
            del response[header]
    for key, value in meta["headers"]:
        response[key] = value
    return response


def _mark(response, etag: str, changed_at: datetime | None):
    response["ETag"] = etag
    if changed_at is not None:
        response["Last-Modified"] = http_date(changed_at.timestamp())
    # Cache-Control stays NoStoreMiddleware's no-store, as on every page (a security invariant
    # tested over every URL): the ETag serves clients that revalidate on their own (feed
    # readers, scripts, If-None-Match), the server-side entry serves everyone.
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

            entry = _read_entry(digest)
            if entry is None:
                with _build_lock(digest):
                    entry = _read_entry(digest)  # built by whoever held the lock before us
                    if entry is None:
                        response = view(request, *args, **kwargs)
                        if response.status_code != 200:
                            return response
                        if not personal and request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
                            # The page carries this visitor's CSRF token: not shareable.
                            logger.warning("%s used a CSRF token: not cached", request.path)
                            return response
                        _write_entry(digest, response)
                        entry = _read_entry(digest)
                        if entry is None:  # the disk refused it: answer from the build anyway
                            return response
            return _mark(_serve(*entry, personal), etag, changed_at)

        return wrapped

    return decorator
