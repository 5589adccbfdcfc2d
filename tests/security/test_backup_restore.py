"""Backups: ``make backup`` and ``make restore`` (scripts/backup.py) restore the database whole.

The database is the clinical record (policy 04.9, IX.A) and its append-only access log. Rows of
every app are backed up, restored into an empty database and compared table by table (row count
and checksum in primary-key order; on PostgreSQL also sequences, indexes, constraints and the
append-only trigger); a restore over a changed database puts it back as backed up.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> make test \
        PYTEST_ARGS="tests/security/test_backup_restore.py -s"    # no DATABASE_URL: SQLite
"""

import hashlib
import importlib.util
import io
import os
import re
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import AccessEvent, Role
from accounts.services import access_log
from clients.models import Feedback
from directory.models import Group, Need, ReviewFlag
from referrals.models import (
    ScreeningReason,
)
from tests.factories.accounts import (
    ClinicFactory,
    EnrolmentCodeFactory,
    SignInLockFactory,
    UserFactory,
)
from tests.factories.clients import (
    AttendanceFactory,
    ClientFactory,
    DocumentationSignOffFactory,
    FeedbackFactory,
    PeerContactFactory,
    SubstanceUseConsentFactory,
)
from tests.factories.directory import (
    ChangeRequestFactory,
    MeetingFactory,
    ReviewFlagFactory,
    VerificationCallFactory,
    VerificationLinkFactory,
)
from tests.factories.referrals import (
    FollowUpFactory,
    FollowUpScheduleFactory,
    MedicationSafetyDecisionFactory,
    ReferralFactory,
    ReferredGroupFactory,
    ReminderDigestFactory,
    ScreeningReasonFactory,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "backup.py"
OUR_APPS = ("accounts", "clients", "directory", "referrals")

# Committed rows, visible to pg_dump and to a second SQLite connection. Serialized rollback puts
# back what the migrations made (the roles) before each test; see restore_migrated_data below.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_dump/pg_restore: PostgreSQL only"
)
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backup API")


