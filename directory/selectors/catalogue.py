"""The catalogue's version: what the shared reads of the directory are cached under."""

from datetime import datetime

from directory.models import CatalogueVersion


def version() -> tuple[int, datetime | None]:
    """(version, changed_at) of the catalogue; (0, None) before its first write.

    Bumped by database triggers on every catalogue table (directory/catalogue_version.py).
    """
    row = CatalogueVersion.objects.filter(pk=1).values_list("version", "changed_at").first()
    return row if row is not None else (0, None)
