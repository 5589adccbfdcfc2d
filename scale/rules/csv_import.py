"""The CSV import benchmark's file: the directory's own export, edited as a site admin would.

:func:`benchmark_file` takes the export (``directory.rules.spreadsheet.csv_lines``) and returns
a file of ``total`` rows: every exported listing, most of them changed (status, needs, a phone
added, relabelled or dropped, a web address dropped), then new listings up to ``total``, named
and filled from the vocabulary the export itself uses, so the file plans without a problem on
any database the generator filled. Deterministic: the same export gives the same file.

No Django and no database here: the measuring is ``scale.services.csv_import``'s.
"""

from __future__ import annotations

import csv
import io

SEPARATOR = "; "
TARGET_SECONDS = 10.0  # a 5,000-row confirm, on PostgreSQL, well inside the worker's 30 s
ROWS = 5000

PLACES = (
    "Alhambra", "Bellflower", "Compton", "Downey", "El Monte", "Glendale", "Inglewood",
    "Lancaster", "Long Beach", "Norwalk", "Palmdale", "Pasadena", "Pomona", "Santa Monica",
    "Torrance", "Van Nuys", "West Covina", "Whittier",
)  # fmt: skip
KINDS = ("Circle", "Peer Group", "Fellowship", "Meeting", "Support Group", "Sharing Group")


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _vocabulary(rows: list[dict], column: str, fallback: list[str]) -> list[str]:
    found = sorted({part for row in rows for part in _split(row.get(column, ""))})
    return found or fallback


def _edit(number: int, row: dict, needs: list[str]) -> dict:
    """An exported row changed as a site admin changes a listing: one edit in ten leaves it."""
    row = dict(row)
    kind = number % 10
    if kind in (0, 1, 2):
        row["Status"] = "Temporarily closed" if row["Status"] == "Active" else "Active"
    elif kind in (3, 4):
        listed = _split(row["Needs"])
        extra = next((need for need in needs if need not in listed), None)
        row["Needs"] = SEPARATOR.join([*listed, extra] if extra else listed[1:] or needs[:1])
    elif kind == 5:
        phones = _split(row["Phones"])
        row["Phones"] = SEPARATOR.join([*phones, f"+1213556{number % 10000:04d} (Countywide)"])
    elif kind == 6:
        phones = _split(row["Phones"])
        # Relabel the first phone (its area, in parentheses, changes) or drop the last one.
        if len(phones) > 1:
            row["Phones"] = SEPARATOR.join(phones[:-1])
        elif phones:
            row["Phones"] = phones[0].split(" (")[0] + " (Countywide helpline)"
    elif kind == 7:
        row["Web addresses"] = ""
        row["Emails"] = SEPARATOR.join([*_split(row["Emails"]), f"contact-{number}@example.org"])
    elif kind == 8:
        row["Name"] = (row["Name"] + " (edited)")[:200]
    return row


def benchmark_file(export: str, total: int = ROWS) -> str:
    """The file: the export's listings edited (one in ten left as it was), then new ones."""
    text = export.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = list(reader.fieldnames or [])
    existing = [row for row in reader if row.get("Name")][:total]
    headings = _vocabulary(existing, "Headings", ["Twelve-Step Groups for Mental Health Consumers"])
    needs = _vocabulary(existing, "Needs", ["Depression"])
    types = _vocabulary(existing, "Types", [])
    languages = _vocabulary(existing, "Languages", ["English"])
    areas = _vocabulary(existing, "Service areas", [])
    formats = _vocabulary(existing, "Format", ["III.A"])
    names = {row["Name"].casefold() for row in existing}

    rows = [_edit(number, row, needs) for number, row in enumerate(existing)]
    number = 0
    while len(rows) < total:
        number += 1
        name = f"{PLACES[number % len(PLACES)]} {KINDS[number % len(KINDS)]} {number:05d}"
        if name.casefold() in names:
            continue
        pick = number * 7
        row = dict.fromkeys(columns, "")
        row |= {
            "Name": name,
            "Headings": headings[pick % len(headings)],
            "Needs": SEPARATOR.join(
                dict.fromkeys(needs[(pick + k) % len(needs)] for k in range(1 + number % 3))
            ),
            "Phones": SEPARATOR.join(
                [f"+1323555{number % 10000:04d} ({PLACES[number % len(PLACES)]})"]
                + ([f"+1800555{number % 10000:04d} ext. {number % 900 + 100}"] * (number % 2))
            ),
            "Emails": f"group-{number}@example.org" if number % 3 == 0 else "",
            "Web addresses": f"https://example.org/groups/new-{number}" if number % 2 else "",
            "Status": "Active",
            "Format": formats[pick % len(formats)],
            "Types": types[pick % len(types)] if types else "",
            "Languages": SEPARATOR.join(
                dict.fromkeys([languages[0], languages[pick % len(languages)]])
            ),
            "Service areas": areas[pick % len(areas)] if areas else "",
            "Medication stance": "",
        }
        if "Slug" in row:
            row["Slug"] = ""  # made from the name, as for a row typed by hand
        rows.append(row)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
