#!/usr/bin/env python3
"""``make bench``: the benchmark, from an empty PostgreSQL to docs/PERFORMANCE.md.

For each scale of ``SCALES`` (default ``small county``), in the database ``<name>_bench_<scale>``
on the server of ``DATABASE_URL``:

1. create the database if it is missing, and ``migrate``;
2. fill it with ``generate_scale_data`` (``SEED``, default 2026), unless its ScaleDataset row
   already says that scale, seed and generator version (a database holding anything else is
   dropped and made again; ``BENCH_REGENERATE=1`` always does);
3. ``manage.py bench_pages`` (``BENCH_ITERATIONS``, ``BENCH_WARMUP``) in a subprocess, for
   ``BENCH_ROUNDS`` rounds (default 3) with the scales interleaved; each page's figures are the
   median of its rounds, the machine's load average recorded before each round.

``BENCH_DATABASE_PREFIX`` names the databases ``<prefix>_<scale>`` instead.

In each round and scale, ``manage.py bench_csv_import`` times a 5,000-row CSV import's preview
and confirmation, rolled back (``BENCH_CSV_IMPORT=0`` skips it).

Then ``scripts/loadtest.py`` against the last scale's database (``LOADTEST=0`` skips it), and
``scale/report.py`` writes docs/performance.json and docs/PERFORMANCE.md whenever there are
figures, even after a failed step (the report says what failed; the exit status is non-zero).

The application runs as in production except DEBUG off, REQUIRE_MFA=0, HTTPS_ONLY=0 and
STATIC_MANIFEST=0, with a random SECRET_KEY unless one is set; no database URL or password is
printed.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess  # nosec B404: manage.py and the load test, with argument lists, no shell
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/selfhelp"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
DEFAULT_SCALES = "small county"
DEFAULT_SEED = "2026"

# What the dataset check prints: the newest ScaleDataset row, the generator's version, and
# whether the database holds any client (a half-finished generation leaves clients, no row).
DATASET_CHECK = """
import json
from clients.models import Client
from scale.services.generator import GENERATOR_VERSION
from scale.models import ScaleDataset
row = ScaleDataset.objects.order_by("-generated_at").values("scale", "seed", "generator_version").first()
print(json.dumps({"row": row, "version": GENERATOR_VERSION, "clients": Client.objects.exists()}))
"""  # noqa: E501


class BenchFailed(Exception):
    pass


def say(message: str) -> None:
    print(message, flush=True)


def database_url_for(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def app_environment(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        REQUIRE_MFA="0",
        HTTPS_ONLY="0",
        STATIC_MANIFEST="0",
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    env.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1")
    # whitenoise warns that collectstatic has not run; no static file is measured.
    env.setdefault("PYTHONWARNINGS", "ignore:No directory at:UserWarning")
    return env


def manage(env: dict, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    return subprocess.run(  # noqa: S603  # nosec B603
        command, cwd=ROOT, env=env, check=False, text=True, capture_output=capture
    )


# --- databases ---------------------------------------------------------------------------------


def _server(url: str):
    """A connection to the server's maintenance database, to create and drop databases."""
    import psycopg

    for maintenance in ("postgres", "template1"):
        try:
            return psycopg.connect(database_url_for(url, maintenance), autocommit=True)
        except psycopg.OperationalError as problem:
            last = problem
    raise BenchFailed(f"Cannot reach the PostgreSQL server of DATABASE_URL: {last}")


