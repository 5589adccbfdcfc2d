"""Permissions for the procedure (VIII.A–K), follow-ups and the clinic's follow-up schedule."""

from django.db import migrations

from accounts.roles import grant, revoke

ROLE_PERMISSIONS = {
    "Clinician": [
        "view_procedurestep",
        "change_procedurestep",
        "view_followup",
        "change_followup",
        "add_followup",
    ],
    "Supervisor": [
        "view_procedurestep",
        "view_followup",
        "view_followupschedule",
        "change_followupschedule",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, "referrals", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "referrals", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0003_procedure_and_followups"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
