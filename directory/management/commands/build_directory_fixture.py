"""Build fixtures/directory.json from the reviewed transcription of the 2008 appendix.

    python manage.py build_directory_fixture           write the fixture
    python manage.py build_directory_fixture --check   fail if the committed fixture is stale

The output depends only on directory/data/*.yaml, so the same source always gives the same
bytes; tests/integration/directory/test_seed.py compares the committed file with it.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from directory.rules import seed


class Command(BaseCommand):
    help = "Build fixtures/directory.json from directory/data/*.yaml (the 2008 appendix)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            default=seed.FIXTURE_FILE,
            help="Where to write the fixture (default: fixtures/directory.json).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail if the fixture differs from what the source gives.",
        )

    def handle(self, *args, output: Path, check: bool, **options):
        try:
            text = seed.build_fixture_text()
        except seed.SeedError as exc:
            raise CommandError(f"The directory seed is malformed: {exc}") from None
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if check:
            if current != text:
                raise CommandError(
                    f"{output} is not what directory/data/*.yaml gives: "
                    "run python manage.py build_directory_fixture and commit it."
                )
            self.stdout.write(f"{output} is up to date.")
            return
        if current == text:
            self.stdout.write(f"{output} is already up to date.")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}."))
