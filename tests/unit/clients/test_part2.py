"""When a 42 CFR Part 2 consent is in force (``clients.rules.part2``), without a database."""

from datetime import date

import pytest

from clients.rules import part2

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("signed_on", "expires_on", "revoked_on", "expected"),
    [
        (date(2026, 12, 1), date(2027, 12, 1), None, True),
        (TODAY, None, None, True),  # signed today, ends with an event
        (date(2026, 12, 8), None, None, False),  # signed tomorrow
        (date(2025, 12, 1), TODAY, None, True),  # its last day
        (date(2025, 12, 1), date(2026, 12, 6), None, False),  # ended yesterday
        (date(2026, 1, 1), None, TODAY, False),  # revoked today
        (date(2026, 1, 1), None, date(2026, 12, 8), True),  # revocation takes effect tomorrow
        (date(2026, 1, 1), None, date(2026, 6, 1), False),
    ],
)
def test_in_force(signed_on, expires_on, revoked_on, expected):
    assert (
        part2.in_force(
            signed_on=signed_on, expires_on=expires_on, revoked_on=revoked_on, today=TODAY
        )
        is expected
    )
