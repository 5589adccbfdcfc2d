"""An integer ``__in`` lookup that never sends the database an integer no column can hold.

Django answers ``pk=2**63`` with "no such row" (its ``IntegerFieldExact``: a value out of the
column's range cannot be stored, so nothing equals it) but passes ``pk__in=[2**63]`` to the
database as it is, and SQLite's driver then fails (OverflowError: a 500). A posted id reaches
such a lookup whenever a form checks several ids at once (``ModelMultipleChoiceField`` does, with
``pk__in``): a tampered "categories" field of 2**63 made a listing's edit page fail
(tests/security/test_fuzz_forms.py). Design notes, section 5: bad input gets a 4xx, never a
500. This lookup leaves such values out, as ``exact`` does: the answer is unchanged, since no row
can hold them. Registered for every integer field (ids included) in ``AccountsConfig.ready``.
"""

from django.db.models import IntegerField
from django.db.models.lookups import In


class IntegerFieldIn(In):
    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            try:
                low, high = connection.ops.integer_field_range(
                    self.lhs.output_field.get_internal_type()
                )
            except KeyError:  # an integer type the backend gives no range for
                low = high = None
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


def register() -> None:
    IntegerField.register_lookup(IntegerFieldIn)
