"""Uploaded files read as UTF-8 text: the size limit, the encodings refused, the text's hash.

An import reads its file whole or not at all: ``FileRefused`` says why a file cannot be used
(too large, a zip or Excel workbook, UTF-16, not UTF-8, NUL bytes). Keeping an upload between
its preview and its confirmation is ``directory.views.uploads``.
"""

from __future__ import annotations

import hashlib

MAX_BYTES = 2 * 1024 * 1024  # 2 MB: the whole county's list is a small fraction of that


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
