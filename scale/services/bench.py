"""The page benchmark's run: p50 and p95 of the key pages, warm, and each page's query count.

``manage.py bench_pages`` runs :func:`run` on a database of generated data; what is measured is
chosen by ``scale.selectors.bench``. The requests write what any request writes (sessions,
access-log rows), hence a service.

How a page is measured, and why:

* **In-process, through the whole stack**: ``django.test.Client`` goes through the same WSGI
  handler and middleware as gunicorn, with no network in the figures and the production settings
  (no test environment), except ``REQUIRE_MFA=0``, since the benchmark signs in with
  ``force_login``. ``DEBUG`` must be off.
* **Warm**: each page is requested ``warmup`` times first, so that templates are compiled,
  connections open and PostgreSQL's cache holds what the page reads.
* **The query count** comes from one extra request under ``CaptureQueriesContext`` (capturing
  has a cost), right after the first one, so that the session's once-a-minute activity stamp
  never falls into it and the count is the same on every run.
* **A streamed response** is read to its end inside the timing: its queries run while it is read.
* **Server-side database time**: each query of the counted request is run again under
  ``EXPLAIN (ANALYZE, FORMAT JSON)`` inside a transaction that is rolled back (writes included,
  undone), three times; ``db_ms`` is the median of the three sums of planning and execution
  time. It is what PostgreSQL spent, apart from the driver, the network and Python.
* **Every measured response must be 200**; anything else is recorded as an error and stops that
  page's measurement.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from scale.rules import bench as bench_rules
from scale.selectors import bench as bench_selectors

DEFAULT_ITERATIONS = 40
DEFAULT_WARMUP = 5


def _host() -> str:
    """A host name the site answers to (the test client's requests carry it)."""
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "localhost"
        if host:
            return host.lstrip(".")
    raise bench_rules.BenchError(
        "ALLOWED_HOSTS is empty, so every request would answer 400: set it."
    )


def _get(http: HttpClient, path: str) -> tuple[int, float, int, str]:
    """One request: status, seconds (the whole body read, streamed or not), bytes, Location."""
    started = time.perf_counter()
    response = http.get(path, secure=True)
    if response.streaming:
        size = sum(len(chunk) for chunk in response.streaming_content)
    else:
        size = len(response.content)
    elapsed = time.perf_counter() - started
    return response.status_code, elapsed, size, response.get("Location", "")


EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
DB_PASSES = 3


class _Undo(Exception):
    pass


def _explain_ms(sql: str) -> float:
    """Planning plus execution time of one statement, as PostgreSQL reports it."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]
    return float(top.get("Planning Time", 0.0)) + float(top.get("Execution Time", 0.0))


def database_ms(statements: list[str]) -> float | None:
    """The server's time for a request's statements (median of DB_PASSES), writes undone."""
    if connection.vendor != "postgresql":
        return None
    runnable = [s for s in statements if s.lstrip().upper().startswith(EXPLAINABLE)]
    totals = []
    for _ in range(DB_PASSES):
        total = 0.0
        try:
            with transaction.atomic():
                for sql in runnable:
                    try:
                        with transaction.atomic():
                            total += _explain_ms(sql)
                    except DatabaseError:
                        continue  # a statement that cannot run alone (none so far)
                raise _Undo
        except _Undo:
            pass
        totals.append(total)
    return round(statistics.median(totals), 2)


def measure(
    http: HttpClient, user: User, page: bench_rules.Page, *, iterations: int, warmup: int
) -> dict:
    """One page's figures, or its error."""
    result = {"key": page.key, "title": page.title, "role": page.role, "path": page.path}
    if page.path is None:
        return result | {"status": None, "error": f"Nothing to measure: no {page.missing}."}

    # A fresh sign-in per page: no session idles out while other pages are measured.
    http.force_login(user)
    try:
        status, _, size, location = _get(http, page.path)  # warm-up 1: sets the session stamp
        if status == 200:
            with CaptureQueriesContext(connection) as captured:
                status, _, size, location = _get(http, page.path)
            result["queries"] = len(captured.captured_queries)
            result["db_ms"] = database_ms([q["sql"] for q in captured.captured_queries])
        for _ in range(max(warmup - 1, 0)):
            if status != 200:
                break
            status, _, size, location = _get(http, page.path)
        timings = []
        while status == 200 and len(timings) < iterations:
            status, elapsed, size, location = _get(http, page.path)
            timings.append(elapsed * 1000)
    finally:
        http.logout()

    result["status"] = status
    if status != 200:
        where = f" to {location}" if location else ""
        return result | {"error": f"Answered {status}{where}, not 200."}
    return result | {
        "samples": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(bench_rules.percentile(timings, 0.95), 2),
        "min_ms": round(min(timings), 2),
        "max_ms": round(max(timings), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
        "bytes": size,
    }


def run(
    *,
    iterations: int = DEFAULT_ITERATIONS,
    warmup: int = DEFAULT_WARMUP,
    log=None,
    only: frozenset[str] = frozenset(),
) -> dict:
    """Measure every page (or only the keys in ``only``, for a quick look while working on a
    page; the report is always written from full runs); the document bench_pages writes."""
    if iterations < 1 or warmup < 1:
        raise bench_rules.BenchError("--iterations and --warmup are at least 1.")
    if settings.DEBUG:
        raise bench_rules.BenchError(
            "DEBUG is on: it records every query and slows every page. Set DEBUG=0."
        )
    if settings.REQUIRE_MFA:
        raise bench_rules.BenchError(
            "Two-factor sign-in is on: the benchmark signs in with a password session only. "
            "Set REQUIRE_MFA=0."
        )
    host = _host()
    # Before anything runs: what else the machine was doing when this round started.
    load_average = [round(x, 2) for x in os.getloadavg()]
    rows = bench_selectors.datasets()
    latest = rows[-1] if rows else None
    as_of = date.fromisoformat(latest["as_of"]) if latest and latest.get("as_of") else None
    as_of = as_of or timezone.localdate()
    selection = bench_selectors.choose(as_of, bench_selectors.typical_clinic_id())
    worst = bench_selectors.choose(as_of, bench_selectors.largest_clinic_id(), bench_rules.LARGEST)
    selection.pages += worst.pages
    selection.users |= worst.users
    selection.sizes["largest_clinic"] = worst.sizes

    http = HttpClient(HTTP_HOST=host)
    results = []
    for page in selection.pages:
        if only and page.key not in only:
            continue
        if log:
            log(f"  {page.key:<20} {page.path or '(' + page.missing + ')'}")
        figures = measure(
            http, selection.users[page.role], page, iterations=iterations, warmup=warmup
        )
        results.append(figures)
        if log and "error" not in figures:
            log(
                f"  {'':<20} p50 {figures['p50_ms']:.1f} ms  p95 {figures['p95_ms']:.1f} ms  "
                f"{figures['queries']} queries"
            )
    errors = [
        {"page": r["key"], "status": r["status"], "message": r["error"]}
        for r in results
        if "error" in r
    ]
    return {
        "load_average": load_average,
        "scale": latest.get("scale") if latest else None,
        "seed": latest.get("seed") if latest else None,
        "measured_at": timezone.now().isoformat(timespec="seconds"),
        "iterations": iterations,
        "warmup": warmup,
        "database": bench_selectors.database_server(),
        "settings": {
            "debug": settings.DEBUG,
            "require_mfa": settings.REQUIRE_MFA,
            "conn_max_age": connection.settings_dict.get("CONN_MAX_AGE"),
        },
        "datasets": rows,
        "entities": bench_rules.jsonable(selection.sizes),
        "pages": results,
        "errors": errors,
    }
