"""Uploaded files: reading them as UTF-8 text, and keeping one between preview and confirm.

Nothing an import would write is decided from what the confirming request sends. The preview
keeps the uploaded text **in the server-side session** (sessions live in the database) under a
random token, with the SHA-256 of the text and the fingerprint of the plan the admin saw. The
confirm form posts back only the token and the hash; the text is read from the session, planned
again, and written only if the new plan is the one previewed. A hidden field holding the data
(or the plan) would let anyone who edits the form write what they like; a token they can only
send back or not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

MAX_BYTES = 2 * 1024 * 1024  # 2 MB: the whole county's list is a small fraction of that
SESSION_KEY = "directory_exchange_uploads"
MAX_PENDING = 2  # previews of each kind kept per session (at most 2 MB each); older dropped
PENDING_SECONDS = 60 * 60


class FileRefused(Exception):
    """The file as a whole cannot be read (encoding, shape, columns): nothing of it is used."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def describe_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def decode_utf8(raw: bytes, *, kind: str) -> str:
    """The upload as text: UTF-8, with or without a byte-order mark; anything else refused.

    ``kind`` is what the file should be ("CSV" or "JSON"), for the messages.
    """
    if len(raw) > MAX_BYTES:
        raise FileRefused(
            f"The file is {describe_size(len(raw))}; the limit is {describe_size(MAX_BYTES)}."
        )
    if raw.startswith(b"PK\x03\x04"):
        raise FileRefused(
            "This is a zip file, most likely an Excel workbook (.xlsx), not a "
            f"{kind} file. In Excel choose File, Save As, “CSV UTF-8 (Comma delimited)”, "
            "and upload that file."
            if kind == "CSV"
            else f"This is a zip file, not a {kind} file."
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(
            f"The file is UTF-16 text. Save it as UTF-8 ({kind} UTF-8) and upload it again."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FileRefused(
            f"The file is not UTF-8 text: byte 0x{raw[error.start]:02X} on line {line} is not "
            "valid UTF-8 (the file was probably saved as Windows-1252 or Latin-1, for example "
            f"Excel's plain “CSV (Comma delimited)”). Save it as “{kind} UTF-8” and upload it "
            "again."
        ) from None
    if "\x00" in text:
        raise FileRefused(f"The file holds NUL bytes: it is not a {kind} text file.")
    return text


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
