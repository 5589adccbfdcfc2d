"""The performance targets and the report: the figures in, verdicts and markdown out.

:func:`build` assembles the document of docs/performance.json from each scale's ``bench_pages``
output, the load test's and the machine's; :func:`markdown` writes docs/PERFORMANCE.md from
that document alone. The targets are evaluated here, mechanically, from the figures: nothing in
the report is typed by hand, and a target the figures do not meet says NOT MET with them. A
target that needs a figure the run did not produce (no county run, no load test) says NOT
EVALUATED and why. Reading the machine and writing the files is ``scale/report.py``'s.

No Django and no I/O: this runs where only the JSON is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

SMALL, COUNTY = "small", "county"

# The targets: how pages may grow with the data, and what memory the tools may take.
MAX_GROWTH = 1.5  # county p50 at most this times small p50, per page, at equal page fill
MAX_FLOOR_RATIO = 4.0  # every product page's p50 at most this times the floor page's (county)
MAX_SEARCH_DB_MS = 5.0  # the directory search's server-side database time (county)
MAX_REFERRAL_QUERIES = 12  # the referral page's queries
FLOOR_PAGE = "floor"
REFERRAL_PAGES = ("referral", "referral@largest")
# The searches whose result counts differ between the scales (7 results at small, a full page
# at county): measured and shown, but growth compares equal page fill (search_browse and
# search_full fill a page of 20 at both scales).
UNEQUAL_FILL = frozenset({"search", "search_filtered"})
NOT_PRODUCT = frozenset({"admin_search", FLOOR_PAGE})
MAX_SEARCH_VS_ADMIN = 0.5  # directory search p95 at most this times the admin changelist's
MAX_GENERATOR_PEAK_MIB = 1024.0  # the generator's peak memory at county scale: under 1 GiB
MAX_WORKER_RSS_MIB = 250.0  # a gunicorn worker's resident memory through the load test

SEARCH_PAGE, ADMIN_PAGE = "search", "admin_search"

MET, NOT_MET, NOT_EVALUATED = "MET", "NOT MET", "NOT EVALUATED"


@dataclass(frozen=True)
class Verdict:
    target: str
    status: str  # MET, NOT MET or NOT EVALUATED
    figures: str


def build(
    *,
    runs: dict[str, dict],
    loadtest: dict | None,
    machine: dict,
    command: str,
    generated_at: str | None = None,
) -> dict:
    """The document of docs/performance.json: every run's figures and the targets' verdicts."""
    postgres = sorted(
        {r.get("database", {}).get("version") for r in runs.values()} - {None}, key=str
    )
    datasets = {}
    for scale, run in runs.items():
        rows = [row for row in run.get("datasets", []) if row.get("scale") == scale]
        if rows:
            datasets[scale] = rows[-1]
    document = {
        "generated_at": generated_at or datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "machine": {**machine, "postgresql": ", ".join(postgres) or None},
        "scales": list(runs),
        "datasets": datasets,
        "runs": runs,
        "loadtest": loadtest,
    }
    document["targets"] = [asdict(v) for v in evaluate(document)]
    return document


# --- the targets ------------------------------------------------------------------------------


def _pages(document: dict, scale: str) -> dict[str, dict]:
    run = document.get("runs", {}).get(scale) or {}
    return {page["key"]: page for page in run.get("pages", [])}


def _ms(value) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def _mib(value) -> str:
    return "–" if value is None else f"{value:,.0f} MiB"


def _ratio(value) -> str:
    return "–" if value is None else f"{value:.2f}×"


def growth(small: dict | None, county: dict | None, key: str = "p95_ms") -> float | None:
    """county / small of one page's figure, when both were measured."""
    if not small or not county or small.get(key) is None or county.get(key) is None:
        return None
    if small[key] <= 0:
        return None
    return county[key] / small[key]


