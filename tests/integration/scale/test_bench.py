"""The page benchmark (scale/services/bench.py, ``manage.py bench_pages``), the report it feeds
(scale/rules/report.py: the targets, evaluated from the figures) and ``make bench``'s refusal of
SQLite (scripts/bench.py).

The benchmark runs here against a small clinic made with the factories, with one or two timed
requests a page: what is checked is that every page is reached as its role, answers 200 and is
counted and timed, never how fast (speed is the benchmark's to measure, not a test's).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.utils import timezone

from accounts.models import Role, User
from clients.models import Attendance
from directory.models import Contact, Group
from referrals.models import Referral
from scale import report
from scale.rules import bench as bench_rules
from scale.rules import report as report_rules
from scale.services import bench
from tests.factories.accounts import UserFactory
from tests.factories.clients import ClientFactory
from tests.factories.directory import (
    GroupFactory,
    LanguageFactory,
    MeetingFactory,
    NeedFactory,
    ServiceAreaFactory,
)
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory

ROOT = Path(__file__).resolve().parents[3]

PAGES = [
    "floor",
    "search_browse",
    "search_full",
    "search",
    "search_filtered",
    "group",
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
    "admin_search",
]


# --- a small clinic ---------------------------------------------------------------------------


def _referral(client, clinician, *, groups=(), approved=True, referred=False):
    screening = ScreeningFactory(client=client, clinic=client.clinic, screened_by=clinician)
    referral = ReferralFactory(screening=screening)
    chosen_at = timezone.now() - timedelta(weeks=8)
    Referral.objects.filter(pk=referral.pk).update(
        approval=Referral.Approval.APPROVED if approved else Referral.Approval.PENDING,
        status=Referral.Status.REFERRED if referred else Referral.Status.PREPARING,
        referred_at=chosen_at if referred else None,
    )
    for rank, group in enumerate(groups):
        ReferredGroupFactory(
            referral=referral,
            group=group,
            reasons=[],
            suggested_rank=rank,
            chosen_at=chosen_at,
            chosen_by=clinician,
        )
    return referral


@pytest.fixture
def world(db, settings, clinic, clinician, supervisor):
    """A clinic with a clinician, a supervisor, the generator's superuser, listings with a
    common need, a client referred to two of them with attendance, and a referral waiting for
    its groups to be chosen."""
    settings.REQUIRE_MFA = False  # as make bench runs it: a password session only
    need = NeedFactory(slug="depression", name="Depression")
    spanish = LanguageFactory(code="es", name="Spanish")
    metro = ServiceAreaFactory(slug="spa-4", name="SPA 4 – Metro", spa_number=4)
    groups = []
    for n in range(4):
        group = GroupFactory(
            name=f"Depression Circle {n}", slug=f"depression-circle-{n}", needs=[need]
        )
        group.languages.add(spanish)
        group.service_areas.add(metro)
        for weekday in range(n + 1):
            MeetingFactory(group=group, weekday=weekday, language=spanish, service_area=metro)
        groups.append(group)
    UserFactory(username="bench-superuser", clinic=clinic, is_staff=True, is_superuser=True)

    ana = ClientFactory(
        clinic=clinic, created_by=clinician, first_name="Anabench", last_name="Reyesbench"
    )
    referral = _referral(ana, clinician, groups=groups[:2], referred=True)
    yesterday = timezone.localdate() - timedelta(days=1)
    Attendance.objects.bulk_create(
        Attendance(
            client=ana,
            clinic=clinic,
            group=groups[0],
            on_date=yesterday - timedelta(weeks=week),
            recorded_by=clinician,
        )
        for week in range(6)
    )
    ben = ClientFactory(
        clinic=clinic, created_by=clinician, first_name="Benbench", last_name="Okafbench"
    )
    waiting = _referral(ben, clinician)
    return {"ana": ana, "referral": referral, "waiting": waiting, "groups": groups}


def _run(tmp_path, name="bench.json", iterations="2"):
    out = tmp_path / name
    call_command("bench_pages", "--json", str(out), "--iterations", iterations, "--warmup", "1")
    return json.loads(out.read_text())


# --- bench_pages ------------------------------------------------------------------------------


def test_every_page_is_measured_as_its_role_and_answers_200(world, tmp_path, clinician):
    figures = _run(tmp_path)

    assert figures["errors"] == []
    # The per-clinic pages again at the largest clinic (here the same, the only clinic).
    largest = [f"{key}@largest" for key in PAGES if key in bench_rules.PER_CLINIC_PAGES]
    assert [page["key"] for page in figures["pages"]] == PAGES + largest
    for page in figures["pages"]:
        assert page["status"] == 200, page
        assert page["samples"] == 2
        assert 0 < page["min_ms"] <= page["p50_ms"] <= page["p95_ms"] <= page["max_ms"]
        assert isinstance(page["queries"], int) and page["queries"] > 0, page
        assert page["bytes"] > 0
    by_key = {page["key"]: page for page in figures["pages"]}
    assert by_key["client"]["path"] == f"/clients/{world['ana'].pk}/"
    assert by_key["screening"]["path"] == f"/referrals/screen/{world['ana'].pk}/"
    assert by_key["referral"]["path"] == f"/referrals/{world['referral'].pk}/"
    assert by_key["matching"]["path"] == f"/referrals/{world['waiting'].pk}/groups/"
    assert by_key["search"]["path"] == "/directory/?q=depression"
    assert by_key["floor"]["path"] == "/about/"
    assert by_key["search_browse"]["path"] == "/directory/"
    # No word fills a page of this tiny catalogue: the one with the most results stands in.
    assert by_key["search_full"]["path"].startswith("/directory/?q=")
    assert by_key["admin_search"]["path"] == "/admin/directory/group/?q=depression"
    filtered = by_key["search_filtered"]["path"]
    for part in ("q=depression", "need=depression", "language=es", "area=spa-4"):
        assert part in filtered
    assert by_key["access_log_filtered"]["path"].startswith(f"/access-log/?user={clinician.pk}&")
    assert {page["role"] for page in figures["pages"]} == {
        "clinician",
        "supervisor",
        "superuser",
        "clinician@largest",
        "supervisor@largest",
    }
    assert by_key["client@largest"]["path"] == by_key["client"]["path"]
    assert figures["entities"]["largest_clinic"]["clinic"]["clients"] == 2

    entities = figures["entities"]
    assert entities["clinic"]["clients"] == 2
    assert entities["client"] == {"referrals": 1, "screenings": 1, "attendance": 6, "feedback": 0}
    assert entities["referral"]["chosen_groups"] == 2
    assert entities["listing"]["meetings"] == 4  # the 90th percentile of 1, 2, 3, 4 meetings
    assert entities["search"]["results_without_filters"] == 4
    assert entities["search"]["results_with_filters"] == 4
    assert figures["database"]["vendor"] in {"postgresql", "sqlite"}
    assert figures["settings"] == {
        "debug": False,
        "require_mfa": False,
        "conn_max_age": figures["settings"]["conn_max_age"],
    }
    # Sizes and addresses only: no client's name anywhere in the figures.
    text = json.dumps(figures)
    for name in ("Anabench", "Reyesbench", "Benbench", "Okafbench"):
        assert name not in text


def test_query_counts_are_the_same_on_every_run(world, tmp_path):
    """The count is taken where the session's activity stamp cannot fall into it."""
    first = _run(tmp_path, "first.json", iterations="1")
    second = _run(tmp_path, "second.json", iterations="1")
    assert {p["key"]: p["queries"] for p in first["pages"]} == {
        p["key"]: p["queries"] for p in second["pages"]
    }