def load_script():
    spec = importlib.util.spec_from_file_location("backup_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


backup_script = load_script()


@pytest.fixture(scope="module", autouse=True)
def restore_migrated_data(django_db_setup, django_db_blocker):
    """Put the migrations' rows back after these tests.

    Each transactional test ends by emptying every table; tests pytest-django runs after the
    transactional ones expect the roles the migrations made (as tests/browser/conftest.py does).
    """
    yield
    from django.contrib.auth.models import Group as AuthGroup

    with django_db_blocker.unblock():
        snapshot = getattr(connection, "_test_serialized_contents", None)
        if snapshot and not AuthGroup.objects.exists():
            connection.creation.deserialize_db_from_string(snapshot)


# --- The data ---------------------------------------------------------------------------------


def fill_every_app(sign_in):
    """Rows in every table of every app of ours, history and access log included."""
    # The reviewed directory seed: listings, contacts, flags, resources, and their history.
    call_command("seed_directory", verbosity=0, stdout=io.StringIO())
    clinic = ClinicFactory(name="Backup Test Clinic")
    clinician = UserFactory(username="bk-clinician", clinic=clinic, roles=[Role.CLINICIAN])
    supervisor = UserFactory(username="bk-supervisor", clinic=clinic, roles=[Role.SUPERVISOR])
    clinician.user_permissions.add(Permission.objects.get(codename="view_client"))
    sign_in(clinician)  # a staff session in the database and a TOTP device
    static = StaticDevice.objects.create(user=clinician, name="Backup codes", confirmed=True)
    StaticToken.objects.create(device=static, token="a1b2c3d4")  # noqa: S106
    access_log.record(None, AccessEvent.Action.VIEW, user=clinician, object_type="client")
    access_log.record(None, AccessEvent.Action.EXPORT, user=supervisor, reason="monthly")
    LogEntry.objects.create(
        user=supervisor,
        content_type=ContentType.objects.get_for_model(Group),
        object_id="1",
        object_repr="a listing",
        action_flag=ADDITION,
    )

    groups = list(Group.objects.order_by("pk")[:3])
    meeting = MeetingFactory(group=groups[0])  # the 2008 list gives no meeting times
    today = timezone.localdate()
    for n in range(5):
        client = ClientFactory(clinic=clinic, created_by=clinician, first_name=f"Ana {n} é ñ")
        client.needs_interpreter = True
        client.save()  # a second history row
        referral = ReferralFactory(screening__client=client)
        ScreeningReasonFactory(
            screening=referral.screening,
            clause="IV.H",
            code="wants-peer-support",
            kind=ScreeningReason.Kind.SUPPORTS,
            message="Wants support from peers",
            order=0,
        )
        referral.goal_needs.add(*Need.objects.order_by("pk")[:2])
        referral.goals = f"To feel less alone ({n})"
        referral.save()
        ReferredGroupFactory(
            referral=referral,
            group=groups[n % 3],
            reasons=["helps with depression", "Spanish"],
            suggested_rank=1,
            chosen_at=timezone.now(),
            chosen_by=clinician,
        )
        FollowUpFactory(
            referral=referral, clinic=clinic, clinician=clinician, due_on=today + timedelta(n)
        )
        peer = PeerContactFactory(
            client=client,
            clinic=clinic,
            group=groups[0],
            first_name="Bea",
            phone="+13105550100",
            consented_on=today,
            recorded_by=clinician,
        )
        step = referral.steps.get(code="VIII.C")
        step.peer_contact = peer
        step.note = "introduced by phone"
        step.save()
        AttendanceFactory(
            client=client,
            clinic=clinic,
            group=groups[0],
            meeting=meeting,
            on_date=today - timedelta(days=n),
            recorded_by=clinician,
        )
        flag = ReviewFlagFactory(
            group=groups[1],
            source=ReviewFlag.Source.FEEDBACK,
            summary="A medication concern",
            concerns_medication=True,
        )
        FeedbackFactory(
            client=client,
            clinic=clinic,
            group=groups[1],
            given_on=today,
            frequency=Feedback.Frequency.WEEKLY_OR_MORE,
            observations="<script>alert(1)</script> ' OR 1=1 --",
            concern_kinds=[Feedback.Concern.STOP_MEDICATION],
            review_flag=flag,
            recorded_by=clinician,
        )
    FollowUpScheduleFactory(clinic=clinic, weeks=[1, 3, 6], updated_by=supervisor)
    ReminderDigestFactory(clinician=clinician, sent_on=today, due_count=2)
    DocumentationSignOffFactory(
        clinic=clinic,
        clinician=clinician,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        signed_by=supervisor,
    )
    # Sign-in and enrolment, the 42 CFR Part 2 consent, VI.C decisions, keeping the list current.
    SignInLockFactory(username="bk-clinician", failures=2)
    EnrolmentCodeFactory(user=supervisor, issued_by=supervisor)
    SubstanceUseConsentFactory(client=client, recorded_by=clinician)
    MedicationSafetyDecisionFactory(referral=referral, group=groups[n % 3], decided_by=clinician)
    VerificationCallFactory(group=groups[2], called_by=supervisor)
    VerificationLinkFactory(group=groups[2], sent_by=supervisor)
    ChangeRequestFactory(group=groups[2])


def our_tables() -> set[str]:
    from django.apps import apps

    return {
        model._meta.db_table
        for label in OUR_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }


# --- Fingerprints: rows and checksum per table ------------------------------------------------


def sqlite_fingerprints(name: str) -> dict:
    """{table: (rows, md5 of the rows in primary-key order)} of an SQLite database."""
    db = backup_script.sqlite_connect(name, read_only=True)
    try:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_stat1'"
            )
        ]
        result = {}
        for table in tables:
            columns = db.execute(f'PRAGMA table_info("{table}")').fetchall()
            pk = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5]]
            order = (
                ", ".join(f'"{c}"' for c in pk) if pk else ", ".join(f'"{c[1]}"' for c in columns)
            )
            digest = hashlib.md5(usedforsecurity=False)
            rows = 0
            for row in db.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):  # noqa: S608
                digest.update(repr(row).encode() + b"\n")
                rows += 1
            result[table] = (rows, digest.hexdigest())
        # The schema too (tables, indexes, triggers), as one more "table".
        schema = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        result["<schema>"] = (
            0,
            hashlib.md5(repr(schema.fetchall()).encode(), usedforsecurity=False).hexdigest(),
        )
        return result
    finally:
        db.close()