def _needs_both(document: dict) -> str | None:
    missing = [s for s in (SMALL, COUNTY) if s not in document.get("runs", {})]
    if missing:
        return f'no {" or ".join(missing)} run in this report (SCALES="small county" runs both)'
    return None


LARGEST = "@largest"  # scale/rules/bench.py: per-clinic pages measured again at the largest clinic


def _growth_verdict(document: dict, largest: bool = False) -> Verdict:
    """The growth target; with ``largest``, the same over the largest clinic's pages.

    The small scale has one clinic of the county's average size, so the target proper compares
    like with like (a county clinic of that size); the largest clinic is a separate verdict,
    which shows what a clinic's own size costs the pages that list its records.
    """
    target = (
        f"Every page's p50 (median of the rounds) at county scale at most {MAX_GROWTH}× "
        "its p50 at small scale, searches at equal page fill"
    )
    if largest:
        target = (
            f"Worst case: the per-clinic pages at the largest county clinic at most "
            f"{MAX_GROWTH}× the small scale's (its one clinic is the largest there)"
        )
    reason = _needs_both(document)
    if reason:
        return Verdict(target, NOT_EVALUATED, reason)
    small, county = _pages(document, SMALL), _pages(document, COUNTY)
    over, unmeasured, worst = [], [], None
    # The admin changelist is the search's peer (its own verdict), not a page of the product.
    keys = [
        k
        for k in dict.fromkeys([*small, *county])
        if (LARGEST in k) == largest and k not in NOT_PRODUCT and k not in UNEQUAL_FILL
    ]
    for key in keys:
        ratio = growth(small.get(key), county.get(key), "p50_ms")
        if ratio is None:
            unmeasured.append(key)
            continue
        if worst is None or ratio > worst[1]:
            worst = (key, ratio)
        if ratio > MAX_GROWTH:
            over.append(f"{key} {_ratio(ratio)}")
    parts = []
    if over:
        parts.append("over the limit: " + ", ".join(over))
    if unmeasured:
        parts.append("no figure at both scales: " + ", ".join(unmeasured))
    if worst:
        parts.append(f"highest: {worst[0]} {_ratio(worst[1])}")
    status = MET if not over and not unmeasured and worst else NOT_MET
    return Verdict(target, status, "; ".join(parts) or "no page measured")


def _floor_verdict(document: dict) -> Verdict:
    target = (
        f"At county scale every product page's p50 at most {MAX_FLOOR_RATIO:g}× the floor "
        "page's (the largest clinic included)"
    )
    if COUNTY not in document.get("runs", {}):
        return Verdict(target, NOT_EVALUATED, "no county run in this report")
    pages = _pages(document, COUNTY)
    floor = pages.get(FLOOR_PAGE, {})
    if not floor.get("p50_ms"):
        return Verdict(target, NOT_MET, "the floor page was not measured")
    over, worst = [], None
    for key, page in pages.items():
        if key in NOT_PRODUCT:
            continue
        p50 = page.get("p50_ms")
        ratio = None if p50 is None else p50 / floor["p50_ms"]
        if ratio is None:
            over.append(f"{key} not measured")
            continue
        if worst is None or ratio > worst[1]:
            worst = (key, ratio)
        if ratio > MAX_FLOOR_RATIO:
            over.append(f"{key} {_ratio(ratio)}")
    parts = [f"floor p50 {_ms(floor['p50_ms'])}"]
    if over:
        parts.append("over: " + ", ".join(over))
    if worst:
        parts.append(f"highest: {worst[0]} {_ratio(worst[1])}")
    return Verdict(target, MET if not over and worst else NOT_MET, "; ".join(parts))