def test_a_page_with_nothing_to_measure_is_an_error_and_the_command_fails(world, tmp_path):
    Referral.objects.filter(pk=world["waiting"].pk).update(approval=Referral.Approval.PENDING)
    out = tmp_path / "bench.json"
    with pytest.raises(CommandError, match="2 page"):  # matching, and matching@largest
        call_command("bench_pages", "--json", str(out), "--iterations", "1", "--warmup", "1")
    figures = json.loads(out.read_text())
    assert figures["errors"] == [
        {
            "page": key,
            "status": None,
            "message": "Nothing to measure: no referral approved by the client and waiting "
            "for its groups.",
        }
        for key in ("matching", "matching@largest")
    ]
    assert all(p["status"] == 200 for p in figures["pages"] if not p["key"].startswith("matching"))


def test_a_page_that_does_not_answer_200_is_an_error(world, clinician):
    page = bench_rules.Page(
        "gone", "A listing that is not there", "clinician", "/directory/no-such/"
    )
    result = bench.measure(
        HttpClient(HTTP_HOST="testserver"), clinician, page, iterations=2, warmup=1
    )
    assert result["status"] == 404
    assert result["error"] == "Answered 404, not 200."
    assert "p95_ms" not in result


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [("REQUIRE_MFA", True, "REQUIRE_MFA=0"), ("DEBUG", True, "DEBUG=0")],
)
def test_it_refuses_settings_that_would_distort_it(
    world, tmp_path, settings, setting, value, message
):
    setattr(settings, setting, value)
    with pytest.raises(CommandError, match=message):
        _run(tmp_path)


