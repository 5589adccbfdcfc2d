"""The listing as spreadsheet columns (a django-import-export ``Resource``), CSV and XLSX.

One row per current listing (policy VII.D, the annotated list in an open format), every cell
through the formula guard of ``core.csv``. The same columns are what the CSV import reads back
(``directory.rules.csv_rows``), so an exported file, edited and uploaded again, round-trips.

Cells that hold several values separate them with ``"; "``. A phone is written
``+13104368585 ext. 291 (Long Beach)``: E.164, then the extension, then the area as printed.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from typing import IO

import openpyxl
from import_export import resources
from import_export.fields import Field
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from core.csv import FORMULA_TRIGGERS, escape_formula
from directory.rules.records import Listing, Phone

SEPARATOR = "; "


def format_phone(phone: Phone) -> str:
    text = phone.number
    if phone.extension:
        text += f" ext. {phone.extension}"
    if phone.area:
        text += f" ({phone.area})"
    return text


def joined(values: Iterable[str]) -> str:
    return SEPARATOR.join(value for value in values if value)


class ListingResource(resources.Resource):
    """The export's columns, over :class:`~directory.rules.records.Listing` rows.

    A plain ``Resource`` rather than a ``ModelResource``: it reads the frozen snapshot, whose
    relations were fetched once for all rows, so a row never goes back to the database.
    """

    slug = Field(attribute="slug", column_name="Slug")
    name = Field(attribute="name", column_name="Name")
    headings = Field(column_name="Headings")
    needs = Field(column_name="Needs")
    phones = Field(column_name="Phones")
    emails = Field(column_name="Emails")
    web_addresses = Field(column_name="Web addresses")
    status = Field(column_name="Status")
    last_verified = Field(column_name="Last verified")
    format = Field(column_name="Format")
    types = Field(column_name="Types")
    languages = Field(column_name="Languages")
    service_areas = Field(column_name="Service areas")
    medication_stance = Field(column_name="Medication stance")

    class Meta:
        export_order = (
            "slug",
            "name",
            "headings",
            "needs",
            "phones",
            "emails",
            "web_addresses",
            "status",
            "last_verified",
            "format",
            "types",
            "languages",
            "service_areas",
            "medication_stance",
        )

    def dehydrate_headings(self, listing: Listing) -> str:
        return joined(listing.categories)

    def dehydrate_needs(self, listing: Listing) -> str:
        return joined(listing.needs)

    def dehydrate_phones(self, listing: Listing) -> str:
        return joined(format_phone(phone) for phone in listing.phones)

    def dehydrate_emails(self, listing: Listing) -> str:
        return joined(listing.emails)

    def dehydrate_web_addresses(self, listing: Listing) -> str:
        return joined(listing.urls)

    def dehydrate_status(self, listing: Listing) -> str:
        return listing.status_label

    def dehydrate_last_verified(self, listing: Listing) -> str:
        return listing.last_verified_on.isoformat() if listing.last_verified_on else ""

    def dehydrate_format(self, listing: Listing) -> str:
        return f"{listing.format} {listing.format_label}" if listing.format else ""

    def dehydrate_types(self, listing: Listing) -> str:
        return joined(f"{code}. {name}" for code, name in listing.types)

    def dehydrate_languages(self, listing: Listing) -> str:
        return joined(name for _code, name in listing.languages)

    def dehydrate_service_areas(self, listing: Listing) -> str:
        return joined(area.name for area in listing.service_areas)

    def dehydrate_medication_stance(self, listing: Listing) -> str:
        return listing.medication_label

    def export_field(self, field, instance, **kwargs):
        # Every CSV cell goes out through the formula guard (the workbook guards its cells
        # with a cell style instead: see ``xlsx_file``).
        return escape_formula(super().export_field(field, instance, **kwargs))


class _WorkbookResource(ListingResource):
    """The same columns with the cells as typed: the workbook marks a cell as text by its
    style, so an apostrophe in the value would be shown as part of the text."""

    def export_field(self, field, instance, **kwargs):
        return resources.Resource.export_field(self, field, instance, **kwargs)


# The column names, in order: the export's header and what the import expects.
COLUMNS: tuple[str, ...] = tuple(ListingResource().get_export_headers())
# Columns an uploaded file may leave out: the slug (then the name finds the listing) and the
# date last verified (exported for information; verifying is done on the listing's page).
OPTIONAL_COLUMNS = frozenset({"Slug", "Last verified"})


class _Echo:
    """A file-like object whose ``write`` returns the line, for ``csv.writer`` to stream."""

    def write(self, value):
        return value


def csv_lines(listings: Iterable[Listing]) -> Iterator[str]:
    """The CSV file a line at a time: a byte-order mark (so Excel reads UTF-8), the header,
    then one row per listing as it comes from the database."""
    resource = ListingResource()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(resource.get_export_headers())
    for listing in listings:
        yield writer.writerow(resource.export_resource(listing))


# The sheet's name, as tablib wrote it when the workbook was built in memory.
XLSX_TITLE = "Self-help groups"


def xlsx_file(listings: Iterable[Listing], *, title: str = XLSX_TITLE) -> IO[bytes]:
    """The workbook in an anonymous temporary file, positioned at its start. No cell is a
    formula: a cell that a spreadsheet would read as one (``core.csv.FORMULA_TRIGGERS``) is a
    text cell with the "quote prefix" style, which Excel and LibreOffice show as the text
    itself (a phone as ``+13104368585``, not ``'+13104368585``) and keep as text when the
    cell is edited. "Last verified" is a date cell, so it sorts and filters as a date.

    Memory stays bounded whatever the number of listings: openpyxl's write-only workbook
    writes each row to disk as it is appended. The header is bold and frozen, cells holding a
    line break wrapped, and each column as wide as its longest cell. Those widths come before
    the rows in the file, so the rows are first spooled to a temporary CSV file while the
    widths are measured, then copied into the workbook: one read of the database, nothing
    held but a row.
    """
    resource = _WorkbookResource()
    headers = list(resource.get_export_headers())
    verified = headers.index("Last verified")
    widths = [len(header) for header in headers]
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        writer = csv.writer(spool)
        for listing in listings:
            row = resource.export_resource(listing)
            widths = [max(width, len(str(cell))) for width, cell in zip(widths, row, strict=True)]
            writer.writerow(row)
        spool.seek(0)

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet(title=title[:31])  # a sheet's name holds 31 characters
        sheet.freeze_panes = "A2"
        for number, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(number)].width = width
        bold = Font(bold=True)
        sheet.append([_cell(sheet, header, font=bold) for header in headers])
        for row in csv.reader(spool):
            sheet.append(
                [
                    _date_cell(sheet, value) if column == verified else _text_cell(sheet, value)
                    for column, value in enumerate(row)
                ]
            )
        # Returned open: the response closes it (and so deletes it) once it has been sent.
        out = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            workbook.save(out)
        except BaseException:
            out.close()
            raise
    out.seek(0)
    return out


DATE_FORMAT = "yyyy-mm-dd"


def _text_cell(sheet, value: str):
    """A text cell; one that starts like a formula is typed text with the quote prefix."""
    if not value.startswith(FORMULA_TRIGGERS) and "\n" not in value:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        cell.quotePrefix = True
    if "\n" in value:
        cell.alignment = Alignment(wrap_text=True)
    return cell


def _date_cell(sheet, value: str):
    if not value:
        return None
    cell = WriteOnlyCell(sheet, value=date.fromisoformat(value))
    cell.number_format = DATE_FORMAT
    return cell


def _cell(sheet, value: str, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell
