"""Delete the sign-in lockout rows that hold nothing any more (run daily, deploy/systemd)."""

from django.core.management.base import BaseCommand

from accounts.services import lockout


class Command(BaseCommand):
    help = "Delete sign-in lockout rows with no lock and no failed sign-in for a day."

    def handle(self, *args, **options):
        deleted = lockout.prune()
        self.stdout.write(f"Sign-in lockout rows deleted: {deleted}")
