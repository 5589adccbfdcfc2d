"""Exchanging the annotated referral list (policy VII.D) in open formats.

- ``snapshot``: the one read of the catalogue every export uses (a fixed number of queries
  whatever the number of listings), turned into plain, frozen data.
- ``resources``: the spreadsheet columns (a django-import-export ``Resource``), the CSV and
  XLSX exports and the guard against formula injection.
- ``csv_import``: reading an uploaded CSV, the preview of what it would change, row by row,
  and the single transaction that writes it once a site admin confirms.
- ``hsds``: the Open Referral HSDS 3.0 export (pure mapping).
- ``meeting_guide``: the Meeting Guide JSON feed (code4recovery spec), both ways.
- ``uploads``: reading an upload as UTF-8, and keeping it in the session between its preview
  and its confirmation; ``forms``: the upload and confirmation forms.

The mappings are pure functions over the frozen data of ``snapshot``, tested without a
database; only the ``plan_*`` functions (which only read) and the ``confirm_import``
functions (which write, through ``directory.services`` where it has the write) touch it.
"""
