"""``python manage.py bench_pages --json OUT``: the page benchmark (``scale.services.bench``).

Runs against the database of DATABASE_URL, which already holds generated data, with DEBUG off
and REQUIRE_MFA=0. Writes the figures as JSON and exits non-zero when a page answered anything
but 200 (the JSON says which and how).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scale.rules import bench as bench_rules
from scale.services import bench


class Command(BaseCommand):
    help = "Measure p50/p95 and the query count of the key pages, warm, in-process."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", dest="json_path", required=True, type=Path, help="Where to write the figures."
        )
        parser.add_argument(
            "--iterations",
            type=int,
            default=bench.DEFAULT_ITERATIONS,
            help=f"Timed requests per page (default {bench.DEFAULT_ITERATIONS}).",
        )
        parser.add_argument(
            "--warmup",
            type=int,
            default=bench.DEFAULT_WARMUP,
            help=f"Untimed requests per page first (default {bench.DEFAULT_WARMUP}).",
        )

        parser.add_argument(
            "--pages",
            default="",
            help="Comma-separated page keys (floor,review,review@largest,...): only those.",
        )

    def handle(self, *args, json_path: Path, iterations: int, warmup: int, pages: str, **options):
        only = frozenset(key.strip() for key in pages.split(",") if key.strip())
        try:
            document = bench.run(
                iterations=iterations, warmup=warmup, log=self.stdout.write, only=only
            )
        except bench_rules.BenchError as problem:
            raise CommandError(str(problem)) from problem
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(f"Wrote {json_path}")
        if document["errors"]:
            failed = "; ".join(f"{e['page']}: {e['message']}" for e in document["errors"])
            raise CommandError(f"{len(document['errors'])} page(s) failed: {failed}")
