"""The guard against formula injection in the CSV and XLSX files the product writes.

A cell an admin typed or an intergroup's file carried could run as a formula when the file is
opened in a spreadsheet; :func:`escape_formula` makes it text, :func:`unescape_formula` undoes
that when an exported file comes back.
"""

# Characters that make a spreadsheet treat a cell as a formula when it opens a CSV file
# (OWASP "CSV injection"). Tab and carriage return are on OWASP's list too.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value) -> str:
    """The cell as text that no spreadsheet will run.

    The export carries text an admin typed and text imported from intergroup files. Opened in
    Excel or LibreOffice, a cell such as ``=HYPERLINK("http://evil.example", "Call")`` or
    ``@SUM(...)`` would be evaluated: a formula can fetch URLs or, with DDE, start programs on
    the clinician's computer. A leading apostrophe makes the spreadsheet show the text as text.
    (Phones start with "+" and so carry the apostrophe too; the CSV import removes it again.)
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """Undo :func:`escape_formula` when a file we exported comes back."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text
