"""When a client's 42 CFR Part 2 consent to disclose is in force (42 CFR 2.31): pure Python.

From the day it was signed, through its end date if it has one (an event named instead ends it
when staff record it as revoked), until the day a revocation takes effect.
"""

from __future__ import annotations

from datetime import date


def in_force(
    *, signed_on: date, expires_on: date | None, revoked_on: date | None, today: date
) -> bool:
    return (
        signed_on <= today
        and (revoked_on is None or revoked_on > today)
        and (expires_on is None or expires_on >= today)
    )