def pg_connect(name: str):
    import psycopg

    settings = {**connection.settings_dict, "NAME": name}
    return psycopg.connect(
        backup_script.pg_conninfo(settings), password=settings.get("PASSWORD") or None
    )


def pg_fingerprints(name: str) -> dict:
    """{table: (rows, md5 of the rows' text in primary-key order)}, computed in SQL."""
    from psycopg import sql

    result = {}
    with pg_connect(name) as db:
        tables = db.execute(
            "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        ).fetchall()
        for oid, table in tables:
            pk = [
                row[0]
                for row in db.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                    " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                    " WHERE i.indrelid = %s AND i.indisprimary ORDER BY a.attnum",
                    [oid],
                )
            ]
            order = (
                sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(c) for c in pk)
                if pk
                else sql.SQL("t::text")
            )
            rows, digest = db.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {}), ''))"
                    " FROM {} AS t"
                ).format(order, sql.Identifier(table))
            ).fetchone()
            result[table] = (rows, digest)
        # Where the ids carry on from, and the structure: indexes, constraints, triggers.
        extras = {
            "<sequences>": "SELECT sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = 'public' ORDER BY 1",
            "<indexes>": "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' ORDER BY 1, 2",
            "<constraints>": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
            "<triggers>": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)"
            " FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
        }
        for key, query in extras.items():
            rows = db.execute(query).fetchall()
            result[key] = (
                len(rows),
                hashlib.md5(repr(rows).encode(), usedforsecurity=False).hexdigest(),
            )
    return result


def assert_same(source: dict, restored: dict) -> tuple[int, int]:
    """Every table, row count and checksum alike; (tables compared, rows compared)."""
    assert set(restored) == set(source)
    differing = {t: (source[t], restored[t]) for t in source if source[t] != restored[t]}
    assert differing == {}
    tables = [t for t in source if not t.startswith("<")]
    return len(tables), sum(source[t][0] for t in tables)


def assert_every_app_filled(fingerprints: dict) -> None:
    empty = sorted(t for t in our_tables() if fingerprints[t][0] == 0)
    assert empty == [], "fill_every_app should put rows in every table of our apps"
    assert fingerprints["accounts_accessevent"][0] >= 2
    history = [t for t in fingerprints if "_historical" in t]
    assert len(history) >= 20 and all(fingerprints[t][0] > 0 for t in history)


# --- Helpers to run the script as an operator would ---------------------------------------------


def database_url(name: str) -> str:
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or ""
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{quote(name, safe='')}"


