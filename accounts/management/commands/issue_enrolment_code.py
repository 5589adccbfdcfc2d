"""Issue a one-time enrolment code from the server: the first superuser's, or any account's
when no supervisor or superuser can sign in. Logged in the access log like the others."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import two_factor


class Command(BaseCommand):
    help = "Print a one-time two-factor enrolment code for USERNAME (valid 72 hours)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        code = two_factor.issue_enrolment_code(user=user, by=None)
        self.stdout.write(f"Enrolment code for {username} (valid 72 hours, works once): {code}")
