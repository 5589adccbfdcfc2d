"""Writing an export a piece at a time, so that its size never sets the server's memory.

The exports are streamed (``StreamingHttpResponse``): the rows come from the database a chunk
at a time (the directory's exports read its catalogue's snapshot), each becomes a CSV line or
a JSON record, and
:func:`buffered` gathers those pieces into chunks of about ``CHUNK_CHARS`` characters for the
server to send. At any moment the process holds one chunk of listings and one chunk of text,
never the whole file: 2,000 listings with 20,000 meetings cost what 200 do.

The JSON helpers write exactly what ``json.dumps(..., indent=1, ensure_ascii=False)`` (what
``JsonResponse`` wrote before these exports streamed) writes for the whole document, one record
at a time: consumers see the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

# About 32 KiB a chunk: a few socket writes for the whole list, never one per row, and a
# small, fixed amount of text held at once.
CHUNK_CHARS = 32 * 1024
INDENT = 1  # the exports' JSON indentation (one space a level), as they always had


def buffered(pieces: Iterable[str], *, size: int = CHUNK_CHARS) -> Iterator[str]:
    """The pieces joined into chunks of at least ``size`` characters (the last may be less).

    A chunk holds at most ``size`` characters plus one piece (a CSV line, a listing's JSON).
    """
    chunk: list[str] = []
    length = 0
    for piece in pieces:
        chunk.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(chunk)
            chunk, length = [], 0
    if chunk:
        yield "".join(chunk)


def _dumps(value, level: int) -> str:
    """``value`` as JSON, indented as it is when nested ``level`` deep in a document.

    Every newline ``json.dumps`` writes is between tokens (a newline inside a string is
    written ``\\n``), so shifting each line right gives the nested layout exactly.
    """
    text = json.dumps(value, cls=DjangoJSONEncoder, indent=INDENT, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * (INDENT * level))


def json_array(items: Iterable, *, level: int = 0) -> Iterator[str]:
    """A JSON array of ``items``, an item at a time, at nesting ``level`` (0: the document)."""
    outer = " " * (INDENT * level)
    inner = " " * (INDENT * (level + 1))
    separator = "\n"
    for item in items:
        if separator == "\n":
            yield "["
        yield separator + inner + _dumps(item, level + 1)
        separator = ",\n"
    yield "[]" if separator == "\n" else "\n" + outer + "]"


def json_object(head: dict, key: str, items: Iterable) -> Iterator[str]:
    """A JSON object: the ``head`` members, then ``key`` holding the array of ``items``,
    written an item at a time."""
    opening = _dumps(head, 0)
    if head:
        yield opening[: -len("\n}")] + ",\n"  # the head's members, left open
    else:
        yield "{\n"
    yield " " * INDENT + json.dumps(key, ensure_ascii=False) + ": "
    yield from json_array(items, level=1)
    yield "\n}"