def _search_db_verdict(document: dict) -> Verdict:
    target = (
        f"Directory search's server-side database time at most {MAX_SEARCH_DB_MS:g} ms "
        "(county, every search page)"
    )
    if COUNTY not in document.get("runs", {}):
        return Verdict(target, NOT_EVALUATED, "no county run in this report")
    pages = _pages(document, COUNTY)
    keys = [k for k in pages if k.startswith("search")]
    figures = {k: pages[k].get("db_ms") for k in keys}
    if not keys or any(v is None for v in figures.values()):
        return Verdict(target, NOT_MET, "database time not measured for every search page")
    over = [k for k, v in figures.items() if v > MAX_SEARCH_DB_MS]
    text = ", ".join(f"{k} {_ms(v)}" for k, v in figures.items())
    return Verdict(target, NOT_MET if over else MET, text)


def _referral_queries_verdict(document: dict) -> Verdict:
    target = f"The referral page in at most {MAX_REFERRAL_QUERIES} queries"
    found = [
        (scale, key, page.get("queries"))
        for scale in document.get("runs", {})
        for key, page in _pages(document, scale).items()
        if key in REFERRAL_PAGES
    ]
    if not found:
        return Verdict(target, NOT_EVALUATED, "the referral page was not measured")
    over = [f for f in found if f[2] is None or f[2] > MAX_REFERRAL_QUERIES]
    text = ", ".join(f"{scale} {key}: {n}" for scale, key, n in found)
    return Verdict(target, NOT_MET if over else MET, text)


def _queries_verdict(document: dict) -> Verdict:
    target = "Query counts that do not depend on the data size (equal at both scales)"
    reason = _needs_both(document)
    if reason:
        return Verdict(target, NOT_EVALUATED, reason)
    small, county = _pages(document, SMALL), _pages(document, COUNTY)
    differ, unmeasured, equal = [], [], 0
    for key in dict.fromkeys([*small, *county]):
        a, b = small.get(key, {}).get("queries"), county.get(key, {}).get("queries")
        if a is None or b is None:
            unmeasured.append(key)
        elif a != b:
            differ.append(f"{key} {a} → {b}")
        else:
            equal += 1
    parts = [f"{equal} page(s) equal"]
    if differ:
        parts.append("different: " + ", ".join(differ))
    if unmeasured:
        parts.append("not counted at both scales: " + ", ".join(unmeasured))
    status = MET if not differ and not unmeasured and equal else NOT_MET
    return Verdict(target, status, "; ".join(parts))


def _search_verdict(document: dict) -> Verdict:
    target = (
        f"Directory search at most {MAX_SEARCH_VS_ADMIN}× the Django admin changelist's time "
        "on the same data (p95, county scale)"
    )
    if COUNTY not in document.get("runs", {}):
        return Verdict(target, NOT_EVALUATED, "no county run in this report")
    pages = _pages(document, COUNTY)
    search, peer = pages.get(SEARCH_PAGE, {}), pages.get(ADMIN_PAGE, {})
    ratio = growth(peer, search)  # search / admin
    if ratio is None:
        return Verdict(target, NOT_MET, "the search or the admin changelist was not measured")
    figures = (
        f"search p95 {_ms(search['p95_ms'])}, admin changelist p95 {_ms(peer['p95_ms'])}: "
        f"{_ratio(ratio)}"
    )
    return Verdict(target, MET if ratio <= MAX_SEARCH_VS_ADMIN else NOT_MET, figures)


def _bench_errors_verdict(document: dict) -> Verdict:
    target = "Every benchmarked page answered 200 at every scale"
    runs = document.get("runs", {})
    if not runs:
        return Verdict(target, NOT_EVALUATED, "no run in this report")
    errors = [
        f"{scale}: {error['page']} ({error['message']})"
        for scale, run in runs.items()
        for error in run.get("errors", [])
    ]
    if errors:
        return Verdict(target, NOT_MET, "; ".join(errors))
    count = sum(len(run.get("pages", [])) for run in runs.values())
    return Verdict(target, MET, f"{count} page measurements, no error")