def run_script(*args, url: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def the_backup(directory: Path, suffix: str) -> Path:
    files = list(directory.iterdir())
    assert len(files) == 1 and files[0].suffix == suffix, files  # no ".partial" left behind
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600  # client records: owner only
    return files[0]


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def empty_pg_database():
    """A new, empty database (from template0) on the same server, dropped afterwards."""
    from psycopg import sql

    name = f"{connection.settings_dict['NAME']}_restore"[:63]
    with pg_connect("postgres") as admin:
        admin.autocommit = True
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    yield name
    with pg_connect("postgres") as admin:
        admin.autocommit = True
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@on_postgresql
@committed
def test_postgresql_backup_restores_into_an_empty_database_table_by_table(
    sign_in, tmp_path, empty_pg_database
):
    import psycopg

    fill_every_app(sign_in)
    source_name = connection.settings_dict["NAME"]
    before = pg_fingerprints(source_name)
    assert_every_app_filled(before)

    taken = run_script("backup", "--dir", str(tmp_path), url=database_url(source_name))
    assert taken.returncode == 0, taken.stderr
    dump = the_backup(tmp_path, ".pgdump")
    assert dump.read_bytes().startswith(b"PGDMP")

    assert pg_fingerprints(empty_pg_database)["<indexes>"][0] == 0  # really empty
    put = run_script("restore", str(dump), "--yes", url=database_url(empty_pg_database))
    assert put.returncode == 0, put.stderr
    tables, rows = assert_same(before, pg_fingerprints(empty_pg_database))
    structure = ", ".join(f"{before[k][0]} {k.strip('<>')}" for k in before if k.startswith("<"))
    print(f"\nPostgreSQL restore: {tables} tables, {rows} rows, all checksums equal; {structure}")

    # The access log stays append-only in the restored database itself (the trigger came back).
    with pg_connect(empty_pg_database) as restored:
        for statement in (
            "UPDATE accounts_accessevent SET reason = 'tampered'",
            "DELETE FROM accounts_accessevent",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                restored.execute(statement)
            restored.rollback()

    # Over a database that has changed since: put back exactly as the backup had it.
    with pg_connect(empty_pg_database) as restored:
        restored.execute("DELETE FROM clients_historicalclient WHERE id % 2 = 0")
        restored.execute("UPDATE clients_client SET first_name = 'changed'")
        restored.execute("DELETE FROM referrals_reminderdigest")
    assert pg_fingerprints(empty_pg_database) != before
    again = run_script("restore", str(dump), "--yes", url=database_url(empty_pg_database))
    assert again.returncode == 0, again.stderr
    assert_same(before, pg_fingerprints(empty_pg_database))


@on_postgresql
@pytest.mark.django_db
def test_postgresql_restore_refuses_an_sqlite_file_and_changes_nothing(tmp_path, empty_pg_database):
    not_a_dump = tmp_path / "db.sqlite3"
    not_a_dump.write_bytes(b"SQLite format 3\x00" + bytes(100))
    before = pg_fingerprints(empty_pg_database)
    result = run_script("restore", str(not_a_dump), "--yes", url=database_url(empty_pg_database))
    assert result.returncode == 1
    assert "is not a PostgreSQL backup" in result.stderr
    assert pg_fingerprints(empty_pg_database) == before


# --- SQLite -----------------------------------------------------------------------------------


@on_sqlite
@committed
def test_sqlite_backup_restores_into_an_empty_database_table_by_table(sign_in, tmp_path):
    fill_every_app(sign_in)
    # The test database is in memory (shared cache): the backup API reads it through a second
    # connection in this process, just as the script reads a file while the application writes.
    source_name = connection.settings_dict["NAME"]
    before = sqlite_fingerprints(source_name)
    assert_every_app_filled(before)

    backups = tmp_path / "backups"
    copy = backup_script.backup(connection.settings_dict, backups)
    assert copy == the_backup(backups, ".sqlite3")
    assert copy.read_bytes().startswith(b"SQLite format 3\x00")

    target = tmp_path / "restored.sqlite3"
    assert not target.exists()  # empty: nothing there at all
    put = run_script("restore", str(copy), "--yes", url=f"sqlite:///{target}")
    assert put.returncode == 0, put.stderr
    tables, rows = assert_same(before, sqlite_fingerprints(str(target)))
    print(f"\nSQLite restore: {tables} tables, {rows} rows, all checksums equal")

    # Over a database that has changed since: put back exactly as the backup had it.
    changed = backup_script.sqlite_connect(str(target), read_only=False)
    changed.execute("DELETE FROM clients_historicalclient WHERE id % 2 = 0")
    changed.execute("UPDATE clients_client SET first_name = 'changed'")
    changed.commit()
    changed.close()
    assert sqlite_fingerprints(str(target)) != before
    again = run_script("restore", str(copy), "--yes", url=f"sqlite:///{target}")
    assert again.returncode == 0, again.stderr
    assert_same(before, sqlite_fingerprints(str(target)))


# --- The commands' safety catches (both vendors: a small SQLite file, no server needed) --------


@pytest.fixture
def small_sqlite(tmp_path):
    import sqlite3

    path = tmp_path / f"small-{os.getpid()}.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")  # as config/settings.py runs SQLite
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {n}",) for n in range(50)])
    db.commit()
    yield path
    db.close()


def make(*args, url: str) -> subprocess.CompletedProcess:
    # Nothing from an outer make (make test) or the environment sets FILE or CONFIRM for it.
    outer = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "FILE", "CONFIRM"}
    env = {k: v for k, v in os.environ.items() if k not in outer}
    # -o: treat the virtualenv as installed, so the test never runs pip.
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed-run", *args],
        cwd=ROOT,
        env={**env, "DATABASE_URL": url},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_backup_writes_a_timestamped_owner_only_file_under_backups(small_sqlite):
    result = make("backup", url=f"sqlite:///{small_sqlite}")
    assert result.returncode == 0, result.stderr
    written = sorted((ROOT / "backups").glob(f"{small_sqlite.stem}-*.sqlite3"))
    try:
        assert len(written) == 1
        stamp = written[0].name.removeprefix(f"{small_sqlite.stem}-").removesuffix(".sqlite3")
        assert re.fullmatch(r"\d{8}T\d{6}Z", stamp)  # UTC, sorts by time
        assert stat.S_IMODE(written[0].stat().st_mode) == 0o600
        assert (
            sqlite_fingerprints(str(written[0]))["t"] == sqlite_fingerprints(str(small_sqlite))["t"]
        )
    finally:
        for path in written:
            path.unlink()


