"""``python manage.py generate_scale_data --scale small|county --seed N``: synthetic county data."""

import datetime as dt
import resource
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from clients.models import Client
from scale.models import ScaleDataset
from scale.services.generator import COUNTY_TZ, GENERATOR_VERSION, SCALES, CountyGenerator


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = (
        "Fill a freshly migrated database with deterministic synthetic county data: "
        "--scale county (100 clinics, 3,000 staff, 250,000 clients, 100,000 referrals, "
        "2,000,000 attendance rows, 2,000 listings, 20,000 meetings, a year of the access log) "
        "or --scale small (a hundredth of each)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="The day the data ends on (YYYY-MM-DD; default: today in Los Angeles).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, scale, seed, as_of, database, **options):
        spec = SCALES[scale]
        as_of = as_of or timezone.now().astimezone(COUNTY_TZ).date()
        if Client.objects.using(database).exists():
            raise CommandError(
                "This database already holds clients. Generate into a freshly migrated "
                "database (scripts/bench.py makes one per scale)."
            )
        vendor = connections[database].vendor
        if vendor != "postgresql" and scale == "county":
            self.stderr.write(
                "County scale on SQLite is slow; PostgreSQL (DATABASE_URL) loads with COPY."
            )
        started = time.monotonic()
        # The 2008 catalogue and the vocabulary first: synthetic listings use its needs,
        # languages and areas, and the referral procedure its resources (VIII.D, VIII.E).
        call_command("seed_directory", database=database, stdout=self.stdout)
        generator = CountyGenerator(spec, seed, as_of, using=database)
        counts = generator.run(analyze=True)
        seconds = time.monotonic() - started
        peak = _peak_rss_mib()
        ScaleDataset.objects.using(database).create(
            scale=scale,
            seed=seed,
            as_of=as_of,
            generator_version=GENERATOR_VERSION,
            generated_at=timezone.now(),
            seconds=round(seconds, 1),
            peak_rss_mib=round(peak, 1),
            counts=counts,
        )
        width = max(len(k) for k in counts)
        for table, n in counts.items():
            self.stdout.write(f"  {table:<{width}}  {n:>12,}")
        mode = "COPY" if vendor == "postgresql" else "batched inserts"
        self.stdout.write(
            self.style.SUCCESS(
                f"{scale} scale, seed {seed}, as of {as_of}: {sum(counts.values()):,} rows in "
                f"{seconds:.0f} s ({mode}), peak memory {peak:.0f} MiB."
            )
        )