def _loadtest_errors_verdict(document: dict) -> Verdict:
    target = "No errors under load"
    load = document.get("loadtest")
    if not load:
        return Verdict(target, NOT_EVALUATED, "no load test in this report (LOADTEST=0?)")
    if load.get("error"):
        return Verdict(target, NOT_MET, f"the load test did not complete: {load['error']}")
    failures, requests = load.get("failures"), load.get("requests")
    if failures is None or not requests:
        return Verdict(target, NOT_MET, "the load test reported no requests")
    # Failed requests, exceptions in the simulated journey, and errors in the server's log.
    errors = load.get("errors") or 0
    server_errors = len(load.get("server_errors") or [])
    figures = f"{failures:,} failure(s) in {requests:,} requests ({load.get('users')} users)"
    if errors or server_errors:
        figures += f"; {errors:,} journey error(s), {server_errors:,} server error(s)"
    status = MET if failures == 0 and not errors and not server_errors else NOT_MET
    return Verdict(target, status, figures)


def _generator_verdict(document: dict) -> Verdict:
    target = f"The generator's peak memory at county scale under {MAX_GENERATOR_PEAK_MIB:.0f} MiB"
    dataset = document.get("datasets", {}).get(COUNTY)
    if not dataset or dataset.get("peak_rss_mib") is None:
        return Verdict(target, NOT_EVALUATED, "no county dataset in this report")
    peak = dataset["peak_rss_mib"]
    status = MET if peak < MAX_GENERATOR_PEAK_MIB else NOT_MET
    return Verdict(target, status, f"peak {_mib(peak)} (seed {dataset.get('seed')})")


def _worker_verdict(document: dict) -> Verdict:
    target = f"A gunicorn worker under {MAX_WORKER_RSS_MIB:.0f} MiB resident through the load test"
    load = document.get("loadtest")
    if not load or load.get("worker_rss_max_mib") is None:
        return Verdict(target, NOT_EVALUATED, "no worker memory figure (no load test)")
    peak = load["worker_rss_max_mib"]
    status = MET if peak < MAX_WORKER_RSS_MIB else NOT_MET
    return Verdict(target, status, f"largest worker {_mib(peak)} ({load.get('workers')} workers)")


def _csv_import_verdict(document: dict) -> Verdict:
    """The 5,000-row CSV import: its confirmation's median over the rounds, at the county
    scale when it ran (the most listings to update), else the largest scale measured."""
    target = (
        "A 5,000-row CSV import confirms in under 10 s on PostgreSQL, or its confirming "
        "request does and the background worker writes it (median of the rounds, load "
        "average recorded), in the same statements every round (a fixed set, plus an INSERT "
        "per further thousand new listings or contacts, never one per row)"
    )
    runs = document.get("runs", {})
    scale = COUNTY if COUNTY in runs else next(reversed(list(runs)), None)
    figures = (runs.get(scale) or {}).get("csv_import") if scale else None
    if not figures:
        return Verdict(target, NOT_EVALUATED, "no CSV import measured (BENCH_CSV_IMPORT=0?)")
    if figures.get("confirm_s") is None:
        return Verdict(target, NOT_MET, "; ".join(figures.get("errors") or ["not measured"]))
    limit = figures.get("target_s") or 10.0
    loads = ", ".join(
        "/".join(f"{x:.1f}" for x in r["load_average"])
        for r in figures.get("rounds", [])
        if r.get("load_average")
    )
    statements = figures.get("confirm_statements") or []
    text = (
        f"{scale}: {figures.get('rows'):,} rows onto {figures.get('listings_before'):,} listings, "
        f"confirm {figures['confirm_s']:.1f} s median (slowest {figures['confirm_s_max']:.1f} s), "
        f"preview {figures.get('preview_s', 0):.1f} s, {'/'.join(map(str, statements))} "
        f"statements; load average before each round {loads or '–'}"
    )
    if figures.get("background") and figures.get("confirm_request_s") is not None:
        text += (
            f"; written by the background worker, the confirming request "
            f"{figures['confirm_request_s']:.1f} s (it only queues the import)"
        )
    request_s = figures.get("confirm_request_s")
    quick = figures["confirm_s"] < limit or (
        figures.get("background") and request_s is not None and request_s < limit
    )
    met = bool(quick) and len(statements) == 1
    return Verdict(target, MET if met else NOT_MET, text)