def test_it_needs_the_roles_it_signs_in_as(world, tmp_path, supervisor):
    supervisor.groups.remove(*supervisor.groups.filter(name=Role.SUPERVISOR.value))
    with pytest.raises(CommandError, match="no active supervisor"):
        _run(tmp_path)


def test_the_report_is_written_from_the_figures(world, tmp_path):
    figures = _run(tmp_path, iterations="1")
    document = report_rules.build(
        runs={"small": figures, "county": figures},
        loadtest=None,
        machine=report.machine_info(),
        command="make bench",
    )
    json_path, md_path = tmp_path / "performance.json", tmp_path / "PERFORMANCE.md"
    report.write(document, json_path=json_path, markdown_path=md_path)
    first = md_path.read_text()
    for page in figures["pages"]:
        assert f"### {page['title']}" in first
    assert "[SCALING.md](SCALING.md)" in first
    assert "REQUIRE_MFA=0" in first
    # The same figures at both scales: no growth, the same counts.
    statuses = {v["target"]: v["status"] for v in document["targets"]}
    assert statuses[report_rules._growth_verdict(document).target] == report_rules.MET
    assert statuses[report_rules._queries_verdict(document).target] == report_rules.MET
    # From the JSON alone, the same markdown.
    md_path.unlink()
    assert report.main([str(json_path), str(md_path)]) == 0
    assert md_path.read_text() == first


# --- the targets, without a database ------------------------------------------------------------

KEYS = [
    "floor",
    "growth",
    "growth_largest",
    "queries",
    "search_db",
    "referral_queries",
    "search",
    "bench_errors",
    "load_errors",
    "generator",
    "worker",
    "csv_import",
]


def _page(key, p95, queries=10, p50=None, db_ms=1.0):
    return {
        "db_ms": db_ms,
        "key": key,
        "title": key,
        "role": "clinician",
        "path": f"/{key}/",
        "status": 200,
        "p50_ms": p50 if p50 is not None else p95 * 0.8,
        "p95_ms": p95,
        "queries": queries,
        "samples": 40,
    }


def _run_figures(scale, pages, *, peak=300.0, errors=()):
    return {
        "scale": scale,
        "iterations": 40,
        "warmup": 5,
        "database": {"vendor": "postgresql", "version": "15.20"},
        "datasets": [{"scale": scale, "seed": 2026, "peak_rss_mib": peak, "counts": {"x": 1}}],
        "entities": {"clinic": {"clients": 2500 if scale == "small" else 250000}},
        "pages": pages,
        "errors": list(errors),
    }


def _good_runs():
    small = [
        _page("search", 10),
        _page("client", 20),
        _page("admin_search", 30),
        _page("client@largest", 20),
        _page("floor", 10, queries=4),
        _page("referral", 20, queries=12),
    ]
    county = [
        _page("search", 12),
        _page("client", 25),
        _page("admin_search", 40),
        _page("client@largest", 28),
        _page("floor", 10, queries=4),
        _page("referral", 25, queries=12),
    ]
    runs = {"small": _run_figures("small", small), "county": _run_figures("county", county)}
    runs["county"]["csv_import"] = bench_rules.merge_imports(
        [_import_round(6.5, load=2.1), _import_round(7.5, load=4.0), _import_round(9.9, load=9.0)]
    )
    return runs


