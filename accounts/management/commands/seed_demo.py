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

    def handle(self, *args, reset_passwords=False, **options):
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
        if not created:
            self.stdout.write(
                "Demo accounts already exist; their passwords were printed when they were "
                "created. New ones: python manage.py seed_demo --reset-passwords (DEBUG=1)."
            )
            return
        self.stdout.write(self.style.SUCCESS("Demo accounts (passwords shown this once):"))
        for username, password, role in created:
            self.stdout.write(f"  {role:<11} {username:<16} {password}")
