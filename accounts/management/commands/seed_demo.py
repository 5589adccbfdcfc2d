"""Create the demo clinic and one account per role, for the local demo only.

Passwords are random and printed once, when the accounts are created. The command refuses to
run with DEBUG off, so it can never put known accounts into a deployment.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Clinic, Role, ServicePlanningArea

DEMO_CLINIC = "Demo Mental Health Clinic"
RESET_COMMAND = "DEBUG=1 .venv/bin/python manage.py seed_demo --reset-passwords"
DEMO_ACCOUNTS = [
    # username, first name, last name, role (None: superuser)
    ("demo-clinician", "Casey", "Clinician", Role.CLINICIAN),
    ("demo-supervisor", "Sam", "Supervisor", Role.SUPERVISOR),
    ("demo-siteadmin", "Alex", "Siteadmin", Role.SITE_ADMIN),
    ("demo-superuser", "Dana", "Superuser", None),
]


class Command(BaseCommand):
    help = "Create the demo clinic and one demo account per role (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the existing demo accounts new passwords and print them.",
        )
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="The address the demo is served at, printed with the accounts.",
        )

    def handle(self, *args, reset_passwords=False, url="http://127.0.0.1:8000/", **options):
        if not settings.DEBUG:
            raise CommandError("Demo accounts are created only with DEBUG on, never otherwise.")
        created = []
        with transaction.atomic():
            clinic, _ = Clinic.objects.get_or_create(
                name=DEMO_CLINIC,
                defaults={"service_planning_area": ServicePlanningArea.METRO},
            )
            User = get_user_model()
            for username, first, last, role in DEMO_ACCOUNTS:
                user, is_new = User.objects.get_or_create(
                    username=username,
                    defaults={"first_name": first, "last_name": last, "clinic": clinic},
                )
                if role is None:
                    user.is_staff = user.is_superuser = True
                else:
                    user.groups.add(Group.objects.get(name=role.value))
                if is_new or reset_passwords:
                    password = secrets.token_urlsafe(12)
                    user.set_password(password)
                    created.append((username, password, role.label if role else "superuser"))
                user.save()
        # `make run` prints this last, just before the server starts: in a box, so that the
        # address and the passwords are not lost among the set-up's output, and the command for
        # new passwords on a line of its own, to paste as it is.
        if created:
            lines = [f"The demo is at {url}", "", "Sign in as (passwords shown this once):"]
            lines += [
                f"  {role:<11} {username:<16} {password}" for username, password, role in created
            ]
        else:
            lines = [
                f"The demo is at {url}",
                "",
                "The demo accounts already exist; their passwords were printed when they",
                "were created. For new ones, paste the command below the box.",
            ]
        width = max(len(line) for line in lines)
        self.stdout.write("+" + "-" * (width + 2) + "+")
        for line in lines:
            self.stdout.write(f"| {line:<{width}} |")
        self.stdout.write("+" + "-" * (width + 2) + "+")
        self.stdout.write("New passwords for the demo accounts (run in this folder):")
        self.stdout.write(f"{RESET_COMMAND}\n")