def _import_round(confirm_s, *, load, statements=62):
    return {
        "rows": 5000,
        "listings_before": 2000,
        "target_s": 10.0,
        "load_average": [load, load, load],
        "preview_s": 3.0,
        "confirm_s": confirm_s,
        "confirm_statements": statements,
    }


def _slow_import(runs):
    runs["county"]["csv_import"] = bench_rules.merge_imports(
        [_import_round(12.0, load=15.0), _import_round(9, load=3.0), _import_round(11, load=8.0)]
    )


def _growing_import(runs):
    runs["county"]["csv_import"] = bench_rules.merge_imports(
        [_import_round(5.0, load=1.0, statements=62), _import_round(5.0, load=1.0, statements=90)]
    )


def _background_import(runs):
    rounds = [_import_round(14.0, load=15.0), _import_round(12.0, load=8.0)]
    for figures in rounds:
        figures |= {"background": True, "confirm_request_s": 0.2, "task_s": 13.0}
    runs["county"]["csv_import"] = bench_rules.merge_imports(rounds)


def _no_import(runs):
    del runs["county"]["csv_import"]


GOOD_LOAD = {
    "users": 50,
    "duration_s": 120,
    "requests": 5000,
    "rps": 41.6,
    "p50_ms": 80,
    "p95_ms": 300,
    "failures": 0,
    "endpoints": [{"name": "/clinician/", "requests": 900}],
    "workers": 4,
    "worker_rss_max_mib": 120.0,
}


def _slower_county(runs):
    runs["county"]["pages"][1]["p50_ms"] = 24.8  # client p50 16 → 24.8 ms: 1.55×


def _slower_largest_clinic(runs):
    runs["county"]["pages"][3]["p50_ms"] = 32  # the largest clinic's client page: 2×


def _slower_admin(runs):
    runs["county"]["pages"][2]["p95_ms"] = 90  # the peer slows 3×: not a product page


def _more_queries(runs):
    runs["county"]["pages"][1]["queries"] = 11


def _slow_search(runs):
    runs["county"]["pages"][2]["p95_ms"] = 20  # search 12 ms, admin 20 ms: 0.6×


def _high_floor_ratio(runs):
    runs["county"]["pages"][4]["p50_ms"] = 4  # the floor halves: the client page is 5× it


def _slow_search_database(runs):
    runs["county"]["pages"][0]["db_ms"] = 6.0


def _referral_queries(runs):
    for scale in ("small", "county"):
        runs[scale]["pages"][5]["queries"] = 13


def _page_error(runs):
    runs["county"]["pages"][1] = {**runs["county"]["pages"][1], "status": 500}
    for name in ("p50_ms", "p95_ms", "queries"):
        runs["county"]["pages"][1].pop(name)
    runs["county"]["errors"] = [{"page": "client", "status": 500, "message": "Answered 500"}]


def _heavy_generator(runs):
    runs["county"]["datasets"][0]["peak_rss_mib"] = 1024.0


def _no_county(runs):
    del runs["county"]


