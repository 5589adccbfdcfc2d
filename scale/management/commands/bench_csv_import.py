"""``python manage.py bench_csv_import [--json OUT] [--rows N]``: a 5,000-row CSV import, timed.

Previews and confirms the directory's own export, edited and grown to N rows (default 5,000),
through the whole stack, inside a transaction rolled back at the end (``scale.services.
csv_import``): the database is left as it was. DEBUG off and REQUIRE_MFA=0, as bench_pages.
Exits non-zero when the import could not be confirmed; the time is reported, not judged here.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scale.rules import bench as bench_rules
from scale.rules import csv_import as rules
from scale.services import csv_import


class Command(BaseCommand):
    help = "Time the preview and the confirmation of a 5,000-row CSV import (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="json_path", type=Path, help="Where to write them.")
        parser.add_argument("--rows", type=int, default=rules.ROWS)

    def handle(self, *args, json_path: Path | None, rows: int, **options):
        self.stdout.write(f"CSV import of {rows:,} rows")
        try:
            result = csv_import.run(total=rows, log=self.stdout.write)
        except bench_rules.BenchError as problem:
            raise CommandError(str(problem)) from problem
        self.stdout.write(json.dumps(result, indent=2))
        if json_path:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        if "error" in result:
            raise CommandError(result["error"])
