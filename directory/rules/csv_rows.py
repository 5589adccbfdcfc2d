"""Reading an uploaded CSV file into rows of plain values, before any listing is looked up.

The columns are the export's (``directory.rules.spreadsheet.COLUMNS``), so an exported file,
edited in a spreadsheet, comes back. Cells that hold several values separate them with ``;``;
a phone is ``+13104368585 ext. 291 (Long Beach)`` as exported, or as people type it. A file
that cannot be used as a whole (not CSV, no header, wrong columns, too many rows) is refused
with ``FileRefused``; a bad cell is a ``Problem`` of its row and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import phonenumbers

from core.csv import unescape_formula
from directory.rules.spreadsheet import COLUMNS, OPTIONAL_COLUMNS
from directory.rules.uploads import FileRefused

MAX_ROWS = 5000
AREA_MAX = 120  # the length of Contact.area_label

_AREA_AT_END = re.compile(r"\s*\(([^()]*[^\W\d_][^()]*)\)\s*$")
_EXTENSION_AT_END = re.compile(r"\s*(?:ext\.?|extension|x)\s*(\d{1,10})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file, where it is: the row (as a spreadsheet numbers it, the
    header being row 1), the column, and what to do about it."""

    row: int | None
    column: str
    message: str


@dataclass(frozen=True)
class PhoneValue:
    number: str  # E.164
    extension: str = ""
    area: str = ""

    def __str__(self):
        text = self.number + (f" ext. {self.extension}" if self.extension else "")
        return text + (f" ({self.area})" if self.area else "")


def read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """The data rows as ``(row number, {column: value})``; FileRefused if the file as a whole
    cannot be used (not CSV, no header, wrong or missing columns, too many rows)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
            if len(records) > MAX_ROWS + 1:
                raise FileRefused(
                    f"The file has more than {MAX_ROWS} rows; split it into smaller files."
                )
    except csv.Error as error:
        raise FileRefused(
            f"The file cannot be read as CSV at line {reader.line_num}: {error}."
        ) from None
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    if not records:
        raise FileRefused("The file is empty: it has no header row and no listings.")
    header = [cell.strip() for cell in records[0]]
    check_columns(header)
    canonical = {column.casefold(): column for column in COLUMNS}
    names = [canonical[cell.casefold()] for cell in header]
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            name: unescape_formula(cell.strip()) for name, cell in zip(names, record, strict=False)
        }
        if len(record) > len(names):
            values["__extra__"] = str(len(record))
        rows.append((number, values))
    if not rows:
        raise FileRefused("The file has a header row but no listings under it.")
    return rows


def check_columns(header: list[str]) -> None:
    known = {column.casefold() for column in COLUMNS}
    seen: set[str] = set()
    repeated, unexpected = [], []
    for cell in header:
        key = cell.casefold()
        if key in seen:
            repeated.append(cell or "(blank)")
        elif key not in known:
            unexpected.append(cell or "(blank)")
        seen.add(key)
    missing = [c for c in COLUMNS if c.casefold() not in seen and c not in OPTIONAL_COLUMNS]
    if not (missing or unexpected or repeated):
        return
    parts = ["The columns do not match the directory's export."]
    if missing:
        parts.append("Missing: " + ", ".join(missing) + ".")
    if unexpected:
        parts.append("Not expected: " + ", ".join(unexpected) + ".")
    if repeated:
        parts.append("Repeated: " + ", ".join(repeated) + ".")
    parts.append(
        "The first row must name these columns: "
        + ", ".join(COLUMNS)
        + " (Slug and Last verified may be left out)."
    )
    raise FileRefused(" ".join(parts))


def split_cell(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def parse_phone(text: str) -> PhoneValue:
    """``+13104368585 ext. 291 (Long Beach)``, or ``(562) 436-8585 x291``; ValueError if bad."""
    rest = text.strip()
    area = ""
    match = _AREA_AT_END.search(rest)
    if match and re.search(r"\d", rest[: match.start()]):
        area, rest = match.group(1).strip(), rest[: match.start()]
    extension = ""
    match = _EXTENSION_AT_END.search(rest)
    if match:
        extension, rest = match.group(1), rest[: match.start()]
    try:
        number = phonenumbers.parse(rest.strip(), "US")
    except phonenumbers.NumberParseException:
        raise ValueError(f"“{text}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"“{text}” is not a valid phone number.")
    if len(area) > AREA_MAX:
        raise ValueError(f"The area of “{text}” is longer than {AREA_MAX} characters.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneValue(e164, extension, area)
