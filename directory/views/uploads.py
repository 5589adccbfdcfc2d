"""Keeping an upload in the session between its preview and its confirmation.

Nothing an import would write is decided from what the confirming request sends. The preview
keeps the uploaded text **in the server-side session** (sessions live in the database) under a
random token, with the SHA-256 of the text and the fingerprint of the plan the admin saw. The
confirm form posts back only the token and the hash; the text is read from the session, planned
again, and written only if the new plan is the one previewed. A hidden field holding the data
(or the plan) would let anyone who edits the form write what they like; a token they can only
send back or not.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from directory.rules.uploads import sha256

SESSION_KEY = "directory_exchange_uploads"
MAX_PENDING = 2  # previews of each kind kept per session (at most 2 MB each); older dropped
PENDING_SECONDS = 60 * 60


@dataclass(frozen=True)
class Pending:
    token: str
    kind: str
    sha256: str
    content: str
    fingerprint: str
    options: dict


def keep(request, *, kind: str, content: str, fingerprint: str, options=None) -> Pending:
    """Keep an upload in the session for its confirmation; returns what the form needs."""
    now = time.time()
    store = {
        token: item
        for token, item in request.session.get(SESSION_KEY, {}).items()
        if now - item.get("at", 0) < PENDING_SECONDS
    }
    # Bound what a session holds: the newest few previews of each kind.
    same_kind = sorted((item["at"], token) for token, item in store.items() if item["kind"] == kind)
    while len(same_kind) >= MAX_PENDING:
        _at, oldest = same_kind.pop(0)
        del store[oldest]
    token = secrets.token_urlsafe(24)
    digest = sha256(content)
    store[token] = {
        "kind": kind,
        "sha256": digest,
        "content": content,
        "fingerprint": fingerprint,
        "options": options or {},
        "at": now,
    }
    request.session[SESSION_KEY] = store
    return Pending(token, kind, digest, content, fingerprint, options or {})


def take(request, *, kind: str, token: str, digest: str) -> Pending | None:
    """The kept upload for this token (used once: it leaves the session), or None."""
    store = dict(request.session.get(SESSION_KEY, {}))
    item = store.pop(token, None)
    if item is None:
        return None
    request.session[SESSION_KEY] = store
    if (
        item.get("kind") != kind
        or time.time() - item.get("at", 0) >= PENDING_SECONDS
        or not hmac.compare_digest(str(item.get("sha256", "")), str(digest))
        or sha256(item["content"]) != item["sha256"]
    ):
        return None
    return Pending(
        token, kind, item["sha256"], item["content"], item["fingerprint"], item["options"]
    )