@pytest.mark.parametrize(
    ("change_runs", "load", "expected"),
    [
        pytest.param(None, GOOD_LOAD, dict.fromkeys(KEYS, report_rules.MET), id="all met"),
        pytest.param(_slower_county, GOOD_LOAD, {"growth": report_rules.NOT_MET}, id="growth over"),
        pytest.param(
            _slower_largest_clinic,
            GOOD_LOAD,
            {"growth_largest": report_rules.NOT_MET},
            id="largest clinic grows",
        ),
        pytest.param(_slower_admin, GOOD_LOAD, {}, id="the peer grows"),
        pytest.param(
            _more_queries, GOOD_LOAD, {"queries": report_rules.NOT_MET}, id="queries grow"
        ),
        pytest.param(_slow_search, GOOD_LOAD, {"search": report_rules.NOT_MET}, id="search slow"),
        pytest.param(
            _high_floor_ratio, GOOD_LOAD, {"floor": report_rules.NOT_MET}, id="over 4× the floor"
        ),
        pytest.param(
            _slow_search_database,
            GOOD_LOAD,
            {"search_db": report_rules.NOT_MET},
            id="search database time",
        ),
        pytest.param(
            _referral_queries,
            GOOD_LOAD,
            {"referral_queries": report_rules.NOT_MET},
            id="referral queries",
        ),
        pytest.param(
            _page_error,
            GOOD_LOAD,
            {
                "floor": report_rules.NOT_MET,
                "growth": report_rules.NOT_MET,
                "queries": report_rules.NOT_MET,
                "bench_errors": report_rules.NOT_MET,
            },
            id="a page failed",
        ),
        pytest.param(
            _heavy_generator, GOOD_LOAD, {"generator": report_rules.NOT_MET}, id="generator 1 GiB"
        ),
        pytest.param(
            None,
            {**GOOD_LOAD, "failures": 3},
            {"load_errors": report_rules.NOT_MET},
            id="errors under load",
        ),
        pytest.param(
            None,
            {**GOOD_LOAD, "errors": 1},
            {"load_errors": report_rules.NOT_MET},
            id="journey error under load",
        ),
        pytest.param(
            None,
            {**GOOD_LOAD, "server_errors": ["Traceback ..."]},
            {"load_errors": report_rules.NOT_MET},
            id="server error under load",
        ),
        pytest.param(
            None,
            {**GOOD_LOAD, "worker_rss_max_mib": 250.0},
            {"worker": report_rules.NOT_MET},
            id="worker 250 MiB",
        ),
        pytest.param(
            None,
            None,
            {"load_errors": report_rules.NOT_EVALUATED, "worker": report_rules.NOT_EVALUATED},
            id="no load test",
        ),
        pytest.param(
            None,
            {"error": "scripts/loadtest.py exited 1 without a report"},
            {"load_errors": report_rules.NOT_MET, "worker": report_rules.NOT_EVALUATED},
            id="load test broke",
        ),
        pytest.param(
            _no_county,
            GOOD_LOAD,
            {
                "floor": report_rules.NOT_EVALUATED,
                "growth": report_rules.NOT_EVALUATED,
                "growth_largest": report_rules.NOT_EVALUATED,
                "queries": report_rules.NOT_EVALUATED,
                "search_db": report_rules.NOT_EVALUATED,
                "search": report_rules.NOT_EVALUATED,
                "generator": report_rules.NOT_EVALUATED,
                "csv_import": report_rules.NOT_EVALUATED,  # measured at county only here
            },
            id="missing scale",
        ),
        pytest.param(
            _slow_import, GOOD_LOAD, {"csv_import": report_rules.NOT_MET}, id="slow import"
        ),
        pytest.param(
            _growing_import,
            GOOD_LOAD,
            {"csv_import": report_rules.NOT_MET},
            id="import statements grow",
        ),
        pytest.param(
            _no_import, GOOD_LOAD, {"csv_import": report_rules.NOT_EVALUATED}, id="no import"
        ),
        pytest.param(_background_import, GOOD_LOAD, {}, id="import written by the worker"),
    ],
)
def test_targets(change_runs, load, expected):
    runs = _good_runs()
    if change_runs:
        change_runs(runs)
    document = report_rules.build(runs=runs, loadtest=load, machine={}, command="make bench")
    statuses = dict(zip(KEYS, (v["status"] for v in document["targets"]), strict=True))
    assert statuses == dict.fromkeys(KEYS, report_rules.MET) | expected
    # The markdown says each verdict plainly, with its figures.
    text = report_rules.markdown(document)
    for verdict in document["targets"]:
        assert f"| {verdict['target']} | **{verdict['status']}** |" in text


