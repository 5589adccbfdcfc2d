"""Which Python releases parse requests with a known vulnerability (pure: no Django).

A request reaches Python's own parsers before any of ours: Django unquotes every cookie with
``http.cookies._unquote`` and splits addresses with ``urllib.parse``. A flaw there is a flaw in
every request, whatever the application does, so ``check --deploy`` refuses such an
interpreter (``core.checks``). Each entry is the first fixed release of each affected line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFlaw:
    cve: str
    what: str
    # (major, minor) -> the first fixed (major, minor, micro) of that line; lines not listed
    # and newer than every listed one are not affected.
    fixed_in: dict[tuple[int, int], tuple[int, int, int]]
    newest_affected_line: tuple[int, int]


REQUEST_PARSING_FLAWS = (
    KnownFlaw(
        cve="CVE-2024-7592",
        what="quadratic time unquoting a cookie with backslashes (one request holds a worker)",
        fixed_in={(3, 12): (3, 12, 6), (3, 11): (3, 11, 10), (3, 10): (3, 10, 15)},
        newest_affected_line=(3, 12),
    ),
    KnownFlaw(
        cve="CVE-2023-24329",
        what="urllib.parse accepts an address starting with blanks, defeating scheme checks",
        fixed_in={(3, 11): (3, 11, 4), (3, 10): (3, 10, 12)},
        newest_affected_line=(3, 11),
    ),
)

MINIMUM_RELEASES = "3.12.6 on the 3.12 line, or 3.13.0 and newer"


def flaws_of(version: tuple[int, int, int]) -> list[KnownFlaw]:
    """The known request-parsing flaws of the interpreter ``version`` (major, minor, micro)."""
    line = version[:2]
    found = []
    for flaw in REQUEST_PARSING_FLAWS:
        if line > flaw.newest_affected_line:
            continue
        fixed = flaw.fixed_in.get(line)
        if fixed is None or version < fixed:
            found.append(flaw)
    return found
