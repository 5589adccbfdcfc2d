"""Querysets shared by the apps whose rows belong to one clinic, and a lookup value for many ids."""

from collections.abc import Iterable

from django.db import connection, models
from django.db.models.expressions import RawSQL


class ClinicScopedQuerySet(models.QuerySet):
    """Rows of one clinic: every page that shows a client's record reads through this."""

    def for_clinic(self, clinic_id: int | None):
        # No clinic (an account without one) sees nothing, rather than everything.
        if clinic_id is None:
            return self.none()
        return self.filter(clinic_id=clinic_id)


def any_of_ids(ids: Iterable[int]):
    """The right-hand side of ``field__in`` for many ids (hundreds or thousands).

    On PostgreSQL, one array unnested in a subquery: a literal ``IN`` list is estimated value
    by value while planning (2,000 ids took 1.7 ms to plan a query that ran in 1.9). Elsewhere
    the sorted list itself."""
    ids = sorted({int(pk) for pk in ids})
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return ids