def ensure_database(url: str, name: str, *, recreate: bool) -> None:
    from psycopg import sql

    with _server(url) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and recreate:
            say(f"  dropping {name}")
            connection.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )
            exists = None
        if not exists:
            say(f"  creating {name}")
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(env: dict) -> None:
    done = manage(env, "migrate", "--noinput", capture=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise BenchFailed("migrate failed")


def dataset_state(env: dict) -> dict:
    done = manage(env, "shell", "--no-imports", "-c", DATASET_CHECK, capture=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise BenchFailed("could not read the database's ScaleDataset")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(url: str, scale: str, seed: str, *, regenerate: bool, prefix: str = "") -> str:
    """The scale's database, migrated and holding that scale and seed; its URL."""
    prefix = prefix or f"{urlsplit(url).path.lstrip('/')}_bench"
    name = f"{prefix}_{scale}"
    bench_url = database_url_for(url, name)
    env = app_environment(bench_url)
    ensure_database(url, name, recreate=regenerate)
    migrate(env)
    state = dataset_state(env)
    row = state["row"]
    wanted = {"scale": scale, "seed": int(seed), "generator_version": state["version"]}
    if row == wanted:
        say(f"  {name} already holds {scale} scale, seed {seed}: kept")
        return bench_url
    if row is not None or state["clients"]:
        say(f"  {name} holds other data ({row}): made again")
        ensure_database(url, name, recreate=True)
        migrate(env)
    say(f"  generating {scale} scale, seed {seed}")
    done = manage(env, "generate_scale_data", "--scale", scale, "--seed", seed)
    if done.returncode != 0:
        raise BenchFailed(f"generate_scale_data --scale {scale} failed")
    return bench_url


# --- measuring ---------------------------------------------------------------------------------


def bench_pages(bench_url: str, out: Path, *, iterations: str, warmup: str) -> tuple[dict, bool]:
    env = app_environment(bench_url)
    done = manage(
        env, "bench_pages", "--json", str(out), "--iterations", iterations, "--warmup", warmup
    )
    if not out.exists():
        raise BenchFailed("bench_pages wrote no figures (see above)")
    return json.loads(out.read_text(encoding="utf-8")), done.returncode == 0


def bench_csv_import(bench_url: str, out: Path) -> tuple[dict, bool]:
    """A 5,000-row CSV import previewed and confirmed, rolled back (scale/services/csv_import)."""
    done = manage(app_environment(bench_url), "bench_csv_import", "--json", str(out))
    if not out.exists():
        return {"error": f"bench_csv_import exited {done.returncode} without figures"}, False
    return json.loads(out.read_text(encoding="utf-8")), done.returncode == 0


def loadtest(bench_url: str, scale: str, out: Path) -> tuple[dict | None, bool]:
    script = ROOT / "scripts" / "loadtest.py"
    if os.environ.get("LOADTEST", "1") == "0":
        say("Load test: skipped (LOADTEST=0)")
        return None, True
    if not script.exists():
        say("Load test: skipped (scripts/loadtest.py is missing)")
        return None, True
    say(f"Load test against the {scale} database")
    done = subprocess.run(  # noqa: S603  # nosec B603
        [sys.executable, str(script), "--database-url", bench_url, "--json", str(out)],
        cwd=ROOT,
        env=app_environment(bench_url),
        check=False,
    )
    if out.exists():
        result = json.loads(out.read_text(encoding="utf-8"))
    else:
        result = {"error": f"scripts/loadtest.py exited {done.returncode} without a report"}
    result["scale"] = scale
    return result, done.returncode == 0


def command_line(
    scales: list[str], seed: str, iterations: str, warmup: str, rounds: int = 3
) -> str:
    settings = {
        "SCALES": " ".join(scales),
        "SEED": seed,
        "BENCH_ROUNDS": str(rounds),
        "BENCH_ITERATIONS": iterations,
        "BENCH_WARMUP": warmup,
    }
    if os.environ.get("LOADTEST") == "0":
        settings["LOADTEST"] = "0"
    return (
        "DATABASE_URL=postgres://… make bench "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items())
    ).strip()


def main() -> int:
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    scheme = urlsplit(url).scheme.lower()
    if scheme not in POSTGRES_SCHEMES:
        sys.stderr.write(
            f"make bench needs PostgreSQL, and DATABASE_URL is a {scheme or 'non-URL'} "
            "database. The figures are meant for production's database (its full-text search, "
            "its planner); SQLite would measure something else. Set "
            "DATABASE_URL=postgres://user@host:5432/name (default "
            f"{DEFAULT_DATABASE_URL}); the benchmark makes <name>_bench_<scale> beside it.\n"
        )
        return 2
    if not urlsplit(url).path.strip("/"):
        sys.stderr.write("DATABASE_URL names no database: postgres://user@host:5432/<name>\n")
        return 2

    scales = os.environ.get("SCALES", DEFAULT_SCALES).split()
    seed = os.environ.get("SEED", DEFAULT_SEED)
    iterations = os.environ.get("BENCH_ITERATIONS", "40")
    warmup = os.environ.get("BENCH_WARMUP", "5")
    regenerate = os.environ.get("BENCH_REGENERATE", "0") == "1"
    bench_rounds = int(os.environ.get("BENCH_ROUNDS", "3") or 3)
    # The databases are <prefix>_<scale>; the prefix defaults to <name>_bench.
    prefix = os.environ.get("BENCH_DATABASE_PREFIX", "")
    if not scales or not seed.isdigit():
        sys.stderr.write("SCALES must name at least one scale, and SEED be a whole number.\n")
        return 2

    sys.path.insert(0, str(ROOT))
    from scale import report
    from scale.rules import bench as bench_rules
    from scale.rules import report as report_rules

    started = time.monotonic()
    runs, urls, ok = {}, {}, True
    rounds: dict[str, list[dict]] = {scale: [] for scale in scales}
    imports: dict[str, list[dict]] = {scale: [] for scale in scales}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        try:
            for scale in scales:
                say(f"== {scale} scale")
                urls[scale] = prepare(url, scale, seed, regenerate=regenerate, prefix=prefix)
            # The scales interleaved, round after round (the order reversed every other
            # round), so that a busy spell of the machine falls on both; each page's figure is
            # the median of its rounds (scale.rules.bench.merge_rounds).
            for number in range(1, bench_rounds + 1):
                order = scales if number % 2 else list(reversed(scales))
                for scale in order:
                    say(
                        f"== round {number}/{bench_rounds}, {scale} scale "
                        f"(load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})"
                    )
                    run, passed = bench_pages(
                        urls[scale],
                        Path(tmp) / f"bench-{scale}-{number}.json",
                        iterations=iterations,
                        warmup=warmup,
                    )
                    rounds[scale].append(run)
                    ok &= passed
                    if os.environ.get("BENCH_CSV_IMPORT", "1") != "0":
                        figures, passed = bench_csv_import(
                            urls[scale], Path(tmp) / f"csv-import-{scale}-{number}.json"
                        )
                        imports[scale].append(figures)
                        ok &= passed
            for scale in scales:
                runs[scale] = bench_rules.merge_rounds(rounds[scale])
                if imports[scale]:
                    runs[scale]["csv_import"] = bench_rules.merge_imports(imports[scale])
            load_scale = "county" if "county" in scales else scales[-1]
            load, passed = loadtest(urls[load_scale], load_scale, Path(tmp) / "loadtest.json")
            ok &= passed
        except BenchFailed as problem:
            sys.stderr.write(f"make bench: {problem}\n")
            runs = {s: bench_rules.merge_rounds(r) for s, r in rounds.items() if r}
            if not runs:
                return 1
            ok, load = False, None

    document = report_rules.build(
        runs=runs,
        loadtest=load,
        machine=report.machine_info(),
        command=command_line(scales, seed, iterations, warmup, bench_rounds),
    )
    docs = ROOT / "docs"
    report.write(
        document, json_path=docs / "performance.json", markdown_path=docs / "PERFORMANCE.md"
    )
    say(
        f"Wrote docs/PERFORMANCE.md and docs/performance.json in {time.monotonic() - started:.0f} s"
    )
    for verdict in document["targets"]:
        say(f"  {verdict['status']:<14} {verdict['target']}: {verdict['figures']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
