"""Permissions for feedback (IX.B) and supervisors' sign-off of documentation (IX)."""

from django.db import migrations

from accounts.roles import grant, revoke

ROLE_PERMISSIONS = {
    "Clinician": ["view_feedback", "add_feedback"],
    "Supervisor": [
        "view_feedback",
        "view_documentationsignoff",
        "add_documentationsignoff",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, "clients", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "clients", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_feedback_and_sign_off"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
