"""The benchmark's pure parts: a measured page, the per-clinic pages, percentiles.

No database here: the choice of what to measure is ``scale.selectors.bench``'s, the measuring
``scale.services.bench``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

PERCENTILE_PICK = 0.9  # which entity of a ranked list stands for "a busy one"


class BenchError(Exception):
    """The benchmark cannot run here (settings, or no data to measure)."""


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    role: str  # "clinician", "supervisor" or "superuser"
    path: str | None  # None when no entity fits: ``missing`` says what was looked for
    missing: str = ""


# The pages whose data is one clinic's: measured at the typical clinic and at the largest.
PER_CLINIC_PAGES = frozenset(
    {
        "client",
        "screening",
        "matching",
        "referral",
        "worklist",
        "review",
        "supervisor_home",
        "access_log",
        "access_log_filtered",
        "export",
    }
)
LARGEST = "@largest"


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default method)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def pick(ranked: list, fraction: float = PERCENTILE_PICK):
    """The item at ``fraction`` of a list ranked from least to most."""
    return ranked[round((len(ranked) - 1) * fraction)] if ranked else None


def jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
