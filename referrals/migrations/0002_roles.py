"""What each role may do with screenings and referrals (policy IV–VIII).

Clinicians screen and refer; supervisors read what was done (IX).
"""

from django.db import migrations

from accounts.roles import grant, revoke

ROLE_PERMISSIONS = {
    "Clinician": [
        "view_screening",
        "add_screening",
        "view_referral",
        "add_referral",
        "change_referral",
    ],
    "Supervisor": ["view_screening", "view_referral"],
}


def forwards(apps, schema_editor):
    grant(apps, "referrals", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "referrals", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
