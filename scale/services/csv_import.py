"""The CSV import benchmark: a 5,000-row file previewed and confirmed, as a site admin does it.

``manage.py bench_csv_import`` runs :func:`run` against a database the generator filled. The
file is the directory's own export, edited (``scale.rules.csv_import.benchmark_file``): every
current listing updated or left, new listings up to 5,000 rows. Both requests go through the
whole stack (``django.test.Client``: the upload's preview page, then the confirmation), with
the production settings but DEBUG off and REQUIRE_MFA=0, signed in as a site admin made for
the run. Everything runs inside one transaction that is rolled back at the end, so the
database is left as it was and every round measures the same file against the same catalogue.

Reported: seconds of each request, the confirmation's SQL statements, the machine's load
average before the run, and the plan's counts. A file longer than ``CSV_IMPORT_INLINE_ROWS``
is written by the background worker: the confirming request only queues it
(``confirm_request_s``), the queued task is then run here as the worker runs it and timed
apart (``task_s``), and ``confirm_s`` is the two together, the time until the import is
written.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group as Role
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Role as RoleName
from accounts.models import User
from directory.models import Group
from directory.rules import spreadsheet
from directory.selectors import snapshot
from directory.services import csv_import as csv_writes
from scale.rules import bench as bench_rules
from scale.rules import csv_import as rules

_FIELD = re.compile(r'name="(token|sha256)" value="([^"]+)"')


class _Undo(Exception):
    pass


@contextmanager
def _counting(counter: list[int]):
    """Counts the statements run inside the block (cheaper than capturing their text)."""

    def wrapper(execute, sql, params, many, context):
        counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def _host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


def run(*, total: int = rules.ROWS, log=None) -> dict:
    """Preview and confirm a ``total``-row file, rolled back; the figures."""
    if settings.DEBUG:
        raise bench_rules.BenchError("DEBUG is on: it records every query. Set DEBUG=0.")
    if settings.REQUIRE_MFA:
        raise bench_rules.BenchError("Two-factor sign-in is on: set REQUIRE_MFA=0.")
    say = log or (lambda message: None)
    load_average = [round(x, 2) for x in os.getloadavg()]
    listings_before = Group.objects.current().count()
    export = "".join(spreadsheet.csv_lines(snapshot.listings()))
    text = rules.benchmark_file(export, total)
    result = {
        "measured_at": timezone.now().isoformat(timespec="seconds"),
        "load_average": load_average,
        "rows": total,
        "listings_before": listings_before,
        "file_bytes": len(text.encode()),
        "target_s": rules.TARGET_SECONDS,
    }
    address = reverse("directory:import")
    try:
        with transaction.atomic():
            admin = User.objects.create_user(
                username=f"bench-import-{secrets.token_hex(4)}", password=None
            )
            admin.groups.add(Role.objects.get(name=RoleName.SITE_ADMIN))
            http = HttpClient(HTTP_HOST=_host())
            http.force_login(admin)
            http.get(address, secure=True)  # the session's first request records activity

            upload = SimpleUploadedFile("listings.csv", text.encode(), "text/csv")
            started = time.perf_counter()
            preview = http.post(address, {"file": upload}, secure=True)
            html = preview.content.decode()
            result["preview_s"] = round(time.perf_counter() - started, 2)
            result["preview_status"] = preview.status_code
            fields = dict(_FIELD.findall(html))
            say(f"  preview: {result['preview_s']} s ({preview.status_code})")
            if preview.status_code != 200 or set(fields) != {"token", "sha256"}:
                problem = re.search(r"Nothing can be imported[^<]*<", html)
                result["error"] = "The preview offers no confirmation" + (
                    f": {problem.group(0)[:-1]}" if problem else "."
                )
                raise _Undo
            counts = re.search(
                r"Confirming writes (\d+) new listings? and (\d+) updates?"
                r"(?:; (\d+) rows? changes? nothing)?",
                html,
            )
            if counts:
                result["planned"] = {
                    "create": int(counts.group(1)),
                    "update": int(counts.group(2)),
                    "unchanged": int(counts.group(3) or 0),
                }

            statements = [0]
            started = time.perf_counter()
            with _counting(statements):
                confirmed = http.post(address, fields, secure=True)
                result["confirm_request_s"] = round(time.perf_counter() - started, 2)
                result.update(_follow(confirmed))
            result["confirm_s"] = round(time.perf_counter() - started, 2)
            result["confirm_statements"] = statements[0]
            result["confirm_status"] = confirmed.status_code
            result["written"] = Group.objects.current().count() - listings_before
            say(
                f"  confirm: {result['confirm_s']} s, {statements[0]} statements "
                f"({confirmed.status_code})"
            )
            if confirmed.status_code != 302:
                result["error"] = f"The confirmation answered {confirmed.status_code}, not 302."
            raise _Undo
    except _Undo:
        pass
    vacuum_directory()
    # Met when the import is written within the target, or the request that confirms it is
    # (the background worker then writes it, followed by the progress page).
    quick = result.get("confirm_request_s") if result.get("background") else None
    result["met"] = "error" not in result and (
        result.get("confirm_s", 1e9) < rules.TARGET_SECONDS
        or (quick is not None and quick < rules.TARGET_SECONDS)
    )
    return result


def vacuum_directory() -> None:
    """Clear the directory tables of the rows the rolled-back import left dead.

    A rollback leaves every row it wrote behind as a dead tuple: three rounds left 38,000 in
    the county's 2,000-row listing table (1.7 MB grown to 43 MB) before autovacuum, busy with
    the county's large tables, reached it, and the next rounds' searches read them all (their
    database time doubled). A committed import is cleared by autovacuum in production; the
    benchmark clears its own, so that every round measures the same tables. (Not inside a
    transaction, where VACUUM cannot run: a test's.)"""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(vacuum_statement())


def vacuum_statement() -> str:
    """VACUUM (ANALYZE) of every table of the directory app, its histories included."""
    tables = sorted(
        model._meta.db_table
        for model in apps.get_app_config("directory").get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    )
    return f"VACUUM (ANALYZE) {', '.join(tables)}"  # names from the models, never from input


def _follow(response) -> dict:
    """When the confirmation queued the import for the worker, run the queued task here, as
    the worker would (``confirm_in_background`` with its queued arguments), and time it."""
    if response.status_code != 302 or response["Location"] != reverse("directory:import-progress"):
        return {}
    queued = (
        DBTaskResult.objects.filter(task_path=csv_writes.confirm_in_background.module_path)
        .order_by("-enqueued_at")
        .first()
    )
    if queued is None or queued.status != "READY":
        return {"background": True}  # a backend that ran it as it was queued: timed above
    started = time.perf_counter()
    value = csv_writes.confirm_in_background.call(**queued.args_kwargs["kwargs"])
    figures = {"background": True, "task_s": round(time.perf_counter() - started, 2)}
    if value.get("result") != "written":
        figures["error"] = f"The queued import was not written: {value}."
    return figures
