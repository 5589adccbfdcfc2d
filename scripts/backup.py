#!/usr/bin/env python3
"""Back up the database named by DATABASE_URL, and restore a backup into it.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot while the application runs),
restored with ``pg_restore --clean --if-exists --no-owner --single-transaction``, all or
nothing; the access log's append-only trigger travels with the dump. The client programs are
the server's major version's when present (/usr/lib/postgresql/<major>/bin, or PG_BIN_DIR); an
older pg_dump is refused. SQLite: the online backup API, a consistent snapshot even while the
application writes.

A plain script rather than a management command, so that an operator needs only DATABASE_URL
(read as config/settings.py reads it), even where the application cannot start. Backups hold
client records: files are 0600 in a 0700 folder, a failed backup leaves no file, and a restore
asks for the database's name unless --yes is given (with no terminal and no --yes, it refuses).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DEFAULT_DIR = BASE_DIR / "backups"

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
SQLITE_MAGIC = b"SQLite format 3\x00"
# Keys of a Django database's OPTIONS that are psycopg or Django settings, not libpq ones.
NOT_LIBPQ = {"pool", "server_side_binding", "isolation_level", "assume_role", "cursor_factory"}


class BackupError(Exception):
    """Something an operator must fix; the message says what."""


# --- Which database ---------------------------------------------------------------------------


def database_from_url(url: str | None = None) -> dict:
    """The database as Django's settings dict, from DATABASE_URL as config/settings.py reads it."""
    return dj_database_url.parse(url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def vendor(database: dict) -> str:
    engine = database.get("ENGINE", "")
    if engine.endswith("postgresql"):
        return POSTGRESQL
    if engine.endswith("sqlite3"):
        return SQLITE
    raise BackupError(f"Backups are for PostgreSQL or SQLite; this database is {engine!r}.")


def describe(database: dict) -> str:
    if vendor(database) == SQLITE:
        return f"SQLite database {database['NAME']}"
    host = database.get("HOST") or "local socket"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"PostgreSQL database {database['NAME']!r} on {host}{port}"


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_conninfo(database: dict) -> str:
    """A libpq connection string without the password (that goes in PGPASSWORD, not argv)."""
    from psycopg.conninfo import make_conninfo

    params = {
        "dbname": database.get("NAME"),
        "user": database.get("USER"),
        "host": database.get("HOST"),
        "port": str(database["PORT"]) if database.get("PORT") else None,
    }
    for key, value in (database.get("OPTIONS") or {}).items():
        if key not in NOT_LIBPQ and isinstance(value, str | int):
            params[key] = str(value)
    return make_conninfo(**{k: v for k, v in params.items() if v})


def pg_env(database: dict) -> dict:
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return env


def pg_server_major(database: dict) -> int:
    import psycopg

    password = database.get("PASSWORD") or None
    try:
        with psycopg.connect(pg_conninfo(database), password=password, connect_timeout=10) as c:
            return c.info.server_version // 10000
    except psycopg.OperationalError as error:
        raise BackupError(f"Could not reach the {describe(database)}: {error}") from None


def pg_program(name: str, server_major: int) -> str:
    """pg_dump or pg_restore of the server's major version, else a newer one; never older.

    An older pg_dump refuses a newer server outright, and a pg_restore older than the pg_dump
    that wrote an archive cannot read it; Debian installs each major's programs side by side
    under /usr/lib/postgresql/<major>/bin, with /usr/bin pointing at the newest.
    """
    candidates = []
    if os.environ.get("PG_BIN_DIR"):
        candidates.append(Path(os.environ["PG_BIN_DIR"]) / name)
    candidates.append(Path(f"/usr/lib/postgresql/{server_major}/bin") / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            major = program_major(candidate)
            if major >= server_major:
                return str(candidate)
            raise BackupError(
                f"{candidate} is PostgreSQL {major}, older than the server ({server_major}). "
                f"Install the PostgreSQL {server_major} client programs, or set PG_BIN_DIR."
            )
    raise BackupError(
        f"{name} was not found. Install the PostgreSQL {server_major} client programs "
        f"(Debian: postgresql-client-{server_major}), or set PG_BIN_DIR."
    )


def program_major(program: Path) -> int:
    output = run([str(program), "--version"], env=dict(os.environ), capture=True)
    found = re.search(r"\b(\d+)(?:\.\d+)?", output)
    if not found:
        raise BackupError(f"Could not read the version of {program}: {output!r}")
    return int(found.group(1))


def backup_postgresql(database: dict, target: Path) -> None:
    pg_dump = pg_program("pg_dump", pg_server_major(database))
    run(
        [pg_dump, "--format=custom", f"--file={target}", f"--dbname={pg_conninfo(database)}"],
        env=pg_env(database),
    )


def restore_postgresql(database: dict, source: Path) -> None:
    pg_restore = pg_program("pg_restore", pg_server_major(database))
    # Read the archive's table of contents first: a damaged or foreign file is refused here,
    # before anything in the database is dropped.
    run([pg_restore, "--list", str(source)], env=pg_env(database), quiet=True)
    run(
        [
            pg_restore,
            "--clean",  # drop what the backup holds before recreating it (an existing database)
            "--if-exists",  # ... without errors for what an empty database does not have
            "--no-owner",  # objects belong to the role restoring, whatever role owned them
            "--single-transaction",  # all or nothing: a failure leaves the database as it was
            "--exit-on-error",
            f"--dbname={pg_conninfo(database)}",
            str(source),
        ],
        env=pg_env(database),
    )


def run(command: list[str], *, env: dict, quiet: bool = False, capture: bool = False) -> str:
    """Run a PostgreSQL client program; its output when ``capture``. Fails with its stderr."""
    # An argument list and no shell: nothing in DATABASE_URL or a file name is ever parsed by
    # a shell. The programs are pg_dump/pg_restore found by pg_program.
    result = subprocess.run(  # noqa: S603  # nosec B603
        command,
        env=env,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL if quiet else None,
        stderr=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed:\n{result.stderr.strip()}")
    if result.stderr.strip():
        print(result.stderr.strip(), file=sys.stderr)
    return result.stdout or ""


# --- SQLite -----------------------------------------------------------------------------------


def sqlite_connect(name: str, *, read_only: bool) -> sqlite3.Connection:
    """A connection to a file by path, or by a ``file:`` URI as given (e.g. an in-memory one)."""
    if str(name).startswith("file:"):
        return sqlite3.connect(str(name), uri=True)
    path = Path(name)
    if read_only:
        if not path.is_file():
            raise BackupError(f"There is no SQLite database at {path}.")
        return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    return sqlite3.connect(path)


def sqlite_check(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise BackupError(f"{what} failed SQLite's integrity check: {result[:5]}")


def backup_sqlite(database: dict, target: Path) -> None:
    source = sqlite_connect(database["NAME"], read_only=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # a consistent snapshot, page by page, while others keep writing
        # A single self-contained file, whatever journal mode the live database uses.
        copy.execute("PRAGMA journal_mode=DELETE")
        sqlite_check(copy, "The copy")
    finally:
        copy.close()
        source.close()


def restore_sqlite(database: dict, source_path: Path) -> None:
    source = sqlite_connect(str(source_path), read_only=True)
    try:
        sqlite_check(source, f"The backup {source_path}")
        target = sqlite_connect(database["NAME"], read_only=False)
        try:
            source.backup(target)  # replaces the whole database, in one transaction
            sqlite_check(target, "The restored database")
        finally:
            target.close()
    finally:
        source.close()


# --- The two commands -------------------------------------------------------------------------


def backup(database: dict, directory: Path = DEFAULT_DIR, *, now: datetime | None = None) -> Path:
    """Write a timestamped backup of the database into ``directory``; its path."""
    kind = vendor(database)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    name = Path(str(database["NAME"]).removeprefix("file:").split("?")[0]).stem or "database"
    suffix = ".pgdump" if kind == POSTGRESQL else ".sqlite3"
    target = directory / f"{name}-{stamp}{suffix}"
    if target.exists():
        raise BackupError(f"{target} exists already; not overwriting a backup.")
    partial = target.with_name(target.name + ".partial")
    # Created owner-only before anything is written into it.
    partial.touch(mode=0o600, exist_ok=False)
    try:
        if kind == POSTGRESQL:
            backup_postgresql(database, partial)
        else:
            backup_sqlite(database, partial)
        partial.chmod(0o600)
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def restore(database: dict, source: Path) -> None:
    """Put the backup at ``source`` into the database, replacing what the backup holds."""
    kind = vendor(database)
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    with source.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    expected = PG_MAGIC if kind == POSTGRESQL else SQLITE_MAGIC
    if not head.startswith(expected):
        other = "a PostgreSQL" if kind == POSTGRESQL else "an SQLite"
        raise BackupError(f"{source} is not {other} backup; the database is {describe(database)}.")
    if kind == POSTGRESQL:
        restore_postgresql(database, source)
    else:
        restore_sqlite(database, source)


def confirmed(database: dict, source: Path) -> bool:
    """Ask for the database's name to be typed; False with no terminal to ask on."""
    if not sys.stdin.isatty():
        return False
    expected = Path(str(database["NAME"])).name
    print(
        f"This replaces the contents of the {describe(database)}\nwith the backup {source}.\n"
        f"Stop the application servers first. Type {expected!r} to go on: ",
        end="",
        flush=True,
    )
    return sys.stdin.readline().strip() == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup", help="write a timestamped backup")
    take.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="default: backups/")
    put = commands.add_parser("restore", help="restore a backup into the database")
    put.add_argument("file", type=Path, help="the backup file to restore")
    put.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)

    try:
        database = database_from_url()
        if args.command == "backup":
            path = backup(database, args.dir)
            print(f"Backed up the {describe(database)} to {path}")
            return 0
        if not args.yes and not confirmed(database, args.file):
            print(
                "\nNot restored: confirm by typing the database's name, or pass --yes "
                "(make restore ... CONFIRM=yes).",
                file=sys.stderr,
            )
            return 1
        restore(database, args.file)
        print(f"Restored {args.file} into the {describe(database)}")
        return 0
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
