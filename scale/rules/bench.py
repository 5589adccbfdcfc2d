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


FLOOR_PAGE = "floor"


def merge_rounds(rounds: list[dict]) -> dict:
    """One scale's rounds of ``bench_pages`` merged: each page's median over the rounds.

    A single run's p50 moves with whatever else the machine does, so the benchmark runs each
    scale several times, interleaved with the other scale, and keeps per page the median of
    the rounds' p50, p95 and database time; the floor ratio is that p50 over the floor page's.
    The rounds' own figures, and the load average before each, stay in ``rounds``.
    """
    if not rounds:
        raise ValueError("no rounds")
    last = rounds[-1]
    pages = []
    for page in last.get("pages", []):
        key = page["key"]
        seen = [p for r in rounds for p in r.get("pages", []) if p["key"] == key]
        measured = [p for p in seen if "error" not in p]
        merged = {k: page[k] for k in ("key", "title", "role", "path") if k in page}
        if len(measured) < len(seen) or not measured:
            error = next((p for p in seen if "error" in p), page)
            pages.append(merged | {"status": error.get("status"), "error": error.get("error")})
            continue
        merged["status"] = 200
        for figure in ("p50_ms", "p95_ms", "db_ms"):
            values = [p[figure] for p in measured if p.get(figure) is not None]
            merged[figure] = round(_median(values), 2) if values else None
        counts = sorted({p["queries"] for p in measured if p.get("queries") is not None})
        merged["queries"] = counts[-1] if counts else None
        if len(counts) > 1:
            merged["queries_varied"] = counts
        merged["rounds_p50_ms"] = [p["p50_ms"] for p in measured]
        merged["samples"] = sum(p.get("samples", 0) for p in measured)
        merged["bytes"] = measured[-1].get("bytes")
        for extra in ("results", "word"):
            if extra in measured[-1]:
                merged[extra] = measured[-1][extra]
        pages.append(merged)
    floor = next((p for p in pages if p["key"] == FLOOR_PAGE and p.get("p50_ms")), None)
    for page in pages:
        if floor and page.get("p50_ms") is not None:
            page["floor_ratio"] = round(page["p50_ms"] / floor["p50_ms"], 2)
        else:
            page["floor_ratio"] = None
    document = {k: v for k, v in last.items() if k != "pages"}
    document["pages"] = pages
    document["rounds"] = [
        {"measured_at": r.get("measured_at"), "load_average": r.get("load_average")} for r in rounds
    ]
    document["errors"] = [
        {"page": p["key"], "status": p.get("status"), "message": p["error"]}
        for p in pages
        if "error" in p
    ]
    return document


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def merge_imports(rounds: list[dict]) -> dict:
    """The CSV import benchmark's rounds (``bench_csv_import``): the median of the preview's
    and the confirmation's seconds, each round's figures and load average kept beside them."""
    measured = [r for r in rounds if "error" not in r and r.get("confirm_s") is not None]
    merged = {
        "rows": rounds[-1].get("rows"),
        "listings_before": rounds[-1].get("listings_before"),
        "target_s": rounds[-1].get("target_s"),
        "rounds": [
            {
                key: r.get(key)
                for key in (
                    "measured_at",
                    "load_average",
                    "preview_s",
                    "confirm_s",
                    "confirm_request_s",
                    "task_s",
                    "confirm_statements",
                    "error",
                )
                if r.get(key) is not None
            }
            for r in rounds
        ],
    }
    if measured:
        for figure in ("preview_s", "confirm_s", "confirm_request_s"):
            values = [r[figure] for r in measured if r.get(figure) is not None]
            merged[figure] = round(_median(values), 2) if values else None
        merged["confirm_s_max"] = max(r["confirm_s"] for r in measured)
        merged["confirm_statements"] = sorted({r["confirm_statements"] for r in measured})
        merged["planned"] = measured[-1].get("planned")
        merged["background"] = any(r.get("background") for r in measured)
    errors = [r["error"] for r in rounds if "error" in r]
    if errors:
        merged["errors"] = errors
    return merged
