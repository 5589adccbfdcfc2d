"""What each role may do with the annotated referral list (policy VII.C–D)."""

from django.db import migrations

from accounts.roles import grant, revoke

READ = ["view_group", "view_referralresource"]
ROLE_PERMISSIONS = {
    "Clinician": READ,
    "Supervisor": READ,
    "Site admin": [
        *READ,
        "add_group",
        "change_group",
        "verify_group",
        "add_contact",
        "change_contact",
        "delete_contact",
        "add_meeting",
        "change_meeting",
        "delete_meeting",
        "change_criterionconfirmation",
        "change_referralresource",
        "add_reviewflag",
        "resolve_reviewflag",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, "directory", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "directory", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
