"""What each role may do with client records (design notes, section 5).

Clinicians create, find and edit their clinic's clients; supervisors read them (policy IX:
they review documentation). Site admins keep the county-wide catalogue and see no clients.
Which clinic's clients a user reaches is decided by ``Client.objects.for_clinic``, not here.
"""

from django.db import migrations

from accounts.roles import grant, revoke

ROLE_PERMISSIONS = {
    "Clinician": ["view_client", "add_client", "change_client"],
    "Supervisor": ["view_client"],
}


def forwards(apps, schema_editor):
    grant(apps, "clients", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "clients", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
