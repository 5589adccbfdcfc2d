"""Load the directory seed (fixtures/directory.json, built from the 2008 appendix).

    python manage.py seed_directory

Creates what is missing and changes nothing that exists, in one transaction
(``directory.services.seed``); says what it created and what it left as it was.
"""

from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from directory.rules import seed
from directory.services.seed import FixtureError, load_fixture


def _summary(counts: Counter) -> str:
    return ", ".join(
        f"{n} {model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural}"
        for model, n in counts.items()
    )


class Command(BaseCommand):
    help = "Load the directory seed (the 2008 appendix): creates what is missing, changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fixture",
            type=Path,
            default=seed.FIXTURE_FILE,
            help="The fixture to load (default: fixtures/directory.json).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, fixture: Path, database: str, **options):
        try:
            text = fixture.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read the directory fixture {fixture}: {exc}") from None
        try:
            created, kept = load_fixture(text=text, using=database)
        except FixtureError as exc:
            raise CommandError(f"The directory fixture {fixture} is malformed: {exc}") from None
        if created:
            self.stdout.write(self.style.SUCCESS(f"Directory seed: created {_summary(created)}."))
        else:
            self.stdout.write("Directory seed: nothing to create.")
        if kept:
            self.stdout.write(f"Left as they were (already present): {_summary(kept)}.")
