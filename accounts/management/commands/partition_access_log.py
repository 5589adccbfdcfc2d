"""Partition the access log by month on PostgreSQL, and keep months ready ahead of time.

    manage.py partition_access_log                  # print what would run (nothing changes)
    manage.py partition_access_log --apply          # run it, in one transaction
    manage.py partition_access_log --create-ahead 6 # months ahead to have (default 3)
    manage.py partition_access_log --retention 84   # print what retiring older months takes

On a plain table it converts (accounts.rules.partitioning.conversion_sql); on a partitioned one it
adds the coming months' partitions that are missing, so run it monthly (cron, a scheduled
job) with --apply. It never removes anything but, on conversion, the plain table it copied
(--keep-old keeps that). Plan, figures and retention: docs/SCALING.md, "The access log".
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.rules import partitioning
from accounts.selectors import partitioning as catalogue


class Command(BaseCommand):
    help = "Partition the access log by month (PostgreSQL), or add the coming months' partitions."

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Run the SQL (else print it).")
        parser.add_argument(
            "--create-ahead",
            type=int,
            default=3,
            metavar="N",
            help="Have partitions for this month and the N months after it (default 3).",
        )
        parser.add_argument(
            "--keep-old",
            action="store_true",
            help="On conversion, keep the plain table as accounts_accessevent_unpartitioned.",
        )
        parser.add_argument(
            "--retention",
            type=int,
            metavar="MONTHS",
            help="Only print the SQL that retires months older than this many (never applied).",
        )

    def handle(self, *args, apply=False, create_ahead=3, keep_old=False, retention=None, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("Partitioning is for PostgreSQL; this database is not.")
        if not 0 <= create_ahead <= 120:
            raise CommandError("--create-ahead takes 0 to 120 months.")
        now = timezone.now()
        with transaction.atomic():
            with connection.cursor() as cursor:
                facts = catalogue.read_facts(cursor)
            try:
                if retention is not None:
                    if apply:
                        raise CommandError("--retention only prints: check the archive first.")
                    statements = partitioning.retention_sql(facts, now, keep_months=retention)
                elif facts.partitioned:
                    statements = partitioning.create_ahead_sql(facts, now, ahead=create_ahead)
                else:
                    statements = partitioning.conversion_sql(
                        facts, now, ahead=create_ahead, keep_old=keep_old
                    )
            except ValueError as error:
                raise CommandError(str(error)) from error
            self._warn_about_the_default_partition(facts)
            if not apply:
                self.stdout.write("\n".join(statements) if statements else "-- Nothing to do.")
                return
            with connection.cursor() as cursor:
                for statement in statements:
                    if not statement.startswith("--"):
                        cursor.execute(statement, None)  # None: no placeholders, % stays as is
        done = "Partitioned" if not facts.partitioned else "Months ahead ready"
        self.stdout.write(self.style.SUCCESS(f"{done}: {len(statements)} statements run."))

    def _warn_about_the_default_partition(self, facts):
        if partitioning.DEFAULT_PARTITION not in facts.partitions:
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {partitioning.DEFAULT_PARTITION}")  # noqa: S608
            stray = cursor.fetchone()[0]
        if stray:
            self.stderr.write(
                f"{stray} access-log rows are in {partitioning.DEFAULT_PARTITION}, outside every "
                "month: see docs/SCALING.md (The access log, rows outside every month)."
            )