def test_the_verdicts_carry_the_figures():
    runs = _good_runs()
    _slower_county(runs)
    verdicts = report_rules.evaluate(
        report_rules.build(runs=runs, loadtest=GOOD_LOAD, machine={}, command="make bench")
    )
    by_key = dict(zip(KEYS, verdicts, strict=True))
    assert by_key["growth"].figures == "over the limit: client 1.55×; highest: client 1.55×"
    assert by_key["search"].figures == ("search p95 12.0 ms, admin changelist p95 40.0 ms: 0.30×")
    assert by_key["load_errors"].figures == "0 failure(s) in 5,000 requests (50 users)"
    assert by_key["generator"].figures == "peak 300 MiB (seed 2026)"
    assert by_key["csv_import"].figures == (
        "county: 5,000 rows onto 2,000 listings, confirm 7.5 s median (slowest 9.9 s), "
        "preview 3.0 s, 62 statements; load average before each round 2.1/2.1/2.1, "
        "4.0/4.0/4.0, 9.0/9.0/9.0"
    )


# --- make bench -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["sqlite:///tmp/bench.sqlite3", "sqlite://:memory:"])
def test_make_bench_refuses_sqlite(url):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py")],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "make bench needs PostgreSQL" in done.stderr
    assert "sqlite" in done.stderr
    assert done.stdout == ""


# --- bench_csv_import -------------------------------------------------------------------------


@pytest.fixture
def catalogue(db, settings):
    from tests.factories.directory import (
        ContactFactory,
        GroupFactory,
        LanguageFactory,
        NeedFactory,
        ServiceAreaFactory,
    )

    settings.REQUIRE_MFA = False  # as make bench runs it: a password session only
    need, language = NeedFactory(name="Depression"), LanguageFactory(code="en", name="English")
    area = ServiceAreaFactory(name="Metro")
    for n in range(3):
        group = GroupFactory(needs=[need])
        group.languages.add(language)
        group.service_areas.add(area)
        ContactFactory(group=group, phone=f"+1310555{n:04d}", area_label="Metro")
    return Group.objects.count()


def _import_figures(tmp_path, rows=30):
    out = tmp_path / "csv-import.json"
    call_command("bench_csv_import", "--json", str(out), "--rows", str(rows), stdout=io.StringIO())
    return json.loads(out.read_text())


def _catalogue_state():
    return (Group.objects.count(), Group.history.count(), Contact.objects.count())


def test_the_import_benchmark_previews_confirms_and_leaves_the_database_as_it_was(
    catalogue, tmp_path
):
    before = _catalogue_state()
    users = User.objects.count()
    figures = _import_figures(tmp_path)
    assert "error" not in figures, figures
    assert (figures["preview_status"], figures["confirm_status"]) == (200, 302)
    assert figures["rows"] == 30 and figures["listings_before"] == catalogue
    assert figures["planned"]["create"] == 27 and figures["written"] == 27
    assert figures["planned"]["update"] + figures["planned"]["unchanged"] == 3
    assert figures["confirm_statements"] > 0 and len(figures["load_average"]) == 3
    assert figures["met"] is True and "background" not in figures  # written by the request
    # Rolled back: nothing of the import, nor the admin it signed in as, is left.
    assert _catalogue_state() == before and User.objects.count() == users


def test_the_import_benchmark_clears_the_rows_its_rollback_left_dead(db):
    """Run by make bench, outside any transaction; inside one (a test's) VACUUM cannot run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scale.services.csv_import import vacuum_directory, vacuum_statement

    statement = vacuum_statement()
    assert statement.startswith("VACUUM (ANALYZE) ")
    vacuumed = set(statement.removeprefix("VACUUM (ANALYZE) ").split(", "))
    assert {"directory_group", "directory_contact", "directory_historicalgroup"} <= vacuumed
    assert "directory_group_needs" in vacuumed
    with CaptureQueriesContext(connection) as queries:
        vacuum_directory()
    assert queries.captured_queries == []


def test_the_import_benchmark_times_the_queued_task_apart(catalogue, tmp_path, settings):
    settings.CSV_IMPORT_INLINE_ROWS = 10
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    before = _catalogue_state()
    figures = _import_figures(tmp_path)
    assert "error" not in figures, figures
    assert figures["background"] is True and figures["written"] == 27
    assert 0 < figures["confirm_request_s"] <= figures["confirm_s"]
    assert figures["task_s"] > 0
    assert _catalogue_state() == before