def evaluate(document: dict) -> list[Verdict]:
    """Each target against the figures of ``document``."""
    return [
        _floor_verdict(document),
        _growth_verdict(document),
        _growth_verdict(document, largest=True),
        _queries_verdict(document),
        _search_db_verdict(document),
        _referral_queries_verdict(document),
        _search_verdict(document),
        _bench_errors_verdict(document),
        _loadtest_errors_verdict(document),
        _generator_verdict(document),
        _worker_verdict(document),
        _csv_import_verdict(document),
    ]


# --- the markdown -----------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _flatten(value: dict, prefix: str = "") -> dict:
    flat = {}
    for key, item in value.items():
        if isinstance(item, dict):
            flat |= _flatten(item, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _machine_lines(document: dict) -> list[str]:
    m = document.get("machine", {})
    commit = m.get("git_commit") or "unknown"
    if m.get("git_uncommitted_changes"):
        commit += " (with uncommitted changes)"
    return _table(
        ["", ""],
        [
            ["Date", document.get("generated_at")],
            ["CPU", f"{m.get('cpu')} ({m.get('cores')} cores)"],
            ["Memory", _mib(m.get("ram_mib"))],
            ["Operating system", m.get("os")],
            ["Python", m.get("python")],
            ["Django", m.get("django")],
            ["PostgreSQL (server)", m.get("postgresql")],
            ["Commit", commit],
        ],
    ) + _round_lines(document)


def _round_lines(document: dict) -> list[str]:
    """The load average (1, 5, 15 min) before each round: how busy the machine was."""
    rows = []
    for scale, run in document.get("runs", {}).items():
        for number, round_ in enumerate(run.get("rounds", []), start=1):
            load = round_.get("load_average")
            rows.append(
                [
                    number,
                    scale,
                    round_.get("measured_at"),
                    ", ".join(f"{x:.2f}" for x in load) if load else "–",
                ]
            )
    if not rows:
        return []
    rows.sort(key=lambda row: (row[2] or "", row[1]))
    return ["", *_table(["round", "scale", "measured at", "load average before it"], rows)]


def _dataset_lines(document: dict) -> list[str]:
    datasets = document.get("datasets", {})
    if not datasets:
        return ["No generator record (ScaleDataset) in the measured databases.", ""]
    scales = list(datasets)
    rows = [
        ["seed", *(str(datasets[s].get("seed")) for s in scales)],
        ["as of", *(datasets[s].get("as_of") for s in scales)],
        ["generator version", *(str(datasets[s].get("generator_version")) for s in scales)],
        ["generation time (s)", *(datasets[s].get("seconds") for s in scales)],
        ["generator peak memory (MiB)", *(datasets[s].get("peak_rss_mib") for s in scales)],
    ]
    # Alphabetical: PostgreSQL's JSON keeps no order of its own.
    tables = sorted({k for s in scales for k in (datasets[s].get("counts") or {})})
    rows += [
        [f"rows: {table}", *((datasets[s].get("counts") or {}).get(table) for s in scales)]
        for table in tables
    ]
    return _table(["", *scales], rows)


def _entity_lines(document: dict) -> list[str]:
    runs = document.get("runs", {})
    flat = {scale: _flatten(run.get("entities") or {}) for scale, run in runs.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    if not keys:
        return []
    return [
        "What the pages read: the entities were chosen by the same queries at every scale "
        "(scale/selectors/bench.py); their sizes, before the run:",
        "",
        *_table(["", *runs], [[key, *(flat[s].get(key) for s in runs)] for key in keys]),
    ]


def _page_lines(document: dict) -> list[str]:
    runs = document.get("runs", {})
    scales = list(runs)
    pages = {scale: _pages(document, scale) for scale in scales}
    keys = list(dict.fromkeys(k for p in pages.values() for k in p))
    both = SMALL in runs and COUNTY in runs

    overview_header = ["page"]
    for scale in scales:
        overview_header += [
            f"{scale} p50",
            f"{scale} p95",
            f"{scale} queries",
            f"{scale} db ms",
            f"{scale} × floor",
        ]
    if both:
        overview_header.append("growth p50 county/small")
    overview = []
    for key in keys:
        row = [next(pages[s][key] for s in scales if key in pages[s]).get("title", key)]
        for scale in scales:
            page = pages[scale].get(key, {})
            row += [
                page.get("p50_ms"),
                page.get("p95_ms"),
                page.get("queries"),
                page.get("db_ms"),
                _ratio(page.get("floor_ratio")),
            ]
        if both:
            ratio = growth(pages[SMALL].get(key), pages[COUNTY].get(key), "p50_ms")
            row.append(_ratio(ratio) + (" (unequal fill)" if key in UNEQUAL_FILL else ""))
        overview.append(row)
    lines = [
        "Times in milliseconds: each the median over the rounds of that round's p50 or p95; "
        "db ms is PostgreSQL's own planning and execution time for the page's queries; "
        "× floor is p50 over the floor page's p50 at the same scale.",
        "",
        *_table(overview_header, overview),
    ]

    for key in keys:
        any_page = next(pages[s][key] for s in scales if key in pages[s])
        lines += [f"### {any_page.get('title', key)}", ""]
        paths = dict.fromkeys(pages[s][key].get("path") for s in scales if key in pages[s])
        where = "; ".join(f"`{p}`" for p in paths if p) or "(no address: nothing to measure)"
        lines += [f"{where}, as the {any_page.get('role')}.", ""]
        rows = []
        for scale in scales:
            page = pages[scale].get(key)
            if page is None:
                rows.append([scale, None, None, None, None, None, None, "not run"])
                continue
            rows.append(
                [
                    scale,
                    page.get("p50_ms"),
                    page.get("p95_ms"),
                    page.get("queries"),
                    page.get("db_ms"),
                    ", ".join(f"{x:g}" for x in page.get("rounds_p50_ms", [])),
                    page.get("samples"),
                    page.get("error") or "",
                ]
            )
        lines += _table(
            [
                "scale",
                "p50 (ms)",
                "p95 (ms)",
                "queries",
                "db (ms)",
                "p50 of each round",
                "samples",
                "error",
            ],
            rows,
        )
        if both:
            ratio = growth(pages[SMALL].get(key), pages[COUNTY].get(key), "p50_ms")
            verdict = (
                "–"
                if ratio is None
                else ("within" if ratio <= MAX_GROWTH else "**over**") + f" {MAX_GROWTH}×"
            )
            lines += [f"Growth of p50, county / small: **{_ratio(ratio)}** ({verdict}).", ""]
    return lines


def _search_lines(document: dict) -> list[str]:
    rows = []
    for scale in document.get("runs", {}):
        pages = _pages(document, scale)
        search, peer = pages.get(SEARCH_PAGE), pages.get(ADMIN_PAGE)
        rows.append(
            [
                scale,
                (search or {}).get("p50_ms"),
                (peer or {}).get("p50_ms"),
                _ratio(growth(peer, search, "p50_ms")),
                (search or {}).get("p95_ms"),
                (peer or {}).get("p95_ms"),
                _ratio(growth(peer, search)),
            ]
        )
    return [
        "The directory's search page and the Django admin's changelist of listings "
        "(`directory/admin.py`, a stock `ModelAdmin` searching name, aliases, description and "
        "needs) with the same words, on the same data; the ratio is search / admin, and the "
        f"target is at most {MAX_SEARCH_VS_ADMIN}× at county scale.",
        "",
        *_table(
            [
                "scale",
                "search p50 (ms)",
                "admin p50 (ms)",
                "ratio p50",
                "search p95 (ms)",
                "admin p95 (ms)",
                "ratio p95",
            ],
            rows,
        ),
    ]


def _loadtest_lines(document: dict) -> list[str]:
    load = document.get("loadtest")
    if not load:
        return [
            "Not run in this report (`LOADTEST=0`, or `scripts/loadtest.py` was missing).",
            "",
        ]
    if load.get("error") and load.get("requests") is None:
        return [f"The load test did not complete: {load['error']}", ""]
    lines = [
        f"Locust, headless, on loopback against gunicorn on PostgreSQL ({load.get('scale')} "
        f"scale data): {load.get('users')} simulated clinicians doing the referral journey "
        f"for {load.get('duration_s')} s (`scripts/loadtest.py`).",
        "",
        *_table(
            ["", ""],
            [
                ["requests", load.get("requests")],
                ["requests per second", load.get("rps")],
                ["p50 (ms)", load.get("p50_ms")],
                ["p95 (ms)", load.get("p95_ms")],
                ["failures", load.get("failures")],
                ["errors in the simulated journey", load.get("errors")],
                ["errors in the server's log", len(load.get("server_errors") or [])],
                ["gunicorn workers", load.get("workers")],
                ["largest worker's resident memory (MiB)", load.get("worker_rss_max_mib")],
            ],
        ),
    ]
    endpoints = load.get("endpoints") or []
    if endpoints and all(isinstance(e, dict) for e in endpoints):
        header = list(dict.fromkeys(k for e in endpoints for k in e))
        lines += _table(header, [[e.get(k) for k in header] for e in endpoints])
    elif endpoints:
        lines += ["Endpoints: " + ", ".join(f"`{e}`" for e in endpoints), ""]
    return lines


def markdown(document: dict) -> str:
    verdicts = [Verdict(**v) for v in document.get("targets", [])] or evaluate(document)
    runs = document.get("runs", {})
    first = next(iter(runs.values()), {})
    lines = [
        "# Performance",
        "",
        "<!-- Written by scale/report.py from docs/performance.json; do not edit by hand. -->",
        "",
        "The scaling targets' figures, measured by the benchmark that ships with the repository. "
        "The design choices behind them (indexes, full-text search, pagination, partitioning "
        "the access log) are in [SCALING.md](SCALING.md).",
        "",
        "## How it was produced",
        "",
        f"    {document.get('command')}",
        "",
        "`make bench` (`scripts/bench.py`) makes one PostgreSQL database per scale "
        "(`<name>_bench_<scale>`, from `DATABASE_URL`), migrates it, fills it with "
        "`generate_scale_data --scale <scale> --seed <seed>` (kept when it already holds that "
        "scale and seed), runs `manage.py bench_pages` against it, runs the load test against "
        "the county database, and writes this file and `docs/performance.json`. "
        "`python -m scale.report docs/performance.json` writes this file again from the JSON.",
        "",
        f"Each page was requested {first.get('warmup')} times untimed (warm), then "
        f"{first.get('iterations')} times timed, in-process through Django's full request "
        "handling and middleware (`django.test.Client`, no network), signed in as a generated "
        "user of the page's role; the query count is from one more request. p95 interpolates "
        "between the nearest samples. The benchmark and the load test run with DEBUG off and "
        "**two-factor sign-in off** (`REQUIRE_MFA=0`): they sign in with a password session "
        "only; every other setting is production's.",
        "",
        "## Machine",
        "",
        *_machine_lines(document),
        "## Targets",
        "",
        *_table(
            ["target", "status", "figures"],
            [[v.target, f"**{v.status}**", v.figures] for v in verdicts],
        ),
        "## Datasets",
        "",
        *_dataset_lines(document),
        *_entity_lines(document),
        "## Pages",
        "",
        *_page_lines(document),
        "## Directory search and the admin changelist",
        "",
        *_search_lines(document),
        "## Load test",
        "",
        *_loadtest_lines(document),
    ]
    return "\n".join(lines).rstrip() + "\n"
