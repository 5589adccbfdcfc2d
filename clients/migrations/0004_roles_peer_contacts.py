"""Permissions for peer contacts (VIII.K) and attendance (IX.A)."""

from django.db import migrations

from accounts.roles import grant, revoke

ROLE_PERMISSIONS = {
    "Clinician": [
        "view_peercontact",
        "add_peercontact",
        "change_peercontact",
        "view_attendance",
        "add_attendance",
    ],
    "Supervisor": ["view_peercontact", "view_attendance"],
}


def forwards(apps, schema_editor):
    grant(apps, "clients", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "clients", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0003_peer_contacts_and_attendance"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