def test_make_restore_needs_a_file_and_a_confirmation(small_sqlite, tmp_path):
    before = sqlite_fingerprints(str(small_sqlite))
    copy = backup_script.backup(
        {"ENGINE": "django.db.backends.sqlite3", "NAME": str(small_sqlite)}, tmp_path / "b"
    )

    no_file = make("restore", url=f"sqlite:///{small_sqlite}")
    assert no_file.returncode != 0
    assert "make restore FILE=" in no_file.stdout

    # No CONFIRM=yes and no terminal to type the name on: refused, nothing changed.
    target = tmp_path / "target.sqlite3"
    backup_script.restore({"ENGINE": "django.db.backends.sqlite3", "NAME": str(target)}, copy)
    with backup_script.sqlite_connect(str(target), read_only=False) as db:
        db.execute("DELETE FROM t WHERE id > 10")
    changed = sqlite_fingerprints(str(target))
    unconfirmed = make("restore", f"FILE={copy}", url=f"sqlite:///{target}")
    assert unconfirmed.returncode != 0
    assert "Not restored" in unconfirmed.stderr
    assert sqlite_fingerprints(str(target)) == changed

    confirmed = make("restore", f"FILE={copy}", "CONFIRM=yes", url=f"sqlite:///{target}")
    assert confirmed.returncode == 0, confirmed.stderr
    assert sqlite_fingerprints(str(target))["t"] == before["t"]


def fake_program(directory: Path, name: str, version: str) -> None:
    directory.mkdir(exist_ok=True)
    program = directory / name
    program.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    program.chmod(0o700)


def test_a_pg_dump_older_than_the_server_is_refused(tmp_path, monkeypatch):
    # An older pg_dump refuses a newer server, and an older pg_restore cannot read a newer
    # archive: the script picks the server's major version and never an older one.
    monkeypatch.setenv("PG_BIN_DIR", str(tmp_path / "bin"))
    fake_program(tmp_path / "bin", "pg_dump", "14.12")
    with pytest.raises(backup_script.BackupError, match="older than the server"):
        backup_script.pg_program("pg_dump", 15)
    fake_program(tmp_path / "bin", "pg_dump", "15.20")
    assert backup_script.pg_program("pg_dump", 15) == str(tmp_path / "bin" / "pg_dump")


def test_a_failed_backup_leaves_no_file_and_says_why(tmp_path):
    # Port 9 (discard): nothing answers there.
    result = run_script(
        "backup", "--dir", str(tmp_path), url="postgres://nobody@127.0.0.1:9/nothing"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: Could not reach the PostgreSQL database 'nothing'")
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_confirmation_wants_the_database_name_typed(small_sqlite, tmp_path, monkeypatch):

    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(small_sqlite)}

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("yes\n"))
    assert backup_script.confirmed(database, tmp_path / "x") is False
    monkeypatch.setattr(sys, "stdin", Terminal(f"{small_sqlite.name}\n"))
    assert backup_script.confirmed(database, tmp_path / "x") is True
